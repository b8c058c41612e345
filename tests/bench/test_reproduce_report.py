"""bench.reproduce's report over seeds, on made-up scores: the mean and spread of each
experiment, the verdict on the paper's order (single task > 3T Iter0 > 3T Iter2 in error) and its
words, a report from whatever runs are done, and the time estimate. Nothing is trained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.reproduce import estimate, experiments, seeds
from bench.reproduce.__main__ import main

NAMES = ["single", "iter0", "iter2"]
LABELS = {"single": "single task", "iter0": "3T Iter0", "iter2": "3T Iter2"}
CLAIM = "the order"


def pct(value: float) -> str:
    return f"{100 * value:.2f}"


def test_summarize_means_each_split_keeps_every_seed_and_times_runs_done_in_one_go():
    runs = {
        0: {"val": {"a": 0.2, "b": 0.5}, "test": {"a": 0.1}, "seconds": {"train": 100.0,
                                                                         "resumed": False}},
        1: {"val": {"a": 0.4, "b": 0.5}, "seconds": {"train": 30.0, "resumed": True}},
    }  # fmt: skip
    entry = seeds.summarize(runs, [0, 1, 2])
    assert entry["val"] == pytest.approx({"a": 0.3, "b": 0.5})
    assert entry["half_range"]["val"] == pytest.approx({"a": 0.1, "b": 0.0})
    assert entry["test"] == {"a": 0.1} and "test" not in entry["half_range"]  # one seed
    assert entry["seeds"] == {"0": runs[0], "1": runs[1]}  # every seed's raw scores
    assert entry["planned"] == [0, 1, 2]
    assert entry["seconds"] == {"train": 100.0}  # the resumed run timed only its last part
    assert seeds.seed_values(entry, "a") == {"0": 0.2, "1": 0.4}


def test_one_seed_has_no_spread():
    entry = seeds.summarize({0: {"val": {"a": 0.2}}}, [0])
    assert "half_range" not in entry
    assert seeds.spread(seeds.seed_values(entry, "a")) is None
    assert seeds.spread({"0": 0.2, "1": 0.5, "2": 0.3}) == pytest.approx(0.3)


def test_an_order_beyond_the_spread_holds_in_words_from_the_numbers():
    values = {  # an error: lower is better
        "single": {"0": 0.30, "1": 0.32},
        "iter0": {"0": 0.25, "1": 0.26},
        "iter2": {"0": 0.20, "1": 0.21},
    }
    result = seeds.order(values, NAMES, higher_is_better=False)
    assert result["verdict"] == seeds.HOLDS_BEYOND
    first, second = result["steps"]
    assert first["gain"] == pytest.approx(0.055) and first["spread"] == pytest.approx(0.02)
    assert first["beyond_spread"] and first["better_in"] == ["0", "1"] and not first["worse_in"]
    assert second["gain"] == pytest.approx(0.05) and second["spread"] == pytest.approx(0.01)
    text = seeds.describe(result, values, LABELS, "NME", CLAIM, pct)
    assert text.startswith("NME: single task 31.00 (seeds 0 and 1: 30.00, 32.00), 3T Iter0 25.50")
    assert f"Here the order {seeds.HOLDS_BEYOND}: 3T Iter0 is 5.50 points better than" in text
    assert "more than the seed-to-seed spread (2.00), better in seeds 0 and 1" in text


def test_an_order_on_the_means_alone_holds_within_the_spread():
    values = {  # an accuracy: higher is better; Iter2 gains less than the seeds differ
        "single": {"0": 0.30, "1": 0.31},
        "iter0": {"0": 0.40, "1": 0.41},
        "iter2": {"0": 0.45, "1": 0.38},
    }
    result = seeds.order(values, NAMES, higher_is_better=True)
    assert result["verdict"] == seeds.HOLDS_WITHIN
    last = result["steps"][1]
    assert last["gain"] == pytest.approx(0.01) and last["spread"] == pytest.approx(0.07)
    assert not last["beyond_spread"]
    assert (last["better_in"], last["worse_in"]) == (["0"], ["1"])
    text = seeds.describe(result, values, LABELS, "accuracy", CLAIM, pct)
    assert "within the seed-to-seed spread (7.00), better in seed 0, not in seed 1" in text


def test_an_order_broken_beyond_the_spread_does_not_hold():
    values = {
        "single": {"0": 0.70, "1": 0.69},
        "iter0": {"0": 0.62, "1": 0.61},
        "iter2": {"0": 0.65, "1": 0.64},
    }
    result = seeds.order(values, NAMES, higher_is_better=True)
    assert result["verdict"] == seeds.FAILS
    assert result["steps"][0]["gain"] == pytest.approx(-0.08)
    text = seeds.describe(result, values, LABELS, "F-score", CLAIM, pct)
    assert f"Here the order {seeds.FAILS}: 3T Iter0 is 8.00 points worse than single task" in text
    assert "more than the seed-to-seed spread (1.00), not better in seeds 0 and 1" in text


def test_a_missing_seed_leaves_the_spread_unknown_and_a_missing_row_the_order_unjudged():
    values = {"single": {"0": 0.3, "1": 0.32}, "iter0": {"0": 0.25, "1": 0.26},
              "iter2": {"0": 0.2}}  # fmt: skip
    result = seeds.order(values, NAMES, higher_is_better=False)
    assert result["verdict"] == seeds.HOLDS_WITHIN
    assert result["steps"][1]["spread"] is None and not result["steps"][1]["beyond_spread"]
    text = seeds.describe(result, values, LABELS, "NME", CLAIM, pct)
    assert "3T Iter2 20.00 (seed 0 only)" in text and "spread not known" in text
    values["iter0"] = {}
    result = seeds.order(values, NAMES, higher_is_better=False)
    assert result == {"verdict": seeds.MISSING, "missing": ["iter0"], "steps": []}
    text = seeds.describe(result, values, LABELS, "NME", CLAIM, pct)
    assert text == f"NME: the order is {seeds.MISSING}, no scores for 3T Iter0 so far."


def made_up_scores(name: str, seed: int) -> dict[str, dict[str, float]]:
    """Scores of one run: each iteration 2 points better, seed 1 half a point better."""
    quality = {"single": 0.0, "3t-iter0": 0.02, "3t-iter1": 0.03, "3t-iter2": 0.04}
    q = quality.get(name.split("-")[0] if name.startswith("single") else name, 0.01)
    q += 0.005 * seed
    val = {"parsing.f1_overall": 0.6 + q, "landmarks.nme": 0.25 - q, "emotion.accuracy": 0.35 + q}
    return {"val": val, "test": {"emotion.accuracy": 0.36 + q}}


def write_run(work: Path, run: experiments.Run, scores: dict[str, dict[str, float]]) -> None:
    """A run folder as bench.reproduce leaves it once the run is scored."""
    folder = run.folder(work, "cpu")
    (folder / "run").mkdir(parents=True)
    (folder / "recipe.json").write_text(json.dumps(experiments.recipe(run, "cpu")))
    (folder / "val.json").write_text(json.dumps(scores["val"]))
    (folder / "test.json").write_text(json.dumps(scores["test"]))
    (folder / "timing.json").write_text(json.dumps({"train": 60.0, "resumed": False}))


def test_report_only_writes_the_report_from_whatever_is_done(tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    runs = experiments.plan(experiments.EXPERIMENTS, [0, 1])
    for run in runs:
        if (run.exp.name, run.seed) != ("3t-iter2", 1):  # not run yet
            write_run(work, run, made_up_scores(run.exp.name, run.seed))
    assert main(["--report-only", "--work", str(work), "--out", str(out)]) == 0
    result = json.loads((out / "reproduce-cpu.json").read_text())
    text = (out / "reproduce-cpu.md").read_text()
    iter0 = result["scores"]["3t-iter0"]
    assert iter0["seeds"]["1"]["val"] == made_up_scores("3t-iter0", 1)["val"]
    assert iter0["val"]["landmarks.nme"] == pytest.approx(0.25 - 0.0225)
    assert result["scores"]["3t-iter2"]["planned"] == [0, 1]
    assert [e["done"] for e in result["experiments"] if e["name"] == "3t-iter2"] == [[0]]
    assert "| 3t-iter2 | 1 | `3t-iter2-seed1/` | - | - | - | - | - | not yet |" in text
    assert "| iFAN 3T Iter0 | 62.25 ± 0.25 | 90.96 | 22.75 ± 0.25 | 7.55 |" in text
    assert "64.00 (1 of 2 seeds)" in text
    assert [v["verdict"] for v in result["verdicts"]] == [seeds.HOLDS_WITHIN] * 3
    assert result["findings"] and all(f in text for f in result["findings"])
    assert "model.crop.margin=0" in text and "reproduce the paper, not the recipe" in text


def test_the_estimate_sums_the_earlier_timings_of_the_planned_runs(tmp_path):
    earlier = {
        "date": "then",
        "machine": {"cpu": "a CPU", "cpus_available": 2},
        "scores": {  # a report from before seeds, and one with seeds (the mean of its seeds)
            "single-parsing": {"seconds": {"train": 100.0, "resumed": False, "eval_val": 20.0}},
            "3t-iter0": {"seconds": {"train": 500.0, "eval_val": 50.0, "eval_test": 50.0}},
            "3t-iter2": {"seconds": {"train": 900.0, "resumed": True}},  # its last part only
        },
    }
    assert estimate.seconds_per_run(earlier) == {"single-parsing": 120.0, "3t-iter0": 600.0}
    runs = [r for r in experiments.plan(experiments.EXPERIMENTS, [0, 1])
            if r.exp.name in ("single-parsing", "3t-iter0", "3t-iter2")]  # fmt: skip
    text = estimate.estimate(runs, earlier, tmp_path / "earlier.json")
    assert text.startswith("about 24 min for the training and scoring of these 6 runs")
    assert text.endswith("and the runs of 3t-iter2, which it did not time")
    assert (estimate.duration(20), estimate.duration(7500)) == ("1 min", "2 h 05 min")


def test_commands_show_each_seed_and_its_folder(tmp_path, capsys):
    argv = ["--commands", "--only", "3t-iter0", "3t-iter1", "--work", str(tmp_path),
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in lines if line.startswith("# 3t")] == [
        "# 3t-iter0, seed 0", "# 3t-iter1, seed 0", "# 3t-iter0, seed 1"]  # fmt: skip
    assert "--set=train.seed=1" in lines[5] and f"{tmp_path}/cpu/3t-iter0-seed1/run" in lines[5]
    assert lines[-1] == f"# no estimate: {tmp_path}/reproduce-cpu.json does not exist"
