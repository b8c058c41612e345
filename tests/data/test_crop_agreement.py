"""The same face reaches the network at the same scale in training, in evaluation and in
prediction (the crop rule's promise; bench/crops.py measures it on the real datasets)."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
import torch

from ifan.data.splits import open_splits
from ifan.inference import Predictor
from ifan.manifest import load_manifest
from ifan.network.model import build_model
from ifan.plugins import load_registry
from ifan_tasks.synthetic.writer import write_datasets


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faces")
    counts = {task: {"train": 4, "val": 4, "test": 12} for task in ("parsing", "emotion")}
    counts["landmarks"] = {"train": 4, "val": 4, "test": 12}
    write_datasets(folder, seed=3, size=96, counts=counts)
    # Training and evaluation read the same file, so that both see the same faces.
    same = folder / "landmarks" / "test.csv"
    settings = ["model.input_size=64", "model.iterations=0", f"tasks.landmarks.data.train={same}"]
    return load_manifest(folder / "manifest.toml", settings)


def _photo(record) -> Path:
    return record.image


@pytest.mark.slow
def test_training_eval_and_predict_see_a_face_at_the_same_scale(manifest):
    config = manifest.tasks["landmarks"]
    task = config.build_task()
    room = manifest.train.room
    opened = open_splits(config, task, manifest, splits=("train", "test"), progress=False)
    train, test = opened.datasets["train"], opened.datasets["test"]
    assert opened.crops["test"].detected >= 10  # the detector finds these drawn faces
    reader = open_splits(config, task, manifest, ("test",), prepare=False).datasets["test"]
    predictor = Predictor(
        build_model(manifest).eval(),
        manifest,
        Path("untrained"),
        {},
        torch.device("cpu"),
        load_registry(),
    )
    scales = {"training": [], "eval": [], "predict": []}
    for index in range(len(test)):
        scales["eval"].append(float(test[index][1]["iod"]))
        scales["training"].append(float(train[index][1]["iod"]) * room)
        record = reader.records[index][0]
        points = torch.tensor(record.points)
        face = predictor.predict(_photo(record)).faces[0]
        scales["predict"].append(float((points[0] - points[1]).norm()) / face.crop.side)
    medians = {path: statistics.median(values) for path, values in scales.items()}
    assert max(medians.values()) / min(medians.values()) - 1 < 0.05, medians
    # and the points agree, not only their spread: the same crop in eval and prediction
    assert medians["eval"] == pytest.approx(medians["predict"], rel=1e-3)
