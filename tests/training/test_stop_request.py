"""``StopRequest``: a Ctrl-C or SIGTERM is noted rather than fatal while training, a second Ctrl-C
stops at once, and the previous handlers come back. (``tests/reliability/test_faults.py`` stops
real ``ifan train`` runs so.)"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from ifan.runs.checkpoint import load_checkpoint
from ifan.runs.layout import latest_checkpoint
from ifan.training.stop_request import STOP_SIGNALS, StopRequest, ignore_stop_signals
from ifan.training.trainer import marking_last
from tests.training.short_run import EPOCH, STAGE_1, trainer, write_faces


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


def test_marking_last_flags_only_the_final_update() -> None:
    assert list(marking_last(iter("abc"))) == [("a", False), ("b", False), ("c", True)]
    assert list(marking_last(iter(""))) == []


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    return write_faces(tmp_path_factory.mktemp("faces"))


def test_a_stop_ends_the_run_after_the_update_under_way_with_its_checkpoint(faces, tmp_path):
    run = trainer(faces, tmp_path / "run")
    stop = StopRequest()
    stop.signum = signal.SIGTERM  # as if it came during the first update
    run.fit(stop=stop)
    assert run.progress.step == 1 and run.signalled == signal.SIGTERM
    assert load_checkpoint(latest_checkpoint(tmp_path / "run")).meta["progress"]["step"] == 1


def test_a_stop_during_the_last_update_lets_the_run_end(faces, tmp_path):
    total = STAGE_1 + 2 * EPOCH
    run = trainer(faces, tmp_path / "run")
    run.fit(stop_after=total - 1)
    stop = StopRequest()
    stop.signum = signal.SIGTERM  # came during the last update: nothing is left to resume
    run.fit(stop=stop)
    assert run.progress.step == total and run.signalled is None
    assert load_checkpoint(latest_checkpoint(tmp_path / "run")).meta["progress"]["step"] == total
