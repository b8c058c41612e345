"""Progress bars: redrawn on a terminal, a few plain lines without carriage returns in a log, and
nothing for a short loop."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
import tqdm.std

from ifan import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """tqdm's clock, moved by hand: ``clock[0]`` seconds."""
    now = [1000.0]
    monkeypatch.setattr(tqdm.std, "time", lambda: now[0])
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    return now


def test_a_log_gets_a_line_per_interval_and_a_last_one(clock: list[float]) -> None:
    log = io.StringIO()
    bar = progress.bar(range(100), desc="finding faces", unit="image", stream=log)
    for index in bar:
        clock[0] += 1.0  # a second per image
        bar.set_postfix_str("emotion")  # a forced redraw, as evaluate() makes per task
        assert index < 100
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()
    assert 3 <= len(lines) <= 5  # first after LOG_DELAY (10 s), then every LOG_INTERVAL (30 s)
    assert lines[0].startswith("finding faces: ")
    assert lines[-1].startswith("finding faces: 100/100 image (100%) [01:40 elapsed")
    assert lines[-1].endswith(", emotion]")


def test_a_short_loop_writes_nothing_to_a_log(clock: list[float]) -> None:
    log = io.StringIO()
    bar = progress.bar(total=5, desc="predicting", unit="photo", stream=log)
    for _ in range(5):
        clock[0] += 1.0
        bar.set_postfix_str("a.jpg")
        bar.update()
    bar.close()
    assert log.getvalue() == ""


def test_a_loop_of_unknown_length_says_how_far_it_got(clock: list[float]) -> None:
    log = io.StringIO()
    for _ in progress.bar(iter(range(20)), desc="scanning", unit="image", stream=log):
        clock[0] += 2.0
    assert log.getvalue().splitlines()[-1].startswith("scanning: 20 image [00:40 elapsed")


def test_a_terminal_gets_the_redrawn_bar_and_disabled_gets_nothing(clock: list[float]) -> None:
    screen = Terminal()
    for _ in progress.bar(range(3), desc="eval", stream=screen):
        clock[0] += 1.0
    assert "\r" in screen.getvalue() and "eval:" in screen.getvalue()
    log = io.StringIO()
    for _ in progress.bar(range(3), enabled=False, stream=log):
        clock[0] += 100.0
    assert log.getvalue() == ""


def test_tqdm_disable_silences_a_log_bar_that_is_redrawn(tmp_path) -> None:
    """tqdm reads TQDM_DISABLE when it is imported: a fresh process with stderr in a file."""
    script = (
        "from ifan import progress\n"
        "bar = progress.bar(total=3, desc='scoring', unit='face')\n"
        "for _ in range(3):\n"
        "    bar.set_postfix_str('emotion')\n"
        "    bar.update()\n"
        "bar.close()\n"
        "print('done')\n"
    )
    log = tmp_path / "log.txt"
    env = {**os.environ, "TQDM_DISABLE": "1"}
    with log.open("w") as err:
        done = subprocess.run(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=err, text=True, env=env
        )
    assert done.returncode == 0, log.read_text()
    assert done.stdout == "done\n" and log.read_text() == ""


def test_a_bar_can_start_where_an_earlier_sitting_stopped(clock: list[float]) -> None:
    log = io.StringIO()
    bar = progress.bar(total=10, initial=4, desc="epoch 2/6", unit="upd", stream=log)
    for _ in range(3):
        clock[0] += 20.0
        bar.update()
    bar.close()
    last = log.getvalue().splitlines()[-1]
    assert last.startswith("epoch 2/6: 7/10 upd (70%) [01:00 elapsed, 01:00 left"), last
