"""Sizes in human units for templates: `{{ value|human_bytes }}`, `{{ delta|signed_bytes }}`."""

from django import template

register = template.Library()

UNITS = ["B", "KB", "MB", "GB", "TB", "PB"]


def format_bytes(value) -> str:
    """1536 -> '1.5 KB' (binary multiples, as Finder and Xcode show sizes)."""
    if value is None or value == "":
        return "—"
    size = float(value)
    unit = 0
    while abs(size) >= 1024 and unit < len(UNITS) - 1:
        size /= 1024
        unit += 1
    if unit == 0:
        return f"{int(size)} B"
    return f"{size:.1f} {UNITS[unit]}"


@register.filter
def human_bytes(value):
    return format_bytes(value)


@register.filter
def signed_bytes(value):
    if value is None:
        return "—"
    if value == 0:
        return "±0 B"
    sign = "+" if value > 0 else "−"
    return sign + format_bytes(abs(value))


@register.filter
def signed_percent(ratio):
    if ratio is None:
        return ""
    return f"{ratio * 100:+.1f}%".replace("-", "−")


@register.filter
def percent(ratio):
    if ratio is None:
        return ""
    return f"{ratio * 100:.1f}%"
