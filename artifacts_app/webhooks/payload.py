"""What the receiver reads from an Xcode Cloud delivery: the run's id and the event type.

Everything else in a delivery (sizes, states, names) is ignored: the run is read from the
API. Parsing is lenient because Apple's casing and enums vary between its sample and its
reference, and new event types may come.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_BODY_BYTES = 1024 * 1024
KNOWN_EVENTS = ("BUILD_CREATED", "BUILD_STARTED", "BUILD_COMPLETED")
# App Store Connect ids are UUIDs; anything outside this never reaches an API path.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class PayloadError(ValueError):
    """A body the receiver cannot use; the message is one line for the sender."""


@dataclass(frozen=True)
class Delivery:
    run_id: str
    event_type: str


def parse_delivery(body: bytes) -> Delivery:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise PayloadError("the body is not valid JSON") from None
    if not isinstance(document, dict):
        raise PayloadError("the body is not a JSON object")
    run_id = _run_id(document.get("ciBuildRun"))
    if run_id is None:
        raise PayloadError("the delivery names no ciBuildRun.id")
    return Delivery(run_id=run_id, event_type=_event_type(document))


def _run_id(run: Any) -> str | None:
    if isinstance(run, dict) and isinstance(run.get("data"), dict):
        run = run["data"]  # the JSON:API envelope some senders keep
    run_id = run.get("id") if isinstance(run, dict) else None
    if isinstance(run_id, str) and _RUN_ID.fullmatch(run_id):
        return run_id
    return None


def _event_type(document: dict[str, Any]) -> str:
    """`metadata.attributes.eventType`, upper-cased; UNRECOGNIZED when absent or odd."""
    metadata = document.get("metadata")
    attributes = metadata.get("attributes") if isinstance(metadata, dict) else None
    value = attributes.get("eventType") if isinstance(attributes, dict) else None
    if value is None:
        value = document.get("eventType")
    if not isinstance(value, str) or not value.strip():
        return "UNRECOGNIZED"
    normalised = re.sub(r"[^A-Z0-9]+", "_", value.strip().upper()).strip("_")
    return normalised[:40] or "UNRECOGNIZED"
