"""Xcode's App Thinning Size Report: per device variant, the download and install sizes."""

from __future__ import annotations

import re

# Xcode writes decimal units (1 MB = 1,000 KB), as Finder and App Store Connect do.
UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_SIZE = re.compile(r"(zero|[\d.,]+)\s*([KMGT]?B)\s+(compressed|uncompressed)", re.IGNORECASE)
FIELDS = {
    "app + on demand resources size": "total",
    "app size": "app",
    "on demand resources size": "odr",
}


def parse_report(text: str) -> list[dict]:
    """One dict per variant: its name, descriptors, and `<part>_<compressed|uncompressed>`
    byte counts (`total`, `app`, `odr`), None where the report leaves one out."""
    variants: list[dict] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        variant: dict = {}
        for line in block.split("\n"):
            label, _, value = line.partition(":")
            label = label.strip().lower()
            if label == "variant":
                variant["variant"] = value.strip()[:300]
            elif label == "supported variant descriptors":
                variant["descriptors"] = value.strip()[:1000]
            elif label in FIELDS:
                for number, unit, which in _SIZE.findall(value):
                    variant[f"{FIELDS[label]}_{which.lower()}"] = _bytes(number, unit)
        if "variant" in variant:
            variants.append(
                {
                    "descriptors": "",
                    **{
                        f"{p}_{w}": None
                        for p in FIELDS.values()
                        for w in ("compressed", "uncompressed")
                    },
                    **variant,
                }
            )
    return variants


def _bytes(number: str, unit: str) -> int:
    if number.lower() == "zero":
        return 0
    return round(float(number.replace(",", "")) * UNITS[unit.upper()])
