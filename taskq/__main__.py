"""``python -m taskq`` runs the ``taskq`` command."""

import sys

from .cli import main

sys.exit(main())
