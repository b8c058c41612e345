"""The built-in tasks' decoders, re-encoders and losses, in a model built from a real manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ifan.manifest import load_manifest
from ifan.network.model import build_model

FACES3 = Path(__file__).resolve().parents[2] / "examples" / "faces3.toml"


def faces3(*overrides: str):
    return load_manifest(FACES3, ["model.input_size=64", *overrides])


def batch_targets(model, batch: int = 2, size: int = 64) -> dict:
    torch.manual_seed(2)
    classes = len(model.tasks["parsing"].labels.names)
    mask = torch.randint(0, classes, (batch, size, size))
    mask[:, :4] = 255  # ignored pixels
    return {
        "parsing": {"mask": mask},
        "landmarks": {"points": torch.rand(batch, 5, 2)},
        "emotion": {"label": torch.tensor([3, 5])},
    }


@pytest.mark.parametrize("backbone", ["fc-densenet", "resnet18", "mobilenetv3_small_100"])
def test_three_built_in_tasks_train_at_two_iterations(backbone, images):
    model = build_model(faces3(f"model.backbone={backbone}"))
    assert model.task_names == ["parsing", "landmarks", "emotion"]
    assert model.iterations == 2
    assert model.taps == {"parsing": "up0", "landmarks": "down4", "emotion": "down5"}
    classes = len(model.tasks["parsing"].labels.names)
    goal = batch_targets(model)
    for task in model.task_names:
        model.zero_grad(set_to_none=True)
        outputs = model(images, task=task)
        assert len(outputs) == 3
        final = outputs[-1]
        assert final["parsing"].shape == (2, classes, 64, 64)
        assert final["landmarks"].shape == (2, 5, 2)
        assert ((final["landmarks"] > 0) & (final["landmarks"] < 1)).all()
        assert final["emotion"].shape == (2, 7)
        loss = model.loss(outputs, task, goal[task])
        assert torch.isfinite(loss) and loss > 0
        loss.backward()
        for name in model.task_names:  # every re-encoder and decoder learns from every task
            grads = [p.grad for p in model.reencoders[name].parameters() if p.grad is not None]
            assert grads and sum(float(g.abs().sum()) for g in grads) > 0, (task, name)
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_built_in_losses_compute_what_they_say():
    model = build_model(faces3("model.iterations=0"))
    parsing, landmarks, emotion = (model.tasks[n] for n in model.task_names)
    logits = torch.randn(1, 6, 4, 4)
    mask = torch.randint(0, 6, (1, 4, 4))
    mask[0, 0, 0] = 255
    keep = mask != 255
    expected = -logits.log_softmax(1).gather(1, mask.clamp(max=5)[:, None])[:, 0][keep].mean()
    assert torch.allclose(parsing.loss(logits, {"mask": mask}), expected)

    points = torch.zeros(1, 5, 2)
    truth = torch.zeros(1, 5, 2)
    truth[0, 0] = torch.tensor([0.3, 0.4])  # one point off by 0.5: mean squared distance 0.25 / 5
    assert torch.allclose(landmarks.loss(points, {"points": truth}), torch.tensor(0.05))

    logits = torch.tensor([[0.0, 0, 0, 10, 0, 0, 0]])
    assert emotion.loss(logits, {"label": torch.tensor([3])}) < 1e-3
    assert emotion.loss(logits, {"label": torch.tensor([0])}) > 9


def test_built_in_prediction_maps_for_the_resize_ablation():
    model = build_model(faces3("model.reencoder=resize"))
    assert model.reencoders is None
    parsing, landmarks, emotion = (model.tasks[n] for n in model.task_names)
    assert [f.in_channels for f in model.integrator.fusions] == [6 + 5 + 7] * 6

    logits = torch.randn(2, 6, 64, 64)
    maps = parsing.prediction_maps(logits, 8, 8)
    assert maps.shape == (2, 6, 8, 8)
    assert torch.allclose(maps.sum(1), torch.ones(2, 8, 8))  # probabilities per pixel

    probabilities = emotion.prediction_maps(torch.randn(2, 7), 4, 4)
    assert probabilities.shape == (2, 7, 4, 4)
    assert torch.allclose(probabilities[:, :, 0, 0], probabilities[:, :, 3, 2])

    points = torch.tensor([[[0.25, 0.25]] * 5])
    full = landmarks.prediction_maps(points, 128, 128)
    small = landmarks.prediction_maps(points, 8, 8)
    assert full.shape == (1, 5, 128, 128) and small.shape == (1, 5, 8, 8)
    assert full[0, 0, 32, 32] > 0.98  # a radius-5 disk at (32, 32)
    assert small[0, 0, 2, 2] > small[0, 0, 5, 5]  # the point's cell holds its mass
    assert abs(float(small.sum()) * 16 * 16 - float(full.sum())) < 1e-2


def test_landmark_reencoder_gradients_reach_the_coordinates():
    model = build_model(faces3())
    reencoder = model.reencoders["landmarks"]
    points = torch.rand(2, 5, 2, requires_grad=True)
    with model.norm.use("landmarks"):
        levels = reencoder(points)
    assert [tuple(level.shape) for level in levels] == [
        (2, 8, 64 // 2**i, 64 // 2**i) for i in range(6)
    ]
    sum(level.sum() for level in levels).backward()
    assert points.grad.abs().sum() > 0
