"""Training and scoring one run: resumable, each finished step (training, each evaluation) kept
in the run's folder and not redone."""

from __future__ import annotations

import json
from pathlib import Path

from bench.lib.runs import has_checkpoints, load_json, run_ifan, trained_as
from bench.reproduce.experiments import Run, recipe, train_command


def run_one(run: Run, scale: str, work: Path, data: Path, env: dict[str, str]) -> None:
    """Train (or resume) and score one run; steps already done are skipped. Its folder holds
    ``recipe.json``, ``log.txt``, ``timing.json``, ``val.json`` and (with emotion)
    ``test.json``, and the run itself in ``run/``."""
    folder = run.folder(work, scale)
    expected = recipe(run, scale)
    if not trained_as(folder, expected):
        raise SystemExit(
            f"{folder} holds a run trained with other settings than {expected} (see its "
            "recipe.json, or it has none: made before it was recorded); move it away, or give "
            "another --work, to train it anew"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.json").write_text(json.dumps(expected))
    out, log, timing = folder / "run", folder / "log.txt", folder / "timing.json"
    name = f"{run.exp.name} seed {run.seed}"
    seconds = load_json(timing, {})
    if "train" not in seconds:
        resuming = has_checkpoints(out)
        if resuming:
            command = ["train", "--resume", str(out), "--quiet"]
        else:
            command = train_command(run, scale, data, out)
        print(f"  {name}: training ({' '.join(command[:1] + command[2:4])})", flush=True)
        seconds["train"] = run_ifan(command, env, log)
        seconds["resumed"] = resuming  # then "train" is the time of the last, resumed part
        timing.write_text(json.dumps(seconds))
    for split in ("val", "test"):
        if split == "test" and "emotion" not in run.exp.tasks:
            continue
        scores = folder / f"{split}.json"
        if not scores.exists():
            print(f"  {name}: scoring the {split} split", flush=True)
            command = ["eval", str(out), "--split", split, "--json", str(scores)]
            seconds[f"eval_{split}"] = run_ifan(command, env, log)
            timing.write_text(json.dumps(seconds))
