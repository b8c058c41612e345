"""Each built-in task learns: its loss falls on a small batch read by its real reader.

The batch is synthetic faces written in each task's native format (mask-folder, landmark CSV,
class folders) and read back through the manifest, so reader, targets, decoder and loss are the
ones training uses.
"""

from __future__ import annotations

import pytest
import torch

from ifan.data.splits import as_float, open_splits
from ifan.manifest import load_manifest
from ifan.network.model import build_model
from ifan_tasks.synthetic.writer import write_datasets

COUNTS = {task: {"train": 8, "val": 1, "test": 1} for task in ("parsing", "landmarks", "emotion")}


HEATMAP = [
    "tasks.landmarks.decoder=heatmap",
    "tasks.landmarks.tap=up2",
    "tasks.landmarks.hidden=16",
]


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    out = tmp_path_factory.mktemp("faces")
    write_datasets(out, seed=0, size=32, counts=COUNTS)
    return out / "manifest.toml"


def build(path, overrides=()):
    manifest = load_manifest(path, ["model.iterations=0", *overrides])
    torch.manual_seed(0)
    return manifest, build_model(manifest)


@pytest.fixture(scope="module")
def setup(faces):
    return build(faces)


@pytest.mark.parametrize(
    "name", [pytest.param("parsing", marks=pytest.mark.slow), "landmarks", "emotion"]
)
def test_the_loss_falls_on_a_small_batch(setup, name):
    assert_loss_falls(*setup, name)


def test_the_heatmap_landmark_decoder_learns(faces):
    manifest, model = build(faces, HEATMAP)
    assert type(model.decoders["landmarks"]).__name__ == "SoftArgmaxPoints"
    assert_loss_falls(manifest, model, "landmarks")


def assert_loss_falls(manifest, model, name):
    config = manifest.tasks[name]
    task = model.tasks[name]
    data = open_splits(config, task, manifest, ("train",), augment=False)
    train = data.datasets["train"]
    images, target = task.collate([train[i] for i in range(len(train))])
    images = as_float(images)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(25):
        optimizer.zero_grad()
        loss = model.loss(model(images, task=name, iterations=0), name, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses
