"""The archiver's byte progress bar: bytes, rate and ETA, with files done as a postfix."""

from __future__ import annotations

from typing import TextIO

from ..progress import TerminalBar
from ..units import format_bytes as human_bytes

BAR_FORMAT = "{l_bar}{bar}| {n_fmt}B/{total_fmt}B [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


class Progress:
    """Workers call `add(bytes)` (negative to take back a cut-off download) and `file_done()`
    from any thread. Draws only on a terminal."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self.total_files = 0
        self.done_files = 0
        self._bar: TerminalBar | None = None

    def start(self, total_files: int, total_bytes: int) -> None:
        self.total_files = total_files
        self._bar = TerminalBar(
            self.stream,
            total=total_bytes,
            unit="B",
            unit_scale=True,
            unit_divisor=1000,
            bar_format=BAR_FORMAT,
        )
        self._bar.show(postfix=self._files())

    def add(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def file_done(self) -> None:
        self.done_files += 1
        if self._bar is not None:
            self._bar.show(postfix=self._files())

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def _files(self) -> str:
        return f"{self.done_files}/{self.total_files} files"


__all__ = ["Progress", "human_bytes"]
