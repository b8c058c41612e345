"""Training and scoring each model, and probing each matrix: resumable, a finished step kept in
its folder under ``WORK/<scale>/`` and not redone, a step whose inputs were trained again
redone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.fusion.commands import probe_command, shown_command, threads_option, train_command
from bench.fusion.design import MATRICES, Model
from bench.lib.paths import ROOT, shown_path
from bench.lib.runs import has_checkpoints, load_json, run_ifan, trained_as


def ifan(arguments: list[str], env: dict[str, str], log: Path) -> float:
    """Run ``ifan ARGUMENTS`` from the repository root, logged as a reader reruns it; the
    seconds it took."""
    return run_ifan(arguments, env, log, shown=shown_command(arguments), cwd=ROOT)


def check_recipe(folder: Path, expected: dict[str, Any]) -> None:
    """Stop when ``folder`` holds a run of other settings: it must not stand for this one."""
    if not trained_as(folder, expected):
        raise SystemExit(
            f"{folder} holds a run of other settings than {expected} (its recipe.json, or none "
            "beside its run/): move it away, or give another --work"
        )


def run_model(
    model: Model, folder: Path, expected: dict[str, Any], paths: list[str], threads: int,
    env: dict[str, str],
) -> bool:  # fmt: skip
    """Train (or resume) ``model`` in ``folder`` with the settings ``expected`` and the data's
    ``paths``, and score it on its test splits; steps done are skipped. Whether it trained."""
    check_recipe(folder, expected)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.json").write_text(json.dumps(expected))
    out, log, timing = folder / "run", folder / "log.txt", folder / "timing.json"
    seconds = load_json(timing, {})
    command = train_command(model, expected, paths, out)
    (folder / "command.txt").write_text(shown_command(command) + "\n")
    trained = "train" not in seconds
    if trained:
        resuming = has_checkpoints(out)
        running = ["train", "--resume", str(out), "--quiet"] if resuming else command
        print(f"  {model.name}: {'resuming' if resuming else 'training'} (log: "
              f"{shown_path(log)})", flush=True)  # fmt: skip
        seconds["train"] = ifan(running + threads_option(threads), env, log)
        seconds["resumed"] = resuming  # then "train" is the time of the last part only
        timing.write_text(json.dumps(seconds))
    scores = folder / "test.json"
    if trained:  # the scores of weights since retrained are stale
        scores.unlink(missing_ok=True)
    if not scores.exists():
        print(f"  {model.name}: scoring the test splits", flush=True)
        evaluate = ["eval", str(out), "--split", "test", "--json", str(scores)]
        seconds["eval"] = ifan(evaluate, env, log)
        timing.write_text(json.dumps(seconds))
    return trained


def latest_checkpoint(run: Path) -> str | None:
    """The name of a run's newest step checkpoint."""
    found = sorted((run / "checkpoints").glob("step-*.safetensors"))
    return found[-1].name if found else None


def run_probe(kind: str, work: Path, head: str, epochs: int, env: dict[str, str]) -> None:
    """The matrix of ``kind`` (``single`` or ``integrated``), unless done with these runs."""
    folder = work / f"probe-{kind}"
    folder.mkdir(parents=True, exist_ok=True)
    result = folder / "probe.json"
    command = probe_command(kind, work, head, epochs, result)
    shown = shown_command(command)
    expected = {
        "command": shown,
        "checkpoints": {n: latest_checkpoint(work / n / "run") for n in MATRICES[kind]},
    }
    recorded = folder / "recipe.json"
    if result.exists() and load_json(recorded) == expected:
        return
    result.unlink(missing_ok=True)
    recorded.write_text(json.dumps(expected))
    (folder / "command.txt").write_text(shown + "\n")
    log = folder / "log.txt"
    print(f"  probe {kind}: the matrix (log: {shown_path(log)})", flush=True)
    before = log.stat().st_size if log.exists() else 0
    seconds = ifan(command, env, log)
    (folder / "timing.json").write_text(json.dumps({"probe": seconds}))
    with log.open("rb") as file:  # what this command printed: its matrix
        file.seek(before)
        printed = file.read().decode(errors="replace").split("\n", 1)[-1]
    print("\n".join("    " + line for line in printed.strip().splitlines()), flush=True)
