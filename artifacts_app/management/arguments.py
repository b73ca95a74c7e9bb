"""Argument types the management commands share."""


def count(value: str) -> int:
    """A whole number of zero or more (argparse reports a ValueError as an invalid value)."""
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number
