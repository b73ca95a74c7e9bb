"""A byte progress bar for a terminal; silent everywhere else."""

from __future__ import annotations

import threading
import time
from typing import TextIO

from ..units import format_bytes as human_bytes


class Progress:
    """Thread-safe: workers call `add(bytes)` and `file_done()`; redraws 5 times a second."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.2):
        self.stream = stream
        self.enabled = bool(stream is not None and _isatty(stream))
        self.interval = interval
        self.total_bytes = 0
        self.total_files = 0
        self.done_bytes = 0
        self.done_files = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._drawn = 0.0

    def start(self, total_files: int, total_bytes: int) -> None:
        self.total_files, self.total_bytes = total_files, total_bytes
        self._started = time.monotonic()

    def add(self, count: int) -> None:
        with self._lock:
            self.done_bytes += count
            self._maybe_draw()

    def file_done(self) -> None:
        with self._lock:
            self.done_files += 1
            self._maybe_draw(force=True)

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()

    def _maybe_draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn < self.interval:
            return
        self._drawn = now
        elapsed = max(now - self._started, 1e-6)
        share = self.done_bytes / self.total_bytes if self.total_bytes else 0.0
        width = 30
        filled = min(width, int(share * width))
        bar = "#" * filled + "-" * (width - filled)
        line = (
            f"\r[{bar}] {share:6.1%} {human_bytes(self.done_bytes)} / "
            f"{human_bytes(self.total_bytes)}  {human_bytes(self.done_bytes / elapsed)}/s  "
            f"{self.done_files}/{self.total_files} files "
        )
        self.stream.write(line)
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:
        return False
