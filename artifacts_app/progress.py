"""Progress bars for the commands: tqdm on a terminal, nothing anywhere else.

tqdm brings the rate, the ETA and redraw throttling; this module only aims it at a command's
stdout and keeps cron logs and pipes free of carriage returns.
"""

from __future__ import annotations

import threading
from typing import TextIO

from django.core.management.base import OutputWrapper
from tqdm import tqdm


def is_terminal(stream: TextIO | None) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class _Fragments:
    """tqdm writes "\\r"-led fragments; a command's `OutputWrapper` would end each in a newline."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> None:
        if isinstance(self.stream, OutputWrapper):
            self.stream.write(text, ending="")
        else:
            self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


class TerminalBar:
    """One tqdm bar on `stream` when it is a terminal, silent otherwise; safe across threads.

    `options` are tqdm's (`total`, `unit`, `unit_scale`, `desc`, `bar_format`, ...).
    """

    def __init__(self, stream: TextIO | None, **options):
        self.enabled = is_terminal(stream)
        self._lock = threading.Lock()
        self._bar = tqdm(
            file=_Fragments(stream) if self.enabled else None,
            disable=not self.enabled,
            leave=False,
            dynamic_ncols=True,
            mininterval=0.2,
            **options,
        )

    def update(self, count: int = 1) -> None:
        with self._lock:
            self._bar.update(count)

    def show(
        self, count: int | None = None, *, desc: str | None = None, postfix: str | None = None
    ) -> None:
        """Set the count and the text around it, and redraw now."""
        with self._lock:
            if count is not None:
                self._bar.n = count
            if desc is not None:
                self._bar.set_description_str(desc, refresh=False)
            if postfix is not None:
                self._bar.set_postfix_str(postfix, refresh=False)
            self._bar.refresh()

    def close(self) -> None:
        with self._lock:
            self._bar.close()
