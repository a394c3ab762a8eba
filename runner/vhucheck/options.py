"""argparse value checkers: each turns a bad value into a one-line message
that names the option (argparse then exits 2)."""

import argparse
import math


def _count(text, most, what):
    """A whole number 1..most; `what` names the unit in the message."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    if value > most:
        raise argparse.ArgumentTypeError(f"{value} is more than {most} {what}")
    return value


def positive_int(text):
    return _count(text, 1024, "harness processes")


MAX_REPEAT = 1000


def repeat(text):
    """--repeat N: runs of the whole selection, 1..MAX_REPEAT."""
    return _count(text, MAX_REPEAT, "runs")


def multiplier(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0 or value > 100:
        raise argparse.ArgumentTypeError(f"must be > 0 and <= 100, not {text}")
    return value


def shmem_bit(text):
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a bit number") from None
    if not 0 <= value <= 63:
        raise argparse.ArgumentTypeError(f"{value} is not a protocol feature bit (0..63; "
                                         "SHMEM is 20, 21 or 22 in the field)")
    return value


def glob(text):
    if not text or text.strip() != text:
        raise argparse.ArgumentTypeError(f"{text!r}: empty or padded glob")
    if text.count("[") != text.count("]"):
        raise argparse.ArgumentTypeError(f"{text!r}: unbalanced [ ] in glob")
    return text


def nonempty(text):
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text
