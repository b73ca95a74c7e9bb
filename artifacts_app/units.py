"""Sizes and durations in human units, one formatter each for pages, admin and commands."""

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


def format_duration(value) -> str:
    """A timedelta as people read it: '2.7 s', '3 min 12 s', '1 h 4 min'."""
    if value is None:
        return "—"
    seconds = value.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
