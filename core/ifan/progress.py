"""Progress bars: a live bar on a terminal, a few plain lines in a log.

Every long loop of ifan (finding faces, preparing a split, scanning, scoring, predicting) shows its
progress through :func:`bar`. On a terminal that is a tqdm bar redrawn in place. Where standard
error is not a terminal (a log file, a pipe) a redrawn bar would write a carriage return per
redraw, tens of kilobytes of them in a long run; there :func:`bar` stays silent for the first
:data:`LOG_DELAY` seconds (a short loop prints nothing), then writes one plain line every
:data:`LOG_INTERVAL` seconds and a last one when the loop ends. ``TQDM_DISABLE=1`` turns both off.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from tqdm import tqdm

LOG_DELAY = 10.0
"""Seconds a loop runs before its first line in a log."""
LOG_INTERVAL = 30.0
"""Seconds between two lines of one loop in a log."""
LOG_FORMAT = (
    "{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%) [{elapsed} elapsed, {remaining} left"
    "{postfix}]"
)
LOG_FORMAT_OPEN = "{desc}: {n_fmt} {unit} [{elapsed} elapsed{postfix}]"
"""The line of a loop whose length is not known."""
_CONTROL = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\r")
"""Cursor movements and carriage returns, which tqdm writes to redraw and stack its bars."""


def bar(
    iterable: Iterable[Any] | None = None,
    *,
    desc: str | None = None,
    total: float | None = None,
    initial: int = 0,
    unit: str = "it",
    leave: bool = False,
    enabled: bool = True,
    stream: TextIO | None = None,
) -> tqdm:
    """A progress bar over ``iterable`` (or updated by hand up to ``total``) on ``stream``
    (standard error): redrawn on a terminal, throttled plain lines elsewhere, nothing when
    ``enabled`` is False. ``leave`` keeps a terminal's finished bar on the screen; ``initial``
    counts what was done before the bar (a resumed epoch), so its rate and time left are of the
    rest."""
    if not enabled:
        return tqdm(iterable, total=total, initial=initial, disable=True)
    stream = stream if stream is not None else sys.stderr
    if _is_terminal(stream):
        return tqdm(
            iterable, desc=desc, total=total, initial=initial, unit=unit, leave=leave, file=stream
        )
    return _LogBar(
        iterable,
        desc=desc or "progress",
        total=total,
        initial=initial,
        unit=unit,
        leave=True,  # the last line says where the loop ended
        file=_Lines(stream),
        bar_format=LOG_FORMAT if _sized(iterable, total) else LOG_FORMAT_OPEN,
        delay=LOG_DELAY,
        mininterval=LOG_DELAY,
        maxinterval=LOG_INTERVAL,
    )


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _sized(iterable: Iterable[Any] | None, total: float | None) -> bool:
    return total is not None or hasattr(iterable, "__len__")


class _LogBar(tqdm):
    """tqdm for a log: its first line once the loop has run :data:`LOG_DELAY` seconds, then one
    every :data:`LOG_INTERVAL` seconds at most, forced redraws (a new postfix) included, and the
    last when the loop ends."""

    _line_at: float | None = None
    _time: Callable[[], float]
    """tqdm's clock, which it sets up (its stubs leave private attributes out)."""

    def refresh(self, nolock: bool = False, lock_args: Any = None) -> None:
        if self.disable:  # TQDM_DISABLE=1: tqdm set up nothing to draw with
            return
        now = self._time()
        early = now < self.start_t + (self.delay or 0)
        if early or (self._line_at is not None and now - self._line_at < LOG_INTERVAL):
            return
        self._line_at = now
        super().refresh(nolock, lock_args)


class _Lines:
    """A stream that turns tqdm's redraws into whole lines: each new status on a line of its own,
    without the carriage returns and cursor movements of a terminal."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None) or "utf-8"
        self.last = ""

    def write(self, text: str) -> None:
        line = _CONTROL.sub("", text).strip()
        if line and line != self.last:
            self.stream.write(line + "\n")
            self.last = line

    def flush(self) -> None:
        self.stream.flush()
