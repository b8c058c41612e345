"""The installed ``faces3`` model: found by name, small, and predicting every task on a photo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import ifan
import numpy as np
import pytest
from ifan.plugins import load_registry
from ifan.pretrained import installed_models
from ifan.runs.checkpoint import load_checkpoint
from PIL import Image

from ifan_model_faces3 import CARD, WEIGHTS


def _ifan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ifan", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A drawn face in a larger photo (no real photo ships with the tests)."""
    from ifan_tasks.synthetic.real_layout import drawn_photo

    path = tmp_path_factory.mktemp("photo") / "face.jpg"
    drawn_photo().save(path)
    return path


def test_the_model_is_installed_with_its_files():
    entry = installed_models(load_registry())["faces3"]
    assert entry.distribution == "ifan-model-faces3"
    assert entry.model.weights == WEIGHTS and entry.model.card == CARD
    assert WEIGHTS.stat().st_size < 6e6  # a few MB, as the project allows
    checkpoint = load_checkpoint(WEIGHTS)
    assert checkpoint.optimizer is None
    manifest = checkpoint.meta["manifest"]
    assert list(manifest["tasks"]) == ["parsing", "landmarks", "emotion"]
    assert manifest["model"]["test_flip"] is True  # its numbers were measured with the flip
    assert "research" in CARD.read_text().lower()


def test_ifan_models_lists_it():
    done = _ifan("models", "--json")
    assert done.returncode == 0, done.stderr
    (row,) = [r for r in json.loads(done.stdout) if r["name"] == "faces3"]
    assert row["tasks"] == "parsing, landmarks, emotion" and row["input"] == "96"


def test_it_predicts_every_task_by_name(photo):
    prediction = ifan.load("faces3", device="cpu").predict(photo)
    assert len(prediction.faces) >= 1
    face = prediction.faces[0].to_json()
    box = face["box"]
    points = np.array(list(face["tasks"]["landmarks"]["points"].values()))
    assert points.shape == (5, 2)
    margin = (box[2] - box[0]) * 0.5  # the points lie on or near the face found
    assert (points[:, 0] > box[0] - margin).all() and (points[:, 0] < box[2] + margin).all()
    assert (points[:, 1] > box[1] - margin).all() and (points[:, 1] < box[3] + margin).all()
    emotion = face["tasks"]["emotion"]
    assert abs(sum(emotion["probabilities"].values()) - 1) < 1e-4
    assert emotion["label"] in emotion["probabilities"]
    fractions = face["tasks"]["parsing"]["fractions"]
    assert abs(sum(fractions.values()) - 1) < 1e-4 and fractions["skin"] > 0


def test_ifan_predict_takes_the_name(photo, tmp_path):
    done = _ifan("predict", "faces3", str(photo), "--out", str(tmp_path), "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "face.json").is_file() and (tmp_path / "face.png").is_file()
    with Image.open(tmp_path / "face.png") as overlay:
        assert overlay.width > 0
