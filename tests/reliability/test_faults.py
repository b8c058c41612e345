"""Faults during training: what a run survives, and what it leaves behind.

Guarantees tested here, on the real ``ifan train`` command:

- a run killed with SIGKILL at any moment (drawn at random, or planted inside a checkpoint write:
  half-way through the temporary file, between its fsync and the rename, just after the rename)
  never leaves a corrupt checkpoint, never takes a temporary file for one, and ``--resume`` ends
  with weights (and optimizer state) bit-identical to an uninterrupted run's, and the same
  validation records in its metrics log;
- a full disk (a real ENOSPC from ``/dev/full``) or a file-size limit (a real EFBIG under
  ``RLIMIT_FSIZE``) while writing a checkpoint stops the run with an error saying what happened
  and what to do; the previous checkpoint is intact, tensor for tensor;
- a stop asked for, SIGTERM to the process or Ctrl-C to its whole process group (data-loading
  workers included), ends the run after the update under way with a checkpoint of it, exit 143
  or 130, and ``--resume`` ends like an uninterrupted run;
- a NaN or infinite loss, or a finite loss with a non-finite gradient, stops the run naming the
  update, the task and the batch (its place in the task's stream and its sample indices); the
  last good checkpoint is kept and ``--resume`` continues from it; weights that went non-finite
  are never checkpointed.

The module-level tables count the cases (faults survived) for the documentation.
"""

from __future__ import annotations

import errno
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from ifan.cli.main import main
from ifan.errors import IfanError
from ifan.manifest import load_manifest
from ifan.network.model import IFAN
from ifan.runs.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ifan.runs.history import read_history
from ifan.runs.layout import checkpoint_path, latest_checkpoint
from ifan.training.scheduler import TaskStream, schedule
from ifan.training.trainer import DIVERGED, Trainer
from ifan_tasks.synthetic.writer import write_datasets

pytestmark = pytest.mark.slow

