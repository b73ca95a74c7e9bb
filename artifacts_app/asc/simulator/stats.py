"""What the simulator has seen, for tests and benchmarks to assert on."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    """Counters of requests, statuses, faults, tokens and download bytes. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests = 0  # every request, API and downloads
        self.api_requests = 0
        self.downloads = 0
        self.by_kind: Counter[str] = Counter()  # "ciProducts/buildRuns", "download", ...
        self.by_status: Counter[int] = Counter()
        self.faults: Counter[str] = Counter()
        self.tokens: set[str] = set()  # distinct bearer tokens accepted
        self.download_authorization_seen = False
        self.download_bytes = 0

    def record(self, kind: str, api: bool) -> None:
        with self._lock:
            self.requests += 1
            self.by_kind[kind] += 1
            if api:
                self.api_requests += 1
            else:
                self.downloads += 1

    def count(self, counter: str, key: Any, amount: int = 1) -> None:
        with self._lock:
            getattr(self, counter)[key] += amount

    def token_accepted(self, token: str) -> None:
        with self._lock:
            self.tokens.add(token)

    def bytes_sent(self, amount: int) -> None:
        with self._lock:
            self.download_bytes += amount
