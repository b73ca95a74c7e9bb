"""Fault injection for the simulator: random rates from a seed, or scripted for the next calls."""

from __future__ import annotations

import random
import socket
import struct
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

API_FAULTS = ("401", "429", "429-retry-after", "500", "503", "reset", "truncate", "invalid-json")
DOWNLOAD_FAULTS = ("cut", "reset", "500", "expired", "410")


@dataclass
class Faults:
    """What goes wrong, and how often. Every knob can be changed while the server runs.

    ``rates`` maps a kind from ``API_FAULTS`` to the probability that an API request gets it;
    ``download_cut`` is the probability that a download stops halfway. ``inject()`` scripts
    faults for the next requests, which is what most tests want.
    """

    seed: int = 0
    rates: dict[str, float] = field(default_factory=dict)
    download_cut: float = 0.0
    latency: float = 0.0  # seconds added to every API request
    download_latency: float = 0.0
    retry_after: int = 1  # the Retry-After value sent with "429-retry-after"

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(API_FAULTS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}; use {API_FAULTS}")
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._api_queue: deque[str] = deque()
        self._requests_made: Counter[str] = Counter()
        self._download_queue: deque[str] = deque()

    def inject(self, kind: str, count: int = 1) -> None:
        """Make the next ``count`` API requests (or downloads, for "cut") fail with ``kind``."""
        with self._lock:
            if kind == "cut" or kind.startswith("download-"):
                self._download_queue.extend([kind.removeprefix("download-")] * count)
            elif kind in API_FAULTS:
                self._api_queue.extend([kind] * count)
            else:
                raise ValueError(f"unknown fault kind {kind!r}; use {API_FAULTS} or 'cut'")

    def clear(self) -> None:
        with self._lock:
            self._api_queue.clear()
            self._download_queue.clear()
            self.rates = {}
            self.download_cut = 0.0
            self.latency = self.download_latency = 0.0

    def next_api_fault(self, request: str | None = None) -> str | None:
        """The fault for the next API request, if any.

        Given the ``request`` (method, path and query), the draw depends only on the seed,
        the request and how many times it was made before: the same requests get the same
        faults whatever other requests reach the server and in whatever order, so a faulty
        run under a fixed seed replays exactly."""
        with self._lock:
            if self._api_queue:
                return self._api_queue.popleft()
            if not any(self.rates.values()):
                return None
            draws = self._random
            if request is not None:
                made = self._requests_made[request]
                self._requests_made[request] = made + 1
                draws = random.Random(f"{self.seed}/{request}/{made}")
            for kind, rate in self.rates.items():
                if rate and draws.random() < rate:
                    return kind
            return None

    def next_download_fault(self) -> str | None:
        with self._lock:
            if self._download_queue:
                return self._download_queue.popleft()
            if self.download_cut and self._random.random() < self.download_cut:
                return "cut"
            return None


def close_after(environ: dict[str, Any]) -> None:
    """Ask the server to close the connection after this response (no keep-alive)."""
    environ.get("simulator.state", {})["close"] = True


def reset_connection(environ: dict[str, Any]) -> None:
    """Drop the connection without a response, as a reset would."""
    close_after(environ)
    connection = environ.get("simulator.connection")
    if connection is None:
        raise ApiError(500, "UNEXPECTED_ERROR", "Connection reset", "The connection was reset")
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.shutdown(socket.SHUT_RDWR)