TASKS = ("parsing", "landmarks", "emotion")
TRAIN, BATCH = 4, 2
COUNTS = {task: {"train": TRAIN, "val": 2, "test": 2} for task in TASKS}
SETTINGS = [
    "model.iterations=1",
    "train.pretrain_epochs=1",
    "train.finetune_epochs=1",
    "train.finetune_rounds=2",
    "train.checkpoint_every=1",
    *(f"tasks.{task}.batch_size={BATCH}" for task in TASKS),
]
PLAN = list(schedule(TASKS, dict.fromkeys(TASKS, TRAIN // BATCH), 1, 1, 2))
TOTAL = len(PLAN)
"""12 updates: 2 per task in stage 1, then 2 rounds of the 3 tasks in stage 2."""

RANDOM_KILLS = 3
KILL_SEED = 8
"""SIGKILLs at moments drawn from ``random.Random(KILL_SEED)``: after a checkpoint of a random
update of either stage, plus a random delay that lands the kill in a forward pass, a backward
pass or a checkpoint write."""

WRITE_KILLS = {
    "mid-write": 3,  # half of the temporary file written
    "before-rename": 6,  # the temporary file complete and synced, not yet renamed
    "after-rename": 9,  # renamed, before the folder is synced and old checkpoints are pruned
}
"""Where a SIGKILL is planted in the checkpoint write, and at which update's checkpoint."""

FULL_DISK = ("ENOSPC", "EFBIG")
"""Real refusals by the OS: a full disk (``/dev/full``) and the file-size limit."""

NON_FINITE = {
    # case: (update, what the message says, how the loss is spoiled)
    "nan loss": (8, "loss is nan", lambda loss: loss * float("nan")),
    "infinite loss": (5, "loss is inf", lambda loss: loss + float("inf")),
    "non-finite gradient": (
        1,
        "but its gradient is not finite",
        lambda loss: loss + (0 * loss).sqrt(),
    ),
}
"""A loss spoiled at one update: the update named, the last good checkpoint kept."""

STOPS = {
    # case: (signal, update after which it comes, sent to the whole process group, workers)
    "SIGTERM": ("SIGTERM", 8, False, 0),
    "Ctrl-C": ("SIGINT", 9, True, 1),
}
"""Stops asked for in the middle of an epoch (checkpoints only at epochs' ends): the run must
checkpoint the update itself. Ctrl-C goes to the process group, as a terminal sends it, so the
data-loading worker gets it too."""

WEIGHTS_GONE = 3
"""The update after which the weights are made infinite: they must not be checkpointed."""

CHECKPOINT = re.compile(r"step-(\d{8})\.safetensors")
TEMPORARY = re.compile(r"\.step-\d{8}\.safetensors\.tmp-\d+")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}

CHILD = '''
"""`ifan train ...` in this process, with a SIGKILL or a file-size limit planted in the
checkpoint write: python child.py POINT CHECKPOINT_NAME IFAN_ARGS..."""
import io
import os
import resource
import signal
import sys
from pathlib import Path

from ifan.cli.main import main
from ifan.errors import IfanError
from ifan.manifest import load_manifest
from ifan import files
from ifan.training import trainer

point, target = sys.argv[1], sys.argv[2]
real_open, real_replace, real_fsync_folder = open, os.replace, files.fsync_folder
real_save = trainer.save_checkpoint


def die():
    os.kill(os.getpid(), signal.SIGKILL)


class HalfWritten(io.FileIO):
    def write(self, data):
        super().write(bytes(data)[: len(data) // 2])
        die()


def open_(file, mode="r", *args, **kwargs):
    if point == "mid-write" and Path(file).name.startswith(f".{target}.tmp-"):
        return HalfWritten(file, mode)
    return real_open(file, mode, *args, **kwargs)


def replace(src, dst, *args, **kwargs):
    if point == "before-rename" and Path(dst).name == target:
        die()
    return real_replace(src, dst, *args, **kwargs)


def fsync_folder(folder):
    if point == "after-rename" and (Path(folder) / target).exists():
        die()
    real_fsync_folder(folder)


def save_then_limit(path, *args, **kwargs):
    real_save(path, *args, **kwargs)
    if point == "limit-after" and Path(path).name == target:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, hard))


files.open = open_
os.replace = replace
files.fsync_folder = fsync_folder
trainer.save_checkpoint = save_then_limit
sys.exit(main(sys.argv[3:]))
'''


SIGNALLER = """
\"\"\"`ifan train ...` that signals itself after an update: python signaller.py SIGNAL UPDATE
GROUP IFAN_ARGS... (GROUP 1: to its whole process group, as a terminal's Ctrl-C).\"\"\"
import os
import signal
import sys

from ifan.cli.main import main
from ifan.training import trainer

name, after, group = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
real_step = trainer.Trainer.step


def step(self, update):
    value = real_step(self, update)
    if self.progress.step == after:
        signum = getattr(signal, name)
        os.killpg(os.getpgid(0), signum) if group else os.kill(os.getpid(), signum)
    return value


trainer.Trainer.step = step
sys.exit(main(sys.argv[4:]))
"""


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faces")
    write_datasets(out, seed=0, size=32, counts=COUNTS)
    return out / "manifest.toml"


def _train_args(faces: Path, run: Path, *extra: str) -> list[str]:
    sets = [f"--set={s}" for s in [*SETTINGS, *extra]]
    return ["train", str(faces), "--out", str(run), "--quiet", *sets]


def _ifan(args: list[str], log: Path, child: Path | None = None, *plant: str) -> int:
    """Run ``ifan ARGS`` (through ``child`` with ``plant`` when given) to its end; its exit code.
    Its output goes to ``log``."""
    start = [sys.executable, str(child), *plant] if child else [sys.executable, "-m", "ifan"]
    with open(log, "w") as out:
        return subprocess.run(
            [*start, *args], env=ENV, stdout=out, stderr=subprocess.STDOUT
        ).returncode


@pytest.fixture(scope="module")
def reference(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run that keeps every checkpoint."""
    run = tmp_path_factory.mktemp("reference") / "run"
    log = run.parent / "log.txt"
    assert _ifan(_train_args(faces, run, "train.keep_checkpoints=100"), log) == 0, log.read_text()
    assert [_step(p) for p in _checkpoints(run)] == list(range(1, TOTAL + 1))
    return run


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("child") / "child.py"
    path.write_text(textwrap.dedent(CHILD), encoding="utf-8")
    return path


def _step(path: Path) -> int:
    match = CHECKPOINT.fullmatch(path.name)
    assert match, path
    return int(match.group(1))


def _checkpoints(run: Path) -> list[Path]:
    return sorted(p for p in (run / "checkpoints").iterdir() if CHECKPOINT.fullmatch(p.name))


def _temporary(run: Path) -> list[Path]:
    return sorted(p for p in (run / "checkpoints").iterdir() if TEMPORARY.fullmatch(p.name))


def _assert_sound(run: Path) -> int:
    """Every checkpoint of ``run`` loads and is the update it is named after; the folder holds
    nothing but checkpoints and temporary files, and the latest checkpoint is a checkpoint.
    Returns the latest checkpoint's update."""
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == sorted(p.name for p in [*_checkpoints(run), *_temporary(run)])
    steps = []
    for path in _checkpoints(run):
        loaded = load_checkpoint(path)
        assert loaded.meta["progress"]["step"] == _step(path)
        assert all(torch.isfinite(t).all() for t in loaded.model.values() if t.is_floating_point())
        steps.append(_step(path))
    assert steps, "no checkpoint at all"
    latest = latest_checkpoint(run)
    assert latest is not None and latest == checkpoint_path(run, max(steps))
    for temporary in _temporary(run):
        assert latest_checkpoint(run) != temporary
    return max(steps)


def _assert_same(a: Path, b: Path) -> None:
    """Two checkpoints hold the same update, weights and optimizer state, bit for bit."""
    first, second = load_checkpoint(a), load_checkpoint(b)
    assert first.meta["progress"]["step"] == second.meta["progress"]["step"]
    assert first.meta["progress"]["consumed"] == second.meta["progress"]["consumed"]
    assert first.model.keys() == second.model.keys()
    for name, tensor in first.model.items():
        assert torch.equal(tensor, second.model[name]), name
    assert first.optimizer is not None and second.optimizer is not None
    assert first.optimizer["param_groups"] == second.optimizer["param_groups"]
    for index, state in first.optimizer["state"].items():
        for name, value in state.items():
            other = second.optimizer["state"][index][name]
            assert torch.equal(value, other) if isinstance(value, torch.Tensor) else value == other


def _history(run: Path) -> list[tuple]:
    """The run's metrics log, less the training losses (a resumed epoch averages fewer) and the
    times: which records, at which update, and every validation metric."""
    return [
        (r["kind"], r["stage"], r["epoch"], r["step"], r["task"], r.get("metrics"))
        for r in read_history(run / "metrics.jsonl")
    ]


def _wait_for_checkpoint(process: subprocess.Popen, run: Path, step: int, log: Path) -> None:
    """Until ``run`` has a checkpoint of update ``step`` or later (the process must not end)."""
    deadline = time.monotonic() + 600
    while True:
        latest = latest_checkpoint(run) if (run / "checkpoints").is_dir() else None
        if latest is not None and _step(latest) >= step:
            return
        assert process.poll() is None, f"ended before update {step}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no checkpoint of update {step}"
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------
# SIGKILL


def test_sigkill_at_random_moments_never_corrupts_a_checkpoint_and_resumes_exactly(
    faces: Path, reference: Path, tmp_path: Path
) -> None:
    rng = random.Random(KILL_SEED)
    moments = sorted(rng.sample(range(1, TOTAL - 2), RANDOM_KILLS))
    delays = [rng.uniform(0.0, 0.3) for _ in moments]
    run = tmp_path / "run"
    args = _train_args(faces, run)
    resumed_at = 0
    for kill, (moment, delay) in enumerate(zip(moments, delays, strict=True)):
        log = tmp_path / f"log-{kill}.txt"
        with open(log, "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "ifan", *args], env=ENV, stdout=out, stderr=out
            )
            _wait_for_checkpoint(process, run, max(moment, resumed_at + 1), log)
            time.sleep(delay)
            assert process.poll() is None, log.read_text()
            process.send_signal(signal.SIGKILL)
            assert process.wait() == -signal.SIGKILL
        resumed_at = _assert_sound(run)
        assert resumed_at < TOTAL
        args = ["train", "--resume", str(run), "--quiet"]
    assert _ifan(args, tmp_path / "log-end.txt") == 0, (tmp_path / "log-end.txt").read_text()
    assert _assert_sound(run) == TOTAL
    assert _temporary(run) == []  # whatever a kill left was cleaned up
    _assert_same(latest_checkpoint(run), latest_checkpoint(reference))
    assert _history(run) == _history(reference)  # no record lost or repeated


def test_sigkill_inside_a_checkpoint_write_keeps_the_previous_one_and_resumes_exactly(
    faces: Path, reference: Path, child: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    args = _train_args(faces, run)
    for point, step in WRITE_KILLS.items():
        target = checkpoint_path(run, step)
        log = tmp_path / f"log-{point}.txt"
        assert _ifan(args, log, child, point, target.name) == -signal.SIGKILL, log.read_text()
        latest = _assert_sound(run)
        written = _temporary(run)
        if point == "after-rename":
            assert latest == step and written == []  # the new checkpoint, whole
        else:
            assert latest == step - 1 and not target.exists()  # the previous one
            (partial,) = written  # this kill's; the one before was cleaned up on resuming
            assert partial.name.startswith(f".{target.name}.tmp-")
            size = checkpoint_path(reference, step).stat().st_size
            if point == "mid-write":
                assert abs(partial.stat().st_size - size / 2) < 1000  # about half
                with pytest.raises(CheckpointError, match="truncated or corrupt"):
                    load_checkpoint(partial)  # what a write in place would have left
            else:  # complete and synced, yet not taken for a checkpoint
                assert load_checkpoint(partial).meta["progress"]["step"] == step
                _assert_same(partial, checkpoint_path(reference, step))
        _assert_same(latest_checkpoint(run), checkpoint_path(reference, latest))
        args = ["train", "--resume", str(run), "--quiet"]
    assert _ifan(args, tmp_path / "log-end.txt") == 0, (tmp_path / "log-end.txt").read_text()
    assert _assert_sound(run) == TOTAL
    assert _temporary(run) == []
    _assert_same(latest_checkpoint(run), latest_checkpoint(reference))
    assert _history(run) == _history(reference)


# ---------------------------------------------------------------------------------------------
# A stop asked for


@pytest.mark.parametrize("case", STOPS)
def test_a_stop_signal_checkpoints_the_update_under_way_and_resumes_exactly(
    faces: Path, reference: Path, tmp_path: Path, case: str
) -> None:
    name, after, group, workers = STOPS[case]
    signaller = tmp_path / "signaller.py"
    signaller.write_text(SIGNALLER, encoding="utf-8")
    run = tmp_path / "run"
    args = _train_args(faces, run, "train.checkpoint_every=1000", f"train.workers={workers}")
    stopped = subprocess.run(
        [sys.executable, str(signaller), name, str(after), str(int(group)), *args],
        env=ENV,
        capture_output=True,
        text=True,
        start_new_session=True,  # its own process group, for the Ctrl-C
        timeout=600,
    )
    signum = getattr(signal, name)
    assert stopped.returncode == 128 + signum, stopped.stdout + stopped.stderr
    assert stopped.stdout.splitlines()[-1] == (
        f"stopped by {name} after update {after}, its checkpoint written: continue with "
        f"`ifan train --resume {run}`"
    )
    assert "Traceback" not in stopped.stderr, stopped.stderr
    assert _assert_sound(run) == after  # not the epoch's end before it: the update itself
    log = tmp_path / "resume.txt"
    assert _ifan(["train", "--resume", str(run), "--quiet"], log) == 0, log.read_text()
    _assert_same(latest_checkpoint(run), latest_checkpoint(reference))
    assert _history(run) == _history(reference)


# ---------------------------------------------------------------------------------------------
# Full disk


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_disk_gives_a_clear_error_and_keeps_the_previous_checkpoint(
    tmp_path: Path,
) -> None:
    before = {"w": torch.randn(1000), "b": torch.arange(10)}
    save_checkpoint(checkpoint_path(tmp_path, 1), before, None, {"step": 1})
    path = checkpoint_path(tmp_path, 2)
    # The temporary file is the full device: every write of it fails as on a full disk.
    path.with_name(f".{path.name}.tmp-{os.getpid()}").symlink_to("/dev/full")
    with pytest.raises(CheckpointError) as info:
        save_checkpoint(path, {"w": torch.zeros(1000), "b": torch.zeros(10)}, None, {"step": 2})
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.__cause__.errno == errno.ENOSPC  # a real refusal, by the kernel
    message = str(info.value)
    assert message.startswith(f"cannot write checkpoint {path}: the disk is full.")
    assert "Earlier checkpoints" in message and "are intact" in message
    assert re.search(r"Free at least \d+(\.\d)? (bytes|MiB) on that disk", message)
    assert not path.exists()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "step-00000001.safetensors"
    ]  # the temporary file (here the link) is gone
    assert latest_checkpoint(tmp_path) == checkpoint_path(tmp_path, 1)
    after = load_checkpoint(checkpoint_path(tmp_path, 1))
    assert after.meta == {"step": 1}
    assert after.model.keys() == before.keys()
    assert all(torch.equal(after.model[k], v) for k, v in before.items())


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE and SIGXFSZ as on Linux")
def test_a_file_size_limit_stops_ifan_train_with_a_clear_error_and_keeps_the_checkpoint(
    faces: Path, reference: Path, child: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    log = tmp_path / "log.txt"
    # The limit is set once update 5 is checkpointed: update 6's checkpoint cannot be written.
    code = _ifan(_train_args(faces, run), log, child, "limit-after", "step-00000005.safetensors")
    output = log.read_text()
    assert code == 2, output
    assert "Traceback" not in output
    failed = checkpoint_path(run, 6)
    (line,) = [line for line in output.splitlines() if line.startswith("error:")]
    assert line.startswith(
        f"error: cannot write checkpoint {failed}: the file is larger than this process may "
        "write (the file-size limit, ulimit -f). Earlier checkpoints"
    )
    assert re.search(r"Raise the limit to at least \d+\.\d MiB", line)
    assert line.endswith(
        f"Training stopped after update 6; continue it from its last checkpoint with "
        f"`ifan train --resume {run}`"
    )
    assert not failed.exists() and _temporary(run) == []
    assert _assert_sound(run) == 5
    _assert_same(checkpoint_path(run, 5), checkpoint_path(reference, 5))


# ---------------------------------------------------------------------------------------------
# Non-finite losses


@pytest.mark.parametrize("case", NON_FINITE)
def test_a_non_finite_loss_stops_naming_update_task_and_batch_and_keeps_the_last_checkpoint(
    faces: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch, case: str
) -> None:
    update, what, spoil = NON_FINITE[case]
    planned = PLAN[update - 1]
    task = planned.task
    calls = []
    real_loss = IFAN.loss

    def loss(self, outputs, task_name, target):
        value = real_loss(self, outputs, task_name, target)
        calls.append(task_name)
        return spoil(value) if len(calls) == update else value

    monkeypatch.setattr(IFAN, "loss", loss)
    run = tmp_path / "run"
    assert main(_train_args(faces, run)) == 2
    error = capsys.readouterr().err
    monkeypatch.undo()
    assert calls[-1] == task and len(calls) == update

    # The batch: the k-th of the task's stream, as the scheduler laid it out.
    k = sum(1 for u in PLAN[: update - 1] if u.task == task)
    stream = TaskStream(TRAIN, BATCH, 0, TASKS.index(task))
    pass_, position = divmod(k, stream.per_pass)
    samples = ", ".join(str(i) for i, _ in stream.batch(k))
    folder = run / "checkpoints"
    if update > 1:
        kept = (
            f"the last checkpoint in {folder}, step-{update - 1:08d}.safetensors, is kept "
            f"(continue from it with `ifan train --resume {run}`)"
        )
    else:
        kept = f"no checkpoint was written to {folder} yet"
    assert re.fullmatch(
        re.escape(f"error: the {task} ")
        + r"(loss is -?[\d.e+-]+ )?"
        + re.escape(
            f"{what} at update {update} (stage {planned.stage}, epoch {planned.epoch}), on "
            f"{task} batch {position + 1} of {stream.per_pass} in pass {pass_ + 1} over its "
            f"training split (samples {samples}); {kept}. {DIVERGED}\n"
        ),
        error,
    ), error

    if update == 1:
        assert latest_checkpoint(run) is None
        return
    assert _assert_sound(run) == update - 1  # the last good checkpoint, and nothing after it
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert f"resuming at update {update - 1}" in capsys.readouterr().out
    assert _assert_sound(run) == TOTAL


def test_weights_gone_non_finite_are_never_checkpointed(faces: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    trainer = Trainer(load_manifest(faces, SETTINGS), run, progress_bars=False)
    real_step = trainer.optimizer.step

    def step(*args, **kwargs):  # an overflowing update: finite loss and gradient, inf weights
        result = real_step(*args, **kwargs)
        if trainer.progress.step + 1 == WEIGHTS_GONE:
            next(trainer.model.parameters()).data[0] = float("inf")
        return result

    trainer.optimizer.step = step
    with pytest.raises(IfanError) as info:
        trainer.fit()
    assert str(info.value) == (
        f"the weights are no longer finite after update {WEIGHTS_GONE}, so they are not saved; "
        f"the last checkpoint in {run / 'checkpoints'}, step-{WEIGHTS_GONE - 1:08d}.safetensors, "
        f"is kept (continue from it with `ifan train --resume {run}`). {DIVERGED}"
    )
    assert _assert_sound(run) == WEIGHTS_GONE - 1


def test_a_run_killed_in_its_first_checkpoint_write_can_be_started_again(
    faces: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)  # what a SIGKILL in the first write leaves
    (run / "checkpoints" / ".step-00000001.safetensors.tmp-99999").write_bytes(b"half")
    (run / "metrics.jsonl").write_text('{"step": 1, "stage": 1, "task": "stale"}\n')
    assert main(_train_args(faces, run)) == 0, capsys.readouterr().err
    assert "stale" not in (run / "metrics.jsonl").read_text()
    assert _assert_sound(run) == TOTAL
