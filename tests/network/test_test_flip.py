"""Test-time flipping (``[model] test_flip``): each task maps a mirrored face's prediction back,
and the averaged prediction of a mirrored photo is the mirrored prediction of the photo."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ifan.contract import LabelSchema
from ifan.evaluation import evaluate_task
from ifan.manifest import load_manifest
from ifan.network.model import build_model
from ifan.network.test_flip import average, unflip_classes, unflip_maps, unflip_points

FACES3 = Path(__file__).resolve().parents[2] / "examples" / "faces3.toml"
EYES = LabelSchema(kind="points", names=("left_eye", "right_eye", "nose"))


def test_points_mirror_across_the_crop_and_swap_left_and_right():
    points = torch.tensor([[[0.25, 0.4], [0.7, 0.45], [0.5, 0.6]]])
    back = unflip_points(points, EYES)
    assert torch.allclose(back, torch.tensor([[[0.3, 0.45], [0.75, 0.4], [0.5, 0.6]]]))
    span = unflip_points(points * 2 - 1, EYES, span=(-1, 1))
    assert torch.allclose(span, back * 2 - 1)
    unnamed = LabelSchema(kind="points", names=("p0", "p1", "p2"))
    assert unflip_points(points, unnamed) is None  # which points swap is unknown: no guess


def test_maps_mirror_along_the_width_and_swap_classes():
    labels = LabelSchema(kind="segmentation", names=("background", "left_eye", "right_eye"))
    maps = torch.arange(2 * 3 * 1 * 2, dtype=torch.float).reshape(2, 3, 1, 2)
    back = unflip_maps(maps, labels)
    assert back[0, 0].tolist() == [[1.0, 0.0]]  # background: mirrored only
    assert back[0, 1].tolist() == maps[0, 2].flip(-1).tolist()  # left <- mirrored right
    assert back[1, 2].tolist() == maps[1, 1].flip(-1).tolist()
    assert unflip_maps(maps[:, :2], labels) is None  # not one score per class


def test_classes_swap_only_where_a_flip_swaps_them():
    pose = LabelSchema(kind="class", names=("frontal", "left", "right"))
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    assert unflip_classes(logits, pose).tolist() == [[1.0, 3.0, 2.0]]
    emotion = LabelSchema(kind="class", names=("angry", "happy"))
    assert unflip_classes(logits[:, :2], emotion).tolist() == [[1.0, 2.0]]


def test_average_keeps_the_structure_and_integer_parts():
    first = {"scores": torch.tensor([1.0, 3.0]), "index": torch.tensor([1, 2])}
    second = {"scores": torch.tensor([3.0, 5.0]), "index": torch.tensor([0, 0])}
    merged = average(first, second)
    assert merged["scores"].tolist() == [2.0, 4.0] and merged["index"].tolist() == [1, 2]
    with pytest.raises(TypeError, match="str"):
        average("a", "b")


@pytest.fixture(scope="module")
def flipping_model():
    torch.manual_seed(0)
    manifest = load_manifest(FACES3, ["model.input_size=64", "model.iterations=1"])
    plain = build_model(manifest).eval()
    flipped = load_manifest(
        FACES3, ["model.input_size=64", "model.iterations=1", "model.test_flip=true"]
    )
    model = build_model(flipped).eval()
    model.load_state_dict(plain.state_dict())
    return plain, model


def test_a_flipped_photo_gets_the_mirrored_prediction(flipping_model, images):
    """Averaging with the mirror image makes every task exactly mirror-symmetric, which a plain
    network is not (the two differ)."""
    plain, model = flipping_model
    mirrored = images.flip(-1)
    with torch.no_grad():
        ours, theirs = model.predict_all(images), model.predict_all(mirrored)
        alone, alone_mirrored = plain.predict_all(images), plain.predict_all(mirrored)
    for name, task in model.tasks.items():
        assert torch.allclose(task.unflip(theirs[name]), ours[name], atol=1e-5), name
        asymmetry = (task.unflip(alone_mirrored[name]) - alone[name]).abs().max()
        assert asymmetry > 1e-4, name
        expected = (alone[name] + task.unflip(alone_mirrored[name])) / 2
        assert torch.allclose(ours[name], expected, atol=1e-5), name
    assert model.backbone_passes() == 2 * plain.backbone_passes() == 12


def test_evaluation_scores_the_averaged_prediction(flipping_model, images):
    plain, model = flipping_model
    torch.manual_seed(3)
    points = torch.rand(2, 5, 2)
    target = {"points": points, "iod": torch.ones(2)}
    dataset = [(images[i], {"points": points[i], "iod": torch.tensor(1.0)}) for i in range(2)]
    with torch.no_grad():
        expected = model.tasks["landmarks"].new_metric()
        expected.update(model.predict_task(images, "landmarks"), target)
        unflipped = plain.tasks["landmarks"].new_metric()
        unflipped.update(plain.predict_task(images, "landmarks"), target)
    scored = evaluate_task(model, "landmarks", dataset, batch_size=2)[0].compute()
    assert scored["nme"] == pytest.approx(expected.compute()["nme"], rel=1e-5)
    assert scored["nme"] != pytest.approx(unflipped.compute()["nme"], rel=1e-3)
