"""Sizes in human units for templates: `{{ value|human_bytes }}`, `{{ delta|signed_bytes }}`."""

from django import template

from ..models import FileType, enum_label
from ..units import format_bytes

register = template.Library()


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


@register.filter
def file_type_label(value):
    """'ARCHIVE_EXPORT' -> 'Archive export'; a type Apple adds later shows as it came."""
    return enum_label(FileType, value) or "(none)"
