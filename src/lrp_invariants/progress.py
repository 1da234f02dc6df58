"""A progress line on a terminal while the gate runs: the CLI's view of the ``progress``
option (:class:`lrp_invariants.gate.GateOptions`)."""

from __future__ import annotations

import time
from typing import TextIO


class ProgressLine:
    """A progress line on a terminal (``stage done/total, cases/s``), rewritten in place; the
    report that follows starts on a clean line."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label, self.stream = label, stream
        self.start = time.perf_counter()
        self.width = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == "search":
            rate = done / max(time.perf_counter() - self.start, 1e-9)
            text = f"{self.label}: searching, {done:,} of {total:,} cases ({rate:.1f} cases/s)"
        else:
            text = f"{self.label}: {stage.replace('shrink', 'shrinking')} ({done + 1} of {total})"
        self.stream.write("\r" + text.ljust(self.width))
        self.width = len(text)
        self.stream.flush()

    def clear(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


def progress_line(label: str | None, stream: TextIO) -> ProgressLine | None:
    """A :class:`ProgressLine` if ``stream`` is a terminal; None (silent) when it is piped or
    captured, where a rewritten line would only be noise."""
    isatty = getattr(stream, "isatty", None)
    return ProgressLine(label or "lrp-invariants", stream) if isatty and isatty() else None
