"""The age task's modules on random tensors: shapes, the loss falling, JSON and overlay."""

from __future__ import annotations

import json

import pytest
import torch
from ifan.contract import BuildContext, FeatureSpec
from ifan.contract_checks import task_problems
from ifan.network.task_batchnorm import FlexBatchNorm
from PIL import Image
from pydantic import ValidationError

from ifan_task_age.bins import expected_age
from ifan_task_age.task import AgeOptions, AgeTask

CTX = BuildContext(input_size=64, norm=FlexBatchNorm)
TAP = FeatureSpec(32, 2, 2)


def test_age_task_conforms() -> None:
    assert task_problems(AgeTask) == []


def test_options_are_checked() -> None:
    with pytest.raises(ValidationError, match="bins"):
        AgeOptions(bins=1)
    with pytest.raises(ValidationError, match="extra"):
        AgeOptions.model_validate({"max_ages": 90})


def test_decoder_reencoder_and_maps_shapes() -> None:
    task = AgeTask(AgeOptions(bins=21, max_age=100, hidden=16))
    logits = task.build_decoder(TAP, CTX)(torch.randn(4, TAP.channels, TAP.height, TAP.width))
    assert logits.shape == (4, 21)
    levels = [FeatureSpec(8, 8, 8), FeatureSpec(6, 4, 4)]
    outputs = task.build_reencoder(levels, CTX)(logits)
    assert [tuple(o.shape) for o in outputs] == [(4, 8, 8, 8), (4, 6, 4, 4)]
    maps = task.prediction_maps(logits, 5, 3)
    assert maps.shape == (4, task.prediction_channels, 5, 3) == (4, 21, 5, 3)
    assert torch.allclose(maps.sum(1), torch.ones(4, 5, 3))


def test_loss_falls_on_a_small_batch() -> None:
    torch.manual_seed(0)
    task = AgeTask(AgeOptions(hidden=32))
    decoder = task.build_decoder(TAP, CTX)
    features = torch.randn(8, TAP.channels, TAP.height, TAP.width)
    target = {"age": torch.tensor([2.0, 9, 18, 25, 33, 47, 60, 85])}
    optimizer = torch.optim.Adam(decoder.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        loss = task.loss(decoder(features), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    decoder.eval()
    with torch.no_grad():
        ages = expected_age(decoder(features), task.centres)
    assert (ages - target["age"]).abs().mean() < 5


def test_loss_terms() -> None:
    task = AgeTask(AgeOptions(ce_weight=0))
    logits = torch.full((2, len(task.centres)), -1e4)
    logits[:, 30] = 0.0  # both predict 30 years
    target = {"age": torch.tensor([20.0, 50.0])}
    assert float(task.loss(logits, target)) == pytest.approx(1.5)  # 15 years = 1.5 decades
    with_ce = AgeTask(AgeOptions(ce_weight=0.1)).loss(logits, target)
    assert float(with_ce) > 1.5 and torch.isfinite(with_ce)


def test_json_is_the_expected_age_and_top_bins() -> None:
    task = AgeTask(AgeOptions(bins=11, max_age=100))
    logits = torch.full((11,), -1e4)
    logits[[3, 4]] = torch.tensor([0.0, torch.log(torch.tensor(3.0))])  # 25 % at 30, 75 % at 40
    data = task.to_json(logits)
    json.dumps(data)
    assert data["age"] == pytest.approx(37.5)
    assert [b["age"] for b in data["top_bins"]][:2] == [40.0, 30.0]
    assert data["top_bins"][0]["probability"] == pytest.approx(0.75)
    assert len(data["top_bins"]) == 3


def test_overlay_writes_on_the_face_at_its_size() -> None:
    task = AgeTask()
    face = Image.new("RGB", (64, 48), (120, 120, 120))
    logits = torch.zeros(len(task.centres))
    plain = task.draw_overlay(face, logits)
    with_truth = task.draw_overlay(face, logits, {"age": torch.tensor(31.0)})
    assert plain.size == with_truth.size == face.size and plain.mode == "RGB"
    assert plain.tobytes() != face.tobytes() and with_truth.tobytes() != plain.tobytes()
    assert face.getpixel((2, 2)) == (120, 120, 120)  # the input is not drawn on


def test_test_flip_averages_a_face_and_its_mirror() -> None:
    """Age does not change in a mirror: ``[model] test_flip`` averages the two predictions' bin
    logits (the core's default would keep the plain prediction alone for a value task)."""
    from ifan.network.test_flip import merge_flipped

    task = AgeTask()
    plain, mirrored = torch.randn(2, task.outputs), torch.randn(2, task.outputs)
    assert torch.equal(task.unflip(mirrored), mirrored)
    assert torch.allclose(merge_flipped(plain, mirrored, task), (plain + mirrored) / 2)
