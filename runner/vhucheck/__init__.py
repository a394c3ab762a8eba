"""vhucheck: the conformance runner for the vhost-user Shared Memory extension.

The package drives ``vhucheck-harness`` (C) over the case files in
``suites/`` and turns its JSON lines into reports. Standard library only.
"""

__all__ = ["__version__", "TOOL"]

TOOL = "vhucheck"
__version__ = "0.1.0"
