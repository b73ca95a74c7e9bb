"""The hourly request budget Apple gives each key, and the X-Rate-Limit header reporting it."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from .errors import rate_limited

WINDOW = 3600.0  # seconds: Apple's budget is per rolling hour
UNLIMITED_SHOWN = 3600  # the limit reported when no budget is set


class HourlyBudget:
    """Requests in the last rolling hour against ``limit()`` (None: unlimited)."""

    def __init__(self, limit: Callable[[], int | None], clock: Callable[[], float]):
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._window: deque[float] = deque()

    def spend(self) -> None:
        """Count one request, or raise Apple's 429 when the hour's budget is spent."""
        limit, now = self._limit(), self._clock()
        with self._lock:
            while self._window and self._window[0] <= now - WINDOW:
                self._window.popleft()
            if limit is not None and len(self._window) >= limit:
                raise rate_limited()
            self._window.append(now)

    def reset(self) -> None:
        with self._lock:
            self._window.clear()

    @property
    def remaining(self) -> int | None:
        limit = self._limit()
        if limit is None:
            return None
        return max(0, limit - len(self._window))

    def header(self) -> str:
        """The X-Rate-Limit value; an unlimited budget always reports its full hour."""
        limit = self._limit()
        shown = limit if limit is not None else UNLIMITED_SHOWN
        remaining = self.remaining
        return f"user-hour-lim:{shown};user-hour-rem:{shown if remaining is None else remaining};"
