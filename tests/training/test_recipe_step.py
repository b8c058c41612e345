"""``examples/recipe_step.sh``, the steps of ``make real``: a step is trained once, a stopped one
resumes from its checkpoint, a finished one is kept, other settings are refused, and every
sitting's time is counted. ``ifan`` is a stand-in here that records its arguments and writes a
checkpoint, so the logic is tested without training (``docs/training.md``'s page runs the real
``make real``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "recipe_step.sh"

FAKE_IFAN = f"""#!{sys.executable}
import json, os, pathlib, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
run = pathlib.Path(args[args.index("--resume" if "--resume" in args else "--out") + 1])
(run / "checkpoints").mkdir(parents=True, exist_ok=True)
(run / "checkpoints" / "step-00000200.safetensors").write_text("weights")
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    ifan = tmp_path / "ifan"
    ifan.write_text(FAKE_IFAN)
    ifan.chmod(0o755)
    return ifan


def step(fake: Path, run: Path, *args: str, fail: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "FAKE_LOG": str(fake.parent / "calls.jsonl"), "FAKE_EXIT": str(int(fail))}
    return subprocess.run(
        ["bash", str(SCRIPT), str(fake), str(run), *args],
        env=env,
        cwd=fake.parent,
        capture_output=True,
        text=True,
    )


def calls(fake: Path) -> list[list[str]]:
    log = fake.parent / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_a_step_is_trained_once_and_kept(fake: Path, tmp_path: Path) -> None:
    run = tmp_path / "real" / "run"
    args = ("examples/faces3-cpu.toml", "--set", "tasks.landmarks.augment={rotate=25.0, crop=0.1}")
    assert step(fake, run, *args).returncode == 0
    assert calls(fake) == [["train", *args, "--out", str(run)]]
    assert (tmp_path / "real" / "run.done").exists()
    again = step(fake, run, *args)
    assert again.returncode == 0
    assert "finished in an earlier sitting, kept" in again.stdout
    assert len(calls(fake)) == 1
    lines = (tmp_path / "real" / "times.tsv").read_text().splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["run", "fresh"]]


def test_a_stopped_step_resumes_and_its_sittings_are_summed(fake: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    first = step(fake, real / "run", "m.toml", fail=True)
    assert first.returncode == 1
    assert not (real / "run.done").exists()
    # The stopped sitting ran 3,660 s up to its last write (its start moved back to say so).
    sitting = real / "run.sitting"
    began = int(sitting.read_text().split()[1])
    sitting.write_text(f"fresh {began - 3660}\n")
    last = time.time() - 5
    for path in [sitting, *(real / "run").rglob("*")]:
        os.utime(path, (last, last))
    assert step(fake, real / "run", "m.toml").returncode == 0
    assert calls(fake)[-1] == ["train", "--resume", str(real / "run")]
    rows = [line.split("\t") for line in (real / "times.tsv").read_text().splitlines()]
    assert [row[:2] for row in rows] == [["run", "fresh, stopped"], ["run", "resumed"]]
    assert 3650 <= int(rows[0][2]) <= 3660
    assert (
        step(fake, real / "continued", "m.toml", "--init-from", str(real / "run")).returncode == 0
    )
    summary = subprocess.run(
        ["bash", str(SCRIPT), "--times", str(real)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert summary.stdout.splitlines() == [
        "time: run        1h 00m (2 sittings)",
        "time: continued  0h 00m (1 sitting)",
        "time: all steps  1h 00m",
    ]


def test_a_step_begun_with_other_settings_is_refused(fake: Path, tmp_path: Path) -> None:
    run = tmp_path / "real" / "run"
    assert step(fake, run, "m.toml", "--set", "train.seed=0", fail=True).returncode == 1
    refused = step(fake, run, "m.toml", "--set", "train.seed=1")
    assert refused.returncode == 2
    assert refused.stderr == textwrap.dedent(f"""\
        error: {run} was begun with other settings
          then: m.toml --set train.seed=0
          now:  m.toml --set train.seed=1
          run it with the same settings to continue it, or remove {run.parent} to start over
        """)
    assert len(calls(fake)) == 1


def test_a_start_stopped_before_its_first_checkpoint_starts_afresh(
    fake: Path, tmp_path: Path
) -> None:
    run = tmp_path / "real" / "run"
    (run / "metrics.jsonl").parent.mkdir(parents=True)
    (run / "metrics.jsonl").write_text('{"kind": "train"}\n')
    assert step(fake, run, "m.toml").returncode == 0
    assert calls(fake) == [["train", "m.toml", "--out", str(run)]]
    assert not (run / "metrics.jsonl").exists()


def test_a_run_the_recipe_did_not_begin_is_not_taken_over(fake: Path, tmp_path: Path) -> None:
    run = tmp_path / "real" / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "step-00000200.safetensors").write_text("someone else's")
    refused = step(fake, run, "m.toml")
    assert refused.returncode == 2
    assert f"{run} holds a run that this recipe did not begin" in refused.stderr
    assert calls(fake) == []
    assert (run / "checkpoints" / "step-00000200.safetensors").read_text() == "someone else's"


@pytest.mark.parametrize("size", [None, 64])
def test_make_real_trains_only_step_4_at_real_step4_size(size, tmp_path):
    """``make real`` (dry run): step 4 at 96 px by default, at ``REAL_STEP4_SIZE`` when given;
    the steps before it at the manifest's 64."""
    extra = [] if size is None else [f"REAL_STEP4_SIZE={size}"]
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "real", f"DATA={tmp_path}", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    steps = {
        line.split()[2].rsplit("/", 1)[1]: line
        for line in dry.splitlines()
        if line.startswith("examples/recipe_step.sh") and "--times" not in line
    }
    assert list(steps) == ["run", "continued", "step3", "step4"]
    assert f"--set model.input_size={size or 96}" in steps["step4"]
    assert all("input_size" not in steps[name] for name in ("run", "continued", "step3"))
