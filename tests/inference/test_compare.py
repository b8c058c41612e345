"""``ifan compare`` and :mod:`ifan.comparison`: runs side by side, Δm against single-task
baselines worked out by hand, the gate, bad input, and scoring checkpoints with ``--evaluate``.

The runs are folders with a ``metrics.jsonl`` written by :class:`History`, as the trainer writes
it; ``--evaluate`` gets untrained networks' checkpoints beside a few synthetic faces."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from ifan.cli.main import main
from ifan.comparison import (
    ComparisonError,
    RunScores,
    TaskScores,
    compare,
    evaluate_scores,
    read_scores,
    relative_change,
)
from ifan.evaluation import evaluate
from ifan.inference import load
from ifan.manifest import load_manifest
from ifan.network.model import build_model
from ifan.runs.checkpoint import save_checkpoint
from ifan.runs.history import History
from ifan.runs.layout import HISTORY, checkpoint_path
from ifan.runs.meta import run_meta
from ifan_tasks.synthetic.writer import write_datasets

PARSING = ("parsing", "f1_overall", True)
LANDMARKS = ("landmarks", "nme", False)


def make_run(
    folder: Path, *scores: tuple[tuple[str, str, bool], float | None], split="val"
) -> Path:
    """A run folder whose history holds one validation record per ``((task, main, higher),
    main value)``, with a second value beside the main one."""
    history = History(folder / HISTORY)
    for step, ((task, metric, higher), value) in enumerate(scores, 1):
        history.log_eval(
            stage=1, epoch=step, step=step, task=task, metrics={"other": 0.5, metric: value},
            main=metric, higher_is_better=higher, split=split,
        )  # fmt: skip
    return folder


@pytest.fixture
def runs(tmp_path: Path) -> dict[str, Path]:
    """A 2-task run (parsing F-score 0.80, up from an earlier 0.50; landmarks NME 0.12) and its
    single-task baselines (0.75 and 0.10)."""
    return {
        "both": make_run(tmp_path / "both", (PARSING, 0.50), (LANDMARKS, 0.12), (PARSING, 0.80)),
        "parsing": make_run(tmp_path / "parsing-only", (PARSING, 0.75)),
        "landmarks": make_run(tmp_path / "landmarks-only", (LANDMARKS, 0.10)),
    }


def cli(capsys, *argv: object) -> tuple[int, str, str]:
    try:
        code = main([str(arg) for arg in argv])
    except SystemExit as exc:  # argparse's own exits
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_delta_m_by_hand_against_two_single_task_baselines(runs) -> None:
    comparison = compare(
        [read_scores(runs["both"])], [read_scores(runs["parsing"]), read_scores(runs["landmarks"])]
    )
    changes = comparison.changes["both"]
    # parsing, higher is better: (0.80 - 0.75) / 0.75; landmarks, lower is better: the sign
    # turned, -(0.12 - 0.10) / 0.10; Δm is their mean.
    assert changes.tasks["parsing"].relative == pytest.approx(1 / 15)
    assert changes.tasks["landmarks"].relative == pytest.approx(-0.2)
    assert changes.delta_m == pytest.approx((1 / 15 - 0.2) / 2) == pytest.approx(-1 / 15)
    assert changes.tasks["parsing"].baseline_run == "parsing-only"
    assert (changes.tasks["landmarks"].value, changes.tasks["landmarks"].baseline) == (0.12, 0.10)
    assert comparison.tasks == ["parsing", "landmarks"]


def test_the_latest_record_of_the_split_is_read(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", (PARSING, 0.5), (PARSING, 0.8))
    History(run / HISTORY).log_eval(
        stage=2, epoch=1, step=9, task="parsing", metrics={"f1_overall": 0.1},
        main="f1_overall", higher_is_better=True, split="test",
    )  # fmt: skip
    scores = read_scores(run)
    assert scores.tasks["parsing"].main_value == 0.8 and scores.tasks["parsing"].step == 2
    assert read_scores(run, "test").tasks["parsing"].main_value == 0.1
    assert scores.source == str(run / HISTORY)


def test_relative_change_is_positive_when_better_either_way() -> None:
    assert relative_change(0.9, 0.6, higher_is_better=True) == pytest.approx(0.5)
    assert relative_change(0.3, 0.6, higher_is_better=False) == pytest.approx(0.5)
    assert relative_change(0.9, 0.6, higher_is_better=False) == pytest.approx(-0.5)
    assert relative_change(None, 0.6, higher_is_better=True) is None


def test_cli_prints_values_side_by_side_and_delta_m(capsys, runs, tmp_path: Path) -> None:
    out_json, plot = tmp_path / "cmp.json", tmp_path / "cmp.png"
    code, out, err = cli(
        capsys, "compare", runs["both"], "--baseline", runs["parsing"], runs["landmarks"],
        "--json", out_json, "--plot", plot,
    )  # fmt: skip
    assert code == 0, err
    landmarks = out[out.index("landmarks: main value nme (lower is better)") :].splitlines()
    assert landmarks[1].split() == ["VALUE", "LANDMARKS-ONLY", "BOTH"]
    assert landmarks[2].split() == ["nme", "0.1000", "0.1200"]  # the main value first
    assert landmarks[3].split() == ["other", "0.5000", "0.5000"]
    summary = out[out.index("relative change of each task") :].splitlines()
    assert summary[1].split() == ["RUN", "PARSING", "(F1_OVERALL)", "LANDMARKS", "(NME)", "ΔM"]
    assert summary[2].split() == ["both", "+6.67", "%", "-20.00", "%", "-6.67", "%"]
    data = json.loads(out_json.read_text())
    assert data["split"] == "val" and data["tasks"] == ["parsing", "landmarks"]
    assert [(r["name"], r["baseline"]) for r in data["runs"]] == [
        ("both", False), ("parsing-only", True), ("landmarks-only", True)
    ]  # fmt: skip
    assert data["changes"][0]["delta_m"] == pytest.approx(-1 / 15)
    assert data["changes"][0]["tasks"]["landmarks"]["relative_change"] == pytest.approx(-0.2)
    assert "gate" not in data
    with Image.open(plot) as picture:
        assert picture.format == "PNG" and picture.width > 0


def test_gate_fails_naming_the_task_beyond_the_tolerance(capsys, runs, tmp_path: Path) -> None:
    out_json = tmp_path / "gate.json"
    code, _, err = cli(
        capsys, "compare", runs["both"], "--baseline", runs["parsing"], runs["landmarks"],
        "--gate", "0.1", "--json", out_json,
    )  # fmt: skip
    assert code == 1
    assert err.count("gate failed") == 1
    assert (
        "both is worse than its baseline on landmarks beyond the tolerance of 10.00 %: nme "
        "0.1200 against 0.1000 in landmarks-only, -20.00 % (lower is better)"
    ) in err
    gate = json.loads(out_json.read_text())["gate"]
    assert gate["passed"] is False and gate["tolerance"] == 0.1
    assert [(f["run"], f["task"]) for f in gate["failures"]] == [("both", "landmarks")]


@pytest.mark.parametrize("tolerance", ["0.25", "0.2"])  # 0.2: exactly the change, which passes
def test_gate_passes_within_the_tolerance(capsys, runs, tolerance: str) -> None:
    code, out, err = cli(
        capsys, "compare", runs["both"], "--baseline", runs["parsing"], runs["landmarks"],
        "--gate", tolerance,
    )  # fmt: skip
    assert code == 0, err
    assert "gate passed: no task is worse than its baseline by more than" in out


def test_a_new_task_is_gated_on_the_tasks_the_baseline_has(capsys, runs) -> None:
    """The 2-task run as a model that added parsing to a landmarks model: --tasks leaves the new
    task, which no baseline covers, out."""
    argv = ["compare", runs["both"], "--baseline", runs["landmarks"], "--gate", "0.1"]
    code, _, err = cli(capsys, *argv)
    assert code == 2
    assert "no baseline covers task parsing of both (the baselines cover landmarks)" in err
    assert "--tasks landmarks" in err
    code, out, err = cli(capsys, *argv, "--tasks", "landmarks")
    assert code == 1 and "parsing" not in out
    assert "on landmarks beyond the tolerance" in err


def test_a_diverged_run_fails_the_gate(tmp_path: Path, runs) -> None:
    diverged = make_run(tmp_path / "diverged", (LANDMARKS, math.nan))
    comparison = compare([read_scores(diverged)], [read_scores(runs["landmarks"])])
    assert comparison.changes["diverged"].delta_m is None
    (failure,) = comparison.gate(0.5)
    assert failure.change.task == "landmarks" and "not finite" in failure.message()


def test_runs_without_baselines_are_shown_side_by_side(capsys, runs) -> None:
    code, out, err = cli(capsys, "compare", runs["both"], runs["parsing"])
    assert code == 0, err
    assert "relative change" not in out
    assert out.count("main value") == 2  # parsing (both runs), landmarks (one)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "is not a run folder: it has no metrics.jsonl"),
        (lambda p: p.write_text("{}"), "is a file, not a run folder"),
        (lambda p: None, "no such run folder"),
    ],
)
def test_a_folder_that_is_not_a_run_is_refused(capsys, runs, tmp_path: Path, make, message) -> None:
    path = tmp_path / "not-a-run"
    make(path)
    code, _, err = cli(capsys, "compare", path, "--baseline", runs["landmarks"])
    assert code == 2 and str(path) in err and message in err


def test_a_split_the_run_was_not_scored_on_is_refused(capsys, runs) -> None:
    code, _, err = cli(capsys, "compare", runs["both"], "--split", "test")
    assert code == 2
    assert f"{runs['both'] / HISTORY} has no validation record on the test split" in err
    assert "--evaluate" in err


def test_runs_scored_on_different_splits_are_refused(runs) -> None:
    test = RunScores(
        Path("elsewhere"), "test", "eval", {"landmarks": TaskScores("nme", False, {"nme": 0.1})}
    )
    with pytest.raises(
        ComparisonError, match=r"different splits \(\S*both on val, elsewhere on test\)"
    ):
        compare([read_scores(runs["both"])], [test])


def test_two_baselines_of_one_task_are_refused(runs, tmp_path: Path) -> None:
    other = make_run(tmp_path / "other", (LANDMARKS, 0.2))
    with pytest.raises(
        ComparisonError, match="two baselines cover task landmarks: landmarks-only and other"
    ):
        compare(
            [read_scores(runs["both"])],
            [read_scores(path) for path in (runs["landmarks"], other, runs["parsing"])],
        )


def test_a_metric_that_changed_between_run_and_baseline_is_refused(runs, tmp_path: Path) -> None:
    failures = make_run(tmp_path / "failures", (("landmarks", "failure_rate", False), 0.3))
    with pytest.raises(
        ComparisonError,
        match=r"scored by nme \(lower is better\) in landmarks-only but by failure_rate",
    ):
        compare([read_scores(runs["landmarks"])], [read_scores(failures)])


def test_a_zero_baseline_is_refused(runs, tmp_path: Path) -> None:
    zero = make_run(tmp_path / "zero", (LANDMARKS, 0.0))
    with pytest.raises(ComparisonError, match=r"zero's landmarks nme is 0\.0: a relative change"):
        compare([read_scores(runs["landmarks"])], [read_scores(zero)])


def test_an_edited_record_is_refused_with_its_file(tmp_path: Path) -> None:
    run = tmp_path / "edited"
    run.mkdir()
    record = {
        "kind": "val",
        "step": 3,
        "split": "val",
        "task": "parsing",
        "metrics": {"f1": 0.5},
        "main": "f1",
    }
    (run / HISTORY).write_text(json.dumps(record) + "\n")
    where = f"{run / HISTORY}: the 'parsing' record at step 3"
    with pytest.raises(ComparisonError, match=re.escape(f"{where}: 'higher_is_better' is None")):
        read_scores(run)


@pytest.mark.parametrize("value", ["2", "-0.1", "x"])
def test_a_bad_tolerance_is_refused(capsys, runs, value: str) -> None:
    code, _, err = cli(
        capsys, "compare", runs["both"], "--baseline", runs["parsing"], "--gate", value
    )
    assert code == 2 and "expected a fraction from 0 to 1" in err


def test_the_gate_needs_baselines(capsys, runs) -> None:
    code, _, err = cli(capsys, "compare", runs["both"], "--gate", "0.02")
    assert code == 2 and "--gate compares runs against baselines: give --baseline" in err


def test_evaluate_scores_the_latest_checkpoints(capsys, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_datasets(data, size=32, counts={"landmarks": {"train": 2, "val": 2, "test": 3}})
    manifest = load_manifest(data / "manifest.toml", ["model.iterations=0"], only=["landmarks"])
    folders = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        folder = tmp_path / f"seed{seed}"
        save_checkpoint(
            checkpoint_path(folder, 5), build_model(manifest).state_dict(), None,
            run_meta(manifest, {"step": 5}),
        )  # fmt: skip
        folders.append(folder)
    scores = evaluate_scores(folders[0], "test", device="cpu")
    predictor = load(folders[0], "cpu")
    expected = evaluate(predictor.model, predictor.manifest, "test", progress=False)["landmarks"]
    assert scores.split == "test" and scores.tasks["landmarks"].step == 5
    assert scores.tasks["landmarks"].values == pytest.approx(expected)
    assert (
        scores.tasks["landmarks"].main == "nme" and not scores.tasks["landmarks"].higher_is_better
    )
    code, out, err = cli(
        capsys, "compare", folders[1], "--baseline", folders[0], "--split", "test", "--evaluate",
        "--device", "cpu",
    )  # fmt: skip
    assert code == 0, err
    assert "test split" in out and "(evaluated)" in out and "LANDMARKS (NME)" in out
