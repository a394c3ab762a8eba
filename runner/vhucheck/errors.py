"""The two kinds of failure the runner reports before any verdict.

Both carry a one-line message that names what is wrong (a file and a key,
an option and its value); the CLI prints it and exits with ``exit_code``.
"""

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_HARNESS = 3


class VhuError(Exception):
    """Base: a message for the user and the exit status it implies."""

    exit_code = EXIT_USAGE


class ConfigError(VhuError):
    """Usage or configuration: bad option, profile, expectations file (exit 2)."""

    exit_code = EXIT_USAGE


class HarnessError(VhuError):
    """The harness is missing, or failed before reporting anything (exit 3)."""

    exit_code = EXIT_HARNESS
