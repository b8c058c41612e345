"""bench.reproduce: every experiment of both scales is a valid manifest (the gpu scale cannot
run here, so this is what checks it), and its report puts the paper's numbers beside the scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.lib.runs import trained_as
from bench.reports import reproduce as report
from bench.reproduce import experiments
from bench.reproduce.seeds import summarize
from bench.reproduce.verdicts import verdicts
from ifan.manifest import load_manifest

CASES = [
    (scale, e) for scale in experiments.SCALES for e in experiments.EXPERIMENTS if scale in e.scales
]


@pytest.mark.parametrize(("scale", "experiment"), CASES, ids=[f"{s}-{e.name}" for s, e in CASES])
def test_every_experiment_is_a_valid_manifest(scale, experiment, tmp_path):
    run = experiments.Run(experiment, seed=1)
    command = experiments.train_command(run, scale, tmp_path, tmp_path / "run")
    assert command[:4] == [
        "train",
        str(experiments.MANIFEST),
        "--tasks",
        ",".join(experiment.tasks),
    ]
    settings = [a.removeprefix("--set=") for a in command if a.startswith("--set=")]
    manifest = load_manifest(experiments.MANIFEST, settings, only=list(experiment.tasks))
    assert list(manifest.tasks) == list(experiment.tasks)
    values = dict(s.split("=", 1) for s in experiment.settings)
    assert manifest.model.iterations == int(values["model.iterations"])
    assert manifest.train.seed == 1
    if scale == "gpu":  # the paper's setting, as the manifest gives it
        assert (manifest.model.input_size, manifest.train.pretrain_epochs) == (128, 30)
        assert manifest.train.finetune_epochs == 200 and manifest.train.device == "cuda"
    else:  # the paper's model on the recipe's crop: the detector's box
        assert (manifest.model.crop.margin, manifest.model.backbone) == (0, "fc-densenet")


def test_seeded_experiments_run_once_per_seed_and_the_others_once():
    runs = experiments.plan(experiments.EXPERIMENTS, [0, 1])
    once = {e.name for e in experiments.EXPERIMENTS if not e.seeded}
    assert {"3t-iter1", "3t-iter2-resize", "3t-iter2-shared-bn"} <= once
    assert [r.seed for r in runs if r.exp.name == "3t-iter2"] == [0, 1]
    assert [r.seed for r in runs if r.exp.name in once] == [0] * len(once)
    assert [r.seed for r in runs] == sorted(r.seed for r in runs)  # every seed 0 first
    work = Path("work")
    assert runs[0].folder(work, "cpu") == work / "cpu" / runs[0].exp.name  # as before seeds
    assert runs[-1].folder(work, "cpu") == work / "cpu" / f"{runs[-1].exp.name}-seed1"


def test_a_folder_trained_with_other_settings_is_not_reused(tmp_path):
    run = experiments.Run(experiments.EXPERIMENTS[0], seed=0)
    expected = experiments.recipe(run, "cpu")
    assert trained_as(tmp_path, expected)  # nothing there yet
    (tmp_path / "run").mkdir()
    assert not trained_as(tmp_path, expected)  # a run made before recipe.json
    (tmp_path / "recipe.json").write_text(json.dumps(expected))
    assert trained_as(tmp_path, expected)
    assert not trained_as(tmp_path, experiments.recipe(run, "gpu"))


def test_the_report_puts_the_papers_numbers_beside_the_scores():
    landmarks = {"landmarks.nme": 0.2, "landmarks.failure_rate": 0.9,
                 **{f"landmarks.nme_{p}": 0.2 for p in report.POINTS}}  # fmt: skip
    three = {"val": {"landmarks.nme": 0.1, "parsing.f1_overall": 0.5, "emotion.accuracy": 0.4},
             "test": {"emotion.accuracy": 0.41}}  # fmt: skip
    scores = {
        "single-landmarks": summarize({0: {"val": landmarks}}, [0]),
        "3t-iter2": summarize({0: three}, [0]),
    }
    result = {
        "date": "today", "machine": {"cpu": "cpu", "cpus_available": 2},
        "versions": {"torch": "2", "ifan": "0"},
        "settings": {"scale": "cpu", "common": ["x"], "seeds": [0]},
        "experiments": [], "scores": scores, "verdicts": verdicts(scores),
        "peers": None, "baselines": None,
    }  # fmt: skip
    result["findings"] = report.findings(result)
    text = report.markdown(result)
    assert "| Single Task | 20.00 | 20.00 | 20.00 | 20.00 | 20.00 | 20.00 | 90.00 | 10.06 |" in text
    assert "| iFAN 3T Iter2 | 50.00 | 91.15 | 10.00 | 5.84 | 40.00 | 45.40 |" in text
    assert "| iFAN 3T Iter0 | - | - | - | - | - | - | - | 7.55 |" in text  # not run: no number
    assert all(finding in text for finding in result["findings"])
