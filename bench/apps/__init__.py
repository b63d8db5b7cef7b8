"""The benchmark actors, written once per framework with identical bodies."""
