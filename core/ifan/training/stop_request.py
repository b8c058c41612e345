"""Stopping a training cleanly: Ctrl-C or SIGTERM (a shut-down session, a cluster's preemption)
lets the update under way finish, a checkpoint of it is written, and ``ifan train --resume``
goes on from there, so nothing is lost. A second Ctrl-C stops at once, as Python would.

The handlers only note the signal; the trainer looks after each update (all processes agree under
torchrun: :meth:`~ifan.training.trainer.Trainer.fit`). Data-loading workers ignore both signals,
so that a Ctrl-C sent to the whole terminal does not take them down before the last batch.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """While entered, notes the first Ctrl-C or SIGTERM instead of dying of it; ``signum`` is
    the signal asked for (None: none yet). Handlers are set only in the main thread (Python
    allows no other), and the previous ones come back on exit."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._note)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _note(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # asked twice: stop now, without the checkpoint
        self.signum = signum

    @property
    def name(self) -> str:
        """The signal's name (``SIGTERM``), or an empty string when none came."""
        return "" if self.signum is None else signal.Signals(self.signum).name


def ignore_stop_signals(worker_id: int = 0) -> None:
    """A data-loading worker's start (``worker_init_fn``): Ctrl-C and SIGTERM are the main
    process's to handle; the worker ends when the main process closes its loader or exits."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
