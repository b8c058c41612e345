"""``StopRequest``: a Ctrl-C or SIGTERM is noted rather than fatal while training, a second Ctrl-C
stops at once, and the previous handlers come back. (``tests/reliability/test_faults.py`` stops
real ``ifan train`` runs so.)"""

from __future__ import annotations

import os
import signal

import pytest

from ifan.training.stop_request import STOP_SIGNALS, StopRequest, ignore_stop_signals


def test_a_signal_is_noted_and_the_handlers_come_back() -> None:
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    with StopRequest() as stop:
        assert stop.signum is None and stop.name == ""
        os.kill(os.getpid(), signal.SIGTERM)  # would end this process without the handler
        assert stop.signum == signal.SIGTERM and stop.name == "SIGTERM"
    assert {signum: signal.getsignal(signum) for signum in STOP_SIGNALS} == before


def test_a_second_ctrl_c_stops_at_once() -> None:
    before = signal.getsignal(signal.SIGINT)
    with StopRequest() as stop, pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.signum == signal.SIGINT
        os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def test_data_loading_workers_ignore_both_signals() -> None:
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    try:
        ignore_stop_signals(0)
        assert all(signal.getsignal(signum) is signal.SIG_IGN for signum in STOP_SIGNALS)
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
