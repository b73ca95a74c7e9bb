"""Sizes in human units, one formatter for pages, admin and commands."""

UNITS = ["B", "KB", "MB", "GB", "TB", "PB"]


def format_bytes(value) -> str:
    """1_500_000 -> '1.5 MB'. Decimal multiples, as Finder and App Store Connect show sizes."""
    if value is None or value == "":
        return "—"
    size = float(value)
    unit = 0
    while abs(size) >= 1000 and unit < len(UNITS) - 1:
        size /= 1000
        unit += 1
    if unit == 0:
        return f"{int(size)} B"
    return f"{size:.1f} {UNITS[unit]}"
