"""Broker implementations: stub (in-process), sqlite (embedded default), redis, rabbitmq."""
