"""Which component of an app each zip entry belongs to (the rules of the product's contract).

Entry names come from the zip and are only ever text here: split on "/", compared, stored.
None of them is joined to a folder or opened as a path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

GROUPED = {
    # folder below X.app: the kind of what it holds (its components are two elements deep)
    "Frameworks": "framework",
    "PlugIns": "plugin",
    "Extensions": "plugin",
    "Watch": "watch",
    "AppClips": "app_clip",
}


@dataclass(frozen=True)
class Entry:
    name: str
    compressed: int
    uncompressed: int


@dataclass
class Component:
    name: str
    kind: str
    entries: int = 0
    uncompressed_bytes: int = 0
    compressed_bytes: int = 0


def component_of(name: str) -> tuple[str, str]:
    """(component name, kind) of one entry name."""
    parts = name.split("/")
    if len(parts) > 1 and parts[0].endswith(".xcarchive"):
        parts = parts[1:]
    app_depth = _app_depth(parts)
    if app_depth is not None:
        app = parts[app_depth - 1]
        below = parts[app_depth:]
        head = below[0]
        if head in GROUPED and len(below) > 1:
            return "/".join(below[:2]), GROUPED[head]
        if head == app.removesuffix(".app") and len(below) == 1:
            return head, "executable"
        if head == "Assets.car":
            return head, "assets"
        if head.endswith(".lproj"):
            return head, "localization"
        return head, "other"
    if parts[0] == "dSYMs" and len(parts) > 1:
        return "/".join(parts[:2]), "dsym"
    return parts[0], "other"


def _app_depth(parts: list[str]) -> int | None:
    """How many elements lead to the files of `X.app`, when the entry is inside one."""
    if len(parts) >= 4 and parts[:2] == ["Products", "Applications"] and parts[2].endswith(".app"):
        return 3
    if len(parts) >= 3 and parts[0] == "Payload" and parts[1].endswith(".app"):
        return 2
    return None


def summarise(entries: Iterable[Entry]) -> list[Component]:
    """Components with their entry counts and bytes, largest (uncompressed) first."""
    components: dict[str, Component] = {}
    for entry in entries:
        name, kind = component_of(entry.name)
        component = components.setdefault(name, Component(name, kind))
        component.entries += 1
        component.uncompressed_bytes += entry.uncompressed
        component.compressed_bytes += entry.compressed
    return sorted(components.values(), key=lambda c: (-c.uncompressed_bytes, c.name))
