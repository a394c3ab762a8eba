"""``python3 -m vhucheck``: hands over to the CLI."""

import sys

from vhucheck.cli import main

sys.exit(main())
