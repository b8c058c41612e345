"""bench/reproduce.py: every experiment of both scales is a valid manifest (the gpu scale cannot
run here, so this is what checks it), and its report puts the paper's numbers beside the scores."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from ifan.manifest import load_manifest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _reproduce():
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("reproduce", BENCH / "reproduce.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["reproduce"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


reproduce = _reproduce()
CASES = [
    (scale, e) for scale in reproduce.SCALES for e in reproduce.EXPERIMENTS if scale in e.scales
]


@pytest.mark.parametrize(("scale", "experiment"), CASES, ids=[f"{s}-{e.name}" for s, e in CASES])
def test_every_experiment_is_a_valid_manifest(scale, experiment, tmp_path):
    settings = reproduce.experiment_settings(experiment, scale, tmp_path)
    manifest = load_manifest(reproduce.MANIFEST, settings, only=list(experiment.tasks))
    assert list(manifest.tasks) == list(experiment.tasks)
    values = dict(s.split("=", 1) for s in experiment.settings)
    assert manifest.model.iterations == int(values["model.iterations"])
    if scale == "gpu":  # the paper's setting, as the manifest gives it
        assert (manifest.model.input_size, manifest.train.pretrain_epochs) == (128, 30)
        assert manifest.train.finetune_epochs == 200 and manifest.train.device == "cuda"
    command = reproduce.train_command(experiment, scale, tmp_path, tmp_path / "run")
    assert command[:4] == ["train", str(reproduce.MANIFEST), "--tasks", ",".join(experiment.tasks)]


def test_the_report_puts_the_papers_numbers_beside_the_scores():
    scores = {
        "single-landmarks": {"val": {"landmarks.nme": 0.2, **{
            f"landmarks.nme_{p}": 0.2 for p in reproduce.POINTS}, "landmarks.failure_rate": 0.9}},
        "3t-iter2": {"val": {"landmarks.nme": 0.1, "parsing.f1_overall": 0.5,
                             "emotion.accuracy": 0.4}, "test": {"emotion.accuracy": 0.41}},
    }  # fmt: skip
    result = {
        "date": "today", "machine": {"cpu": "cpu", "cpus_available": 2},
        "versions": {"torch": "2", "ifan": "0"}, "settings": {"scale": "cpu", "common": ["x"]},
        "experiments": [], "scores": scores, "peers": None, "baselines": None,
    }  # fmt: skip
    result["findings"] = reproduce.findings(result)
    text = reproduce.markdown(result)
    assert "| Single Task | 20.00 | 20.00 | 20.00 | 20.00 | 20.00 | 20.00 | 90.00 | 10.06 |" in text
    assert "| iFAN 3T Iter2 | 50.00 | 91.15 | 10.00 | 5.84 | 40.00 | 45.40 |" in text
    assert "| iFAN 3T Iter0 | - | - | - | - | - | - | - | 7.55 |" in text  # not run: no number
