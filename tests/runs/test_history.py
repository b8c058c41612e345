"""The metrics log (append, read back, crash tolerance, resume truncation) and its pictures."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ifan.errors import IfanError
from ifan.plots import _loss_points, _stage_offsets, plot_confusion, plot_history
from ifan.runs.history import History, HistoryError, read_history
from ifan.runs.layout import HISTORY

TASKS = {
    "parsing": ("f1_overall", True),
    "landmarks": ("nme", False),
    "emotion": ("accuracy", True),
}


def fill(history: History, stages: dict[int, int], tasks: dict[str, tuple[str, bool]]) -> None:
    """Log ``stages`` (stage -> epochs) of plausible curves: two loss windows and one eval an
    epoch per task, global steps growing by 10 an epoch."""
    step = 0
    for stage, epochs in stages.items():
        for epoch in range(1, epochs + 1):
            for window in range(2):
                step += 5
                for index, task in enumerate(tasks):
                    loss = (index + 1) * 2.0 / (step / 5) ** 0.5 + 0.1 * window
                    history.log_train(
                        stage=stage, epoch=epoch, step=step, task=task, loss=loss, lr=0.01
                    )
            for task, (main, higher) in tasks.items():
                progress = 1 - 0.8 ** (step / 10)
                value = 0.9 * progress if higher else 0.2 - 0.15 * progress
                history.log_eval(
                    stage=stage, epoch=epoch, step=step, task=task,
                    metrics={main: value, "extra": 1.0}, main=main, higher_is_better=higher,
                )  # fmt: skip


def distinct_colours(image: Image.Image) -> int:
    return len(np.unique(np.asarray(image).reshape(-1, 3), axis=0))


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    history = History(tmp_path / "run" / HISTORY)
    written = [
        history.log_train(
            stage=1, epoch=1, step=10, task="landmarks", loss=np.float32(0.5), lr=0.01, time=12.5
        ),
        history.log_eval(
            stage=2, epoch=3, step=40, task="landmarks",
            metrics={"nme": torch.tensor(0.0625), "failure_rate": 0.25},
            main="nme", higher_is_better=False,
        ),
    ]  # fmt: skip
    assert read_history(history.path) == written
    assert written == [
        {
            "kind": "train", "stage": 1, "epoch": 1, "step": 10, "task": "landmarks",
            "loss": 0.5, "lr": 0.01, "time": 12.5, "outputs": 1,
        },
        {
            "kind": "val", "stage": 2, "epoch": 3, "step": 40, "split": "val", "task": "landmarks",
            "metrics": {"nme": 0.0625, "failure_rate": 0.25}, "main": "nme",
            "higher_is_better": False,
        },
    ]  # fmt: skip
    assert type(written[1]["metrics"]["nme"]) is float


def test_time_defaults_to_now_and_arguments_are_checked(tmp_path: Path) -> None:
    history = History(tmp_path / HISTORY)
    record = history.log_train(stage=1, epoch=1, step=1, task="emotion", loss=1.0, lr=0.1)
    assert abs(record["time"] - time.time()) < 60
    with pytest.raises(ValueError, match="stage must be 1"):
        history.log_train(stage=3, epoch=1, step=1, task="emotion", loss=1.0, lr=0.1)
    with pytest.raises(ValueError, match=r"'accuracy'.*not in"):
        history.log_eval(
            stage=1, epoch=1, step=1, task="emotion", metrics={"acc": 1.0},
            main="accuracy", higher_is_better=True,
        )  # fmt: skip
    assert len(read_history(history.path)) == 1


def test_each_record_is_one_fsynced_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    history = History(tmp_path / HISTORY)
    synced: list[bytes] = []
    real_fsync = os.fsync
    monkeypatch.setattr(
        os, "fsync", lambda fd: (synced.append(history.path.read_bytes()), real_fsync(fd))
    )
    history.log_train(stage=1, epoch=1, step=1, task="parsing", loss=2.0, lr=0.1, time=1.0)
    history.log_train(stage=1, epoch=1, step=2, task="parsing", loss=1.5, lr=0.1, time=2.0)
    lines = history.path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3
    assert [json.loads(line)["loss"] for line in lines[:2]] == [2.0, 1.5]
    # When each fsync ran, the file already held the whole record, newline included.
    assert synced == [lines[0] + b"\n", lines[0] + b"\n" + lines[1] + b"\n"]


def test_non_finite_values_are_written_as_null(tmp_path: Path) -> None:
    history = History(tmp_path / HISTORY)
    history.log_train(stage=1, epoch=1, step=1, task="parsing", loss=math.nan, lr=0.1, time=1.0)
    history.log_eval(
        stage=1, epoch=1, step=1, task="parsing", metrics={"f1_overall": math.inf, "f1_eyes": 0.5},
        main="f1_overall", higher_is_better=True,
    )  # fmt: skip
    text = history.path.read_text()
    assert '"loss":null' in text and '"f1_overall":null' in text and "NaN" not in text
    train, val = read_history(history.path)
    assert train["loss"] is None and val["metrics"] == {"f1_overall": None, "f1_eyes": 0.5}


def test_truncated_last_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    history = History(tmp_path / HISTORY)
    fill(history, {1: 2}, TASKS)
    complete = read_history(history.path)
    with history.path.open("ab") as file:
        file.write(b'{"kind": "train", "stage": 1, "epo')
    with pytest.warns(UserWarning, match=rf"{HISTORY}:{len(complete) + 1}: skipping"):
        assert read_history(history.path) == complete


def test_reopening_cuts_a_partial_line_so_new_records_stay_readable(tmp_path: Path) -> None:
    path = tmp_path / HISTORY
    History(path).log_train(stage=1, epoch=1, step=1, task="emotion", loss=1.0, lr=0.1, time=1.0)
    with path.open("ab") as file:
        file.write(b'{"kind": "tra')
    with pytest.warns(UserWarning, match="incomplete last line"):
        history = History(path)
    history.log_train(stage=1, epoch=1, step=2, task="emotion", loss=0.5, lr=0.1, time=2.0)
    assert [record["step"] for record in read_history(path)] == [1, 2]
    # A whole record that only lacks its newline is kept.
    with path.open("ab") as file:
        file.write(b'{"kind": "train", "stage": 1, "epoch": 1, "step": 3}')
    History(path).log_train(stage=1, epoch=1, step=4, task="emotion", loss=0.2, lr=0.1, time=3.0)
    assert [record["step"] for record in read_history(path)] == [1, 2, 3, 4]


def test_corrupt_middle_line_names_file_and_line(tmp_path: Path) -> None:
    history = History(tmp_path / HISTORY)
    fill(history, {1: 1}, TASKS)
    lines = history.path.read_text().splitlines()
    lines[2] = lines[2][:-5]
    history.path.write_text("\n".join(lines) + "\n")
    with pytest.raises(HistoryError, match=rf"{HISTORY}:3: corrupt history line") as info:
        read_history(history.path)
    assert isinstance(info.value, IfanError) and str(history.path) in str(info.value)
    history.path.write_text('{"kind": "train"}\n[1, 2]\n{"kind": "val"}\n')
    with pytest.raises(HistoryError, match=r":2: corrupt.*expected a JSON object"):
        read_history(history.path)
    with pytest.raises(HistoryError, match="no such history file"):
        read_history(tmp_path / "missing.jsonl")


def test_truncate_after_keeps_records_up_to_the_step(tmp_path: Path) -> None:
    history = History(tmp_path / HISTORY)
    fill(history, {1: 2, 2: 2}, TASKS)  # steps 5, 10 | 15, 20 | 25, 30 | 35, 40
    before = read_history(history.path)
    assert history.truncate_after(20) == len([r for r in before if r["step"] > 20])
    after = read_history(history.path)
    assert after == [record for record in before if record["step"] <= 20]
    assert {r["step"] for r in after} == {5, 10, 15, 20} and len(after) == 4 * 3 + 2 * 3
    assert [p.name for p in tmp_path.iterdir()] == [HISTORY]  # no temporary left
    # Logging goes on in the rewritten file.
    history.log_train(stage=2, epoch=1, step=25, task="emotion", loss=0.1, lr=0.01, time=1.0)
    assert read_history(history.path)[-1]["step"] == 25
    assert history.truncate_after(0) == len(after) + 1 and read_history(history.path) == []
    assert History(tmp_path / "new.jsonl").truncate_after(5) == 0


def test_importing_the_history_does_not_load_matplotlib() -> None:
    code = "import sys, ifan.runs.history; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def check_png(path: Path, min_size: tuple[int, int]) -> None:
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode in {"RGB", "RGBA"}
        assert image.width >= min_size[0] and image.height >= min_size[1]
        assert distinct_colours(image.convert("RGB")) > 20  # lines, text, colours: not blank


def test_plot_history_two_stages_three_tasks(tmp_path: Path) -> None:
    history = History(tmp_path / HISTORY)
    fill(history, {1: 4, 2: 3}, TASKS)
    out = plot_history(read_history(history.path), tmp_path / "plots" / "history.png")
    assert out == tmp_path / "plots" / "history.png"
    check_png(out, (1000, 700))  # 2 x 2 panels of 5 x 3.8 inches at 120 dpi
    with Image.open(out) as image:
        assert image.size == (1200, 912)


def test_plot_history_one_task_one_stage_and_loss_only(tmp_path: Path) -> None:
    history = History(tmp_path / HISTORY)
    fill(history, {2: 3}, {"emotion": ("accuracy", True)})
    records = read_history(history.path)
    check_png(plot_history(records, tmp_path / "one.png"), (1000, 400))  # metric + loss panels
    loss_only = [record for record in records if record["kind"] == "train"]
    loss_only[0]["loss"] = None  # a diverged window is left out, not plotted as zero
    check_png(plot_history(loss_only, tmp_path / "loss.png"), (500, 400))
    with Image.open(tmp_path / "loss.png") as image:
        assert image.size == (600, 456)


def test_the_loss_curve_puts_stage_2s_sum_over_iterations_on_stage_1s_scale() -> None:
    """Stage 2 sums the loss of every iteration's prediction (3 with 2 iterations): the curve
    shows it per prediction, so the stage boundary is no jump (records without ``outputs``, from
    older runs, count as one)."""
    records = [
        {"kind": "train", "stage": 1, "epoch": 1, "step": 4, "task": "emotion", "loss": 1.2},
        {"kind": "train", "stage": 2, "epoch": 1, "step": 9, "task": "emotion", "loss": 3.3,
         "outputs": 3},
    ]  # fmt: skip
    offsets, boundary = _stage_offsets(records)
    assert _loss_points(records, offsets, "emotion") == ([1.0, 2.0], [1.2, pytest.approx(1.1)])
    assert boundary == 1


def test_plot_history_without_records_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no history records"):
        plot_history([], tmp_path / "empty.png")
    with pytest.raises(ValueError, match="no 'train' or 'val' records"):
        plot_history([{"kind": "note", "step": 1}], tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()


@pytest.mark.parametrize(
    "matrix",
    [
        [[50, 3, 0], [4, 40, 6], [0, 10, 30]],
        np.array([[50, 3, 0], [4, 40, 6], [0, 0, 0]]),
        torch.tensor([[50.0, 3.0, 0.0], [4.0, 40.0, 6.0], [0.0, 10.0, 30.0]]),
    ],
)
def test_plot_confusion_draws_a_picture(matrix: object) -> None:
    image = plot_confusion(matrix, ["neutral", "happy", "surprise"], title="emotion on val")
    assert isinstance(image, Image.Image) and image.mode == "RGB"
    assert 400 <= image.width <= 1200 and 400 <= image.height <= 1200
    pixels = np.asarray(image)
    assert (pixels < 250).any() and distinct_colours(image) > 20
    # The diagonal's dark blue cells are in there (a row fraction > 0.7 gets a dark shade).
    assert ((pixels[..., 2] > 80) & (pixels[..., 0] < 60)).sum() > 500


def test_plot_confusion_rejects_mismatched_sizes() -> None:
    with pytest.raises(ValueError, match=r"shape \(3, 3\) does not match 2 class names"):
        plot_confusion(np.eye(3), ["a", "b"])
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        plot_confusion([[1, 2, 3], [4, 5, 6]], ["a", "b"])
    with pytest.raises(ValueError, match="finite counts >= 0"):
        plot_confusion([[1, -1], [0, 1]], ["a", "b"])
