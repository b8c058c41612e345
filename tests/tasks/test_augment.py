"""Joint augmentation: image, mask and points move together; a flip swaps left and right."""

from __future__ import annotations

import pytest
import torch

from ifan.contract import LabelSchema
from ifan.data.augment import AugmentOptions, JointAugment, infer_mirror, mirror_permutation
from ifan.errors import IfanError
from ifan_tasks.landmarks.task import LandmarksTask
from ifan_tasks.parsing.classes import HELEN_LABELS
from ifan_tasks.parsing.task import ParsingTask

S = 32
STILL = {"rotate": 0.0, "scale": 0.0, "crop": 0.0, "colour": 0.0}


def test_mirror_pairs_come_from_left_and_right_names():
    assert infer_mirror(["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"]) == (
        ("left_eye", "right_eye"),
        ("mouth_left", "mouth_right"),
    )
    assert infer_mirror(["l_brow", "r_brow", "skin"]) == (("l_brow", "r_brow"),)
    assert infer_mirror(["left_eye", "nose"]) == ()  # a left without its right stays put
    assert LabelSchema(kind="points", names=("p0", "p1")).mirror_pairs() is None
    assert LabelSchema(kind="segmentation", names=("a", "b")).mirror_pairs() == ()
    explicit = LabelSchema(kind="points", names=("p0", "p1"), mirror=(("p0", "p1"),))
    assert mirror_permutation(explicit.names, explicit.mirror_pairs()).tolist() == [1, 0]


def test_a_flip_swaps_points_and_mirrors_coordinates():
    points = torch.tensor([[0.25, 0.4], [0.75, 0.4], [0.5, 0.6], [0.3, 0.8], [0.7, 0.8]])
    swap = mirror_permutation(LandmarksTask.labels.names, LandmarksTask.labels.mirror_pairs())
    augment = JointAugment(AugmentOptions(flip=1.0, **STILL), S, swap)
    out = augment(torch.rand(3, S, S), points=points)
    # the left eye (index 0) is now the old right eye, mirrored: x -> 1 - x
    assert torch.allclose(out.points[0], torch.tensor([0.25, 0.4]), atol=1e-5)
    assert torch.allclose(out.points[3], torch.tensor([1 - 0.7, 0.8]), atol=1e-5)
    assert torch.allclose(out.points[2], torch.tensor([0.5, 0.6]), atol=1e-5)


def test_a_flip_swaps_left_and_right_classes_of_the_mask():
    names = HELEN_LABELS.names
    mask = torch.zeros(S, S, dtype=torch.int64)
    mask[10:14, 4:8] = names.index("left_eye")
    mask[0, 0] = 255
    image = torch.zeros(3, S, S)
    image[0, 10:14, 4:8] = 1.0
    swap = mirror_permutation(names, HELEN_LABELS.mirror_pairs())
    out = JointAugment(AugmentOptions(flip=1.0, **STILL), S, swap)(image, mask=mask)
    assert set(out.mask[10:14, S - 8 : S - 4].flatten().tolist()) == {names.index("right_eye")}
    assert int(out.mask[0, S - 1]) == 255  # ignore stays ignore
    assert torch.equal(out.image[0] > 0.5, out.mask == names.index("right_eye"))


def test_rotation_and_zoom_move_image_mask_and_points_together():
    torch.manual_seed(3)
    image = torch.zeros(3, S, S)
    mask = torch.zeros(S, S, dtype=torch.int64)
    image[:, 8:16, 16:24] = 1.0
    mask[8:16, 16:24] = 1
    centre = torch.tensor([[20.0 / S, 12.0 / S]])  # the square's centre, in [0, 1]
    options = AugmentOptions(flip=0.0, rotate=40.0, scale=0.2, crop=0.2, colour=0.0)
    augment = JointAugment(options, S, torch.arange(2))
    for _ in range(5):
        out = augment(image, mask=mask, points=centre)
        ys, xs = torch.nonzero(out.mask == 1, as_tuple=True)
        blob = torch.stack([xs.float().mean() + 0.5, ys.float().mean() + 0.5]) / S
        assert torch.allclose(out.points[0], blob, atol=1.5 / S)
        bright = out.image[0] > 0.5
        overlap = (bright & (out.mask == 1)).sum() / (bright | (out.mask == 1)).sum()
        assert overlap > 0.75
        assert set(out.mask.unique().tolist()) <= {0, 1, 255}


def test_landmark_augment_keeps_the_inter_ocular_distance_in_step():
    torch.manual_seed(0)
    task = LandmarksTask()
    points = torch.tensor([[0.3, 0.4], [0.7, 0.4], [0.5, 0.55], [0.35, 0.7], [0.65, 0.7]])
    target = {"points": points, "iod": torch.tensor(0.4)}
    augment = JointAugment(AugmentOptions(scale=0.3, rotate=30.0), S, torch.tensor([1, 0, 2, 4, 3]))
    _, out = task.augment(torch.rand(3, S, S), target, augment)
    assert torch.allclose(out["iod"], (out["points"][0] - out["points"][1]).norm(), atol=1e-4)


def test_parsing_augment_changes_the_mask_and_keeps_the_original():
    task = ParsingTask()
    target = {"mask": torch.ones(S, S, dtype=torch.int64), "original": torch.ones(5, 7)}
    swap = mirror_permutation(task.labels.names, task.labels.mirror_pairs())
    options = AugmentOptions(flip=0.0, rotate=45.0, scale=0.0, crop=0.0)
    torch.manual_seed(1)
    _, out = task.augment(torch.rand(3, S, S), target, JointAugment(options, S, swap))
    assert (out["mask"] == 255).any()  # corners rotated in are ignored, not background
    assert out["original"] is target["original"]


def test_augmentation_is_reproducible_from_the_torch_seed():
    augment = JointAugment(AugmentOptions(), S, torch.arange(3))
    image = torch.rand(3, S, S)
    torch.manual_seed(7)
    first = augment(image).image
    torch.manual_seed(7)
    assert torch.equal(first, augment(image).image)
    assert not torch.equal(first, augment(image).image)


def test_a_flip_without_known_pairs_is_refused():
    with pytest.raises(IfanError, match=r"mirror pairs, or set augment\.flip = 0"):
        JointAugment(AugmentOptions(flip=0.5), S, None)
    JointAugment(AugmentOptions(flip=0.0), S, None)  # no flips: nothing to know
