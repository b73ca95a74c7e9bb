"""The hourly call budget as several threads of one client share it.

Each response's ``X-Rate-Limit`` says what was left when Apple counted that request, but
with calls in flight it is already out of date when it arrives, and responses arrive out of
order. ``CallBudget`` keeps a figure that never overstates what is left: the last header,
less every call sent since that request and every call that was in flight when it was sent
(any of them may have been counted after it). A call is let through only while that figure
stays above the reserve, so no number of workers can spend past it. ``RateLimit`` is the
header itself, as the client last saw it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Ticket:
    """One call let through: how many were sent before it and how many were in flight."""

    sent_before: int
    in_flight: int


class CallBudget:
    def __init__(self, reserve: int, refuse: Callable[[int], Exception]):
        self.reserve = max(0, reserve)
        self._refuse = refuse  # the exception to raise, given the calls known to be left
        self._lock = threading.Lock()
        self._sent = 0
        self._in_flight = 0
        self._basis: tuple[int, Ticket] | None = None  # (remaining in a header, its call)

    def _left(self) -> int | None:
        if self._basis is None:
            return None
        remaining, ticket = self._basis
        sent_since = self._sent - ticket.sent_before - 1
        return remaining - sent_since - ticket.in_flight

    @property
    def left(self) -> int | None:
        """Calls certainly left this hour (None before the first header)."""
        with self._lock:
            return self._left()

    def take(self) -> Ticket:
        """Let one call through, or raise ``refuse(left)`` when it would dip into the reserve."""
        with self._lock:
            left = self._left()
            if left is not None and left <= self.reserve:
                raise self._refuse(left)
            ticket = Ticket(self._sent, self._in_flight)
            self._sent += 1
            self._in_flight += 1
            return ticket

    def settle(self, ticket: Ticket, remaining: int | None) -> None:
        """The call is over; ``remaining`` is its header's figure when it had one."""
        with self._lock:
            self._in_flight -= 1
            if remaining is None:
                return
            # A later call's header knows more: an earlier one arriving late is ignored.
            if self._basis is None or ticket.sent_before > self._basis[1].sent_before:
                self._basis = (remaining, ticket)


@dataclass(frozen=True)
class RateLimit:
    """The hourly budget from the last ``X-Rate-Limit`` header."""

    limit: int | None
    remaining: int | None

    @classmethod
    def from_header(cls, value: str | None) -> RateLimit | None:
        if not value:
            return None
        pairs = dict(re.findall(r"([\w-]+):(\d+)", value))
        if "user-hour-lim" not in pairs and "user-hour-rem" not in pairs:
            return None
        limit, remaining = pairs.get("user-hour-lim"), pairs.get("user-hour-rem")
        return cls(
            limit=int(limit) if limit is not None else None,
            remaining=int(remaining) if remaining is not None else None,
        )
