"""Batch augmentation: one affine map per sample for image, mask and points; seeded per sample."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ifan.data.augment import IGNORE, AugmentOptions, mirror_permutation
from ifan.data.batch_augment import BatchAugment
from ifan.errors import IfanError
from ifan_tasks.landmarks.task import LandmarksTask
from ifan_tasks.parsing.classes import HELEN_LABELS

S = 32
STILL = {"flip": 0.0, "rotate": 0.0, "scale": 0.0, "crop": 0.0, "colour": 0.0}
MOVING = {"flip": 0.5, "rotate": 30.0, "scale": 0.2, "crop": 0.08, "colour": 0.0}
LANDMARK_SWAP = mirror_permutation(LandmarksTask.labels.names, LandmarksTask.labels.mirror_pairs())
FACE = torch.tensor([[0.35, 0.4], [0.65, 0.4], [0.5, 0.52], [0.4, 0.65], [0.6, 0.65]])


def blobs(points: torch.Tensor, side: int, sigma: float = 1.5) -> torch.Tensor:
    """``B x K x side x side`` Gaussian blobs centred at ``points`` (``B x K x 2`` in [0, 1])."""
    centres = (torch.arange(side) + 0.5) / side
    dx = centres[None, None, None, :] - points[..., 0, None, None]
    dy = centres[None, None, :, None] - points[..., 1, None, None]
    return torch.exp(-(dx**2 + dy**2) * side**2 / (2 * sigma**2))


def centroid(weights: torch.Tensor) -> torch.Tensor:
    """(x, y) in [0, 1] of the weighted centroid of each ``... x H x W`` map."""
    side = weights.shape[-1]
    centres = (torch.arange(side) + 0.5) / side
    total = weights.sum((-1, -2))
    x = (weights.sum(-2) * centres).sum(-1) / total
    y = (weights.sum(-1) * centres).sum(-1) / total
    return torch.stack([x, y], -1)


def test_still_options_leave_the_crop_unchanged():
    images = torch.rand(3, 3, S, S)
    masks = torch.randint(0, 11, (3, S, S))
    masks[0, 0, 0] = IGNORE
    points = torch.rand(3, 5, 2)
    out = BatchAugment(AugmentOptions(**STILL), S, None).seeded(torch.arange(3))(
        images, masks, points
    )
    assert torch.allclose(out.image, images, atol=1e-6)
    assert out.mask.dtype == torch.int64 and torch.equal(out.mask, masks)
    assert torch.equal(out.points, points)
    assert torch.equal(out.scale, torch.ones(3))


def test_room_gives_the_central_window_resampled_to_the_output_side():
    # 40 px at room 1.25: the network's crop is the central 32 px, blown up to 64.
    images = torch.rand(2, 3, 40, 40)
    masks = torch.randint(0, 5, (2, 40, 40))
    points = torch.rand(2, 4, 2)
    augment = BatchAugment(AugmentOptions(**STILL), 64, None, room=1.25)
    out = augment.seeded(torch.tensor([5, 6]))(images, masks, points)
    centre = images[..., 4:36, 4:36]
    expected = F.interpolate(centre, size=64, mode="bilinear", align_corners=False)
    # the border pixels differ only because interpolate clamps where grid_sample sees the room
    assert torch.allclose(out.image[..., 1:-1, 1:-1], expected[..., 1:-1, 1:-1], atol=1e-5)
    assert not torch.allclose(out.image, expected, atol=1e-3)
    doubled = masks[:, 4:36, 4:36].repeat_interleave(2, 1).repeat_interleave(2, 2)
    assert torch.equal(out.mask, doubled)
    assert torch.allclose(out.points, (points - 0.1) / 0.8, atol=1e-6)
    # an input of 80 px at room 1.25 for a 64 px output: exactly pixels 8..71
    images = torch.rand(2, 3, 80, 80)
    out = augment.seeded(torch.tensor([5, 6]))(images)
    assert torch.allclose(out.image, images[..., 8:72, 8:72], atol=1e-5)


def test_disabled_augmentation_gives_the_central_window_whatever_the_options():
    images = torch.rand(2, 3, 40, 40)
    options = AugmentOptions(enabled=False, **{**MOVING, "flip": 1.0, "colour": 0.5})
    out = BatchAugment(options, 32, LANDMARK_SWAP, room=1.25).seeded(torch.tensor([1, 2]))(
        images, points=FACE.expand(2, -1, -1)
    )
    assert torch.allclose(out.image, images[..., 4:36, 4:36], atol=1e-5)
    assert torch.allclose(out.points, (FACE - 0.1) / 0.8, atol=1e-6)
    assert torch.equal(out.scale, torch.full((2,), 1.25))  # input units to output units


def test_a_flip_mirrors_the_image_and_swaps_the_landmarks():
    images = torch.rand(2, 3, S, S)
    augment = BatchAugment(AugmentOptions(**{**STILL, "flip": 1.0}), S, LANDMARK_SWAP)
    out = augment.seeded(torch.tensor([0, 1]))(images, points=FACE.expand(2, -1, -1))
    assert torch.allclose(out.image, images.flip(-1), atol=1e-6)
    # the left eye (index 0) is now the old right eye, mirrored: x -> 1 - x
    assert torch.allclose(out.points[:, 0], torch.tensor([1 - 0.65, 0.4]), atol=1e-6)
    assert torch.allclose(out.points[:, 3], torch.tensor([1 - 0.6, 0.65]), atol=1e-6)
    assert torch.allclose(out.points[:, 2], torch.tensor([0.5, 0.52]), atol=1e-6)


def test_a_flip_swaps_left_and_right_classes_of_the_mask():
    names = HELEN_LABELS.names
    mask = torch.zeros(1, S, S, dtype=torch.int64)
    mask[0, 10:14, 4:8] = names.index("left_eye")
    mask[0, 20:22, 2:6] = names.index("right_eyebrow")
    mask[0, 0, 0] = IGNORE
    swap = mirror_permutation(names, HELEN_LABELS.mirror_pairs())
    augment = BatchAugment(AugmentOptions(**{**STILL, "flip": 1.0}), S, swap)
    out = augment.seeded(torch.tensor([3]))(torch.rand(1, 3, S, S), mask)
    assert set(out.mask[0, 10:14, S - 8 : S - 4].flatten().tolist()) == {names.index("right_eye")}
    assert set(out.mask[0, 20:22, S - 6 : S - 2].flatten().tolist()) == {
        names.index("left_eyebrow")
    }
    assert int(out.mask[0, 0, S - 1]) == IGNORE  # ignore stays ignore
    assert int((out.mask == 0).sum()) == S * S - 16 - 8 - 1


def test_points_follow_the_image_under_rotation_zoom_shift_and_flip():
    batch, side = 12, 40
    generator = torch.Generator().manual_seed(0)
    points = 0.3 + 0.4 * torch.rand(batch, 1, 2, generator=generator)
    images = blobs(points, side).expand(-1, 3, -1, -1)
    options = AugmentOptions(**{**MOVING, "flip": 0.5})
    seeded = BatchAugment(options, S, torch.tensor([0]), room=1.25).seeded(torch.arange(batch))
    out = seeded(images, points=points)
    assert int((seeded.draws[:, 0] < 0.5).sum()) not in (0, batch)  # some flipped, some not
    assert not torch.allclose(out.scale, torch.ones(batch), atol=0.02)
    found = centroid(out.image[:, 0])
    assert torch.allclose(out.points[:, 0], found, atol=0.5 / S)
    # every sample moved its point somewhere else than the bare central window would
    still = (points[:, 0] - 0.1) / 0.8
    assert ((out.points[:, 0] - still).norm(dim=-1) > 1 / S).all()


def test_masks_and_swapped_landmarks_follow_each_other():
    batch, side = 8, 40
    points = FACE.expand(batch, -1, -1)
    # class k + 1 around landmark k; under a flip the classes swap as the landmarks do
    masks = torch.zeros(batch, side, side, dtype=torch.int64)
    for k, spot in enumerate(blobs(points, side, sigma=1.0).unbind(1)):
        masks[spot > 0.3] = k + 1
    swap = torch.cat([torch.tensor([0]), LANDMARK_SWAP + 1])
    images = (masks > 0).float()[:, None].expand(-1, 3, -1, -1)
    seeded = BatchAugment(AugmentOptions(**MOVING), S, swap, room=1.25).seeded(torch.arange(batch))
    out = seeded(images, masks)
    # points are swapped with the landmarks' own permutation, masks with the class one
    out_points = BatchAugment(AugmentOptions(**MOVING), S, LANDMARK_SWAP, room=1.25).seeded(
        torch.arange(batch)
    )(images, points=points)
    assert int((seeded.draws[:, 0] < 0.5).sum()) not in (0, batch)
    for k in range(5):
        found = centroid((out.mask == k + 1).float())
        assert torch.allclose(out_points.points[:, k], found, atol=1.0 / S)
    bright = out.image[:, 0] > 0.5
    labelled = (out.mask > 0) & (out.mask != IGNORE)
    assert (bright & labelled).sum() / (bright | labelled).sum() > 0.8
    assert set(out.mask.unique().tolist()) <= {0, 1, 2, 3, 4, 5, IGNORE}


def test_areas_from_outside_the_input_are_ignored_and_black():
    options = AugmentOptions(**{**STILL, "rotate": 45.0})
    masks = torch.zeros(16, S, S, dtype=torch.int64)
    out = BatchAugment(options, S, None).seeded(torch.arange(16))(torch.ones(16, 3, S, S), masks)
    corners = out.mask[:, 0, 0] == IGNORE
    assert corners.sum() > 8
    assert (out.image[:, :, 0, 0][corners] < 0.5).all()
    assert set(out.mask.unique().tolist()) == {0, IGNORE}


def test_a_sample_is_augmented_alike_in_any_batch_and_position():
    images = torch.rand(4, 3, 40, 40)
    masks = torch.randint(0, 6, (4, 40, 40))
    points = torch.rand(4, 5, 2)
    augment = BatchAugment(AugmentOptions(colour=0.3), S, LANDMARK_SWAP, room=1.25)
    first = augment.seeded(torch.tensor([10, 11, 12, 13]))(images, masks, points)
    order = torch.tensor([2, 0])
    second = augment.seeded(torch.tensor([12, 10]))(images[order], masks[order], points[order])
    for name in ("image", "mask", "points", "scale"):
        assert torch.equal(getattr(second, name), getattr(first, name)[order]), name
    one = augment.seeded(torch.tensor([99, 11, 98])).sample(1)(images[1], masks[1], points[1])
    assert torch.equal(one.image, first.image[1])
    assert torch.equal(one.mask, first.mask[1])
    assert torch.equal(one.points, first.points[1])
    assert one.scale.shape == () and float(one.scale) == float(first.scale[1])


def test_different_seeds_give_different_augmentations():
    images = torch.rand(1, 3, S, S).expand(6, -1, -1, -1)
    out = BatchAugment(AugmentOptions(), S, LANDMARK_SWAP).seeded(torch.arange(6))(images)
    for i in range(1, 6):
        assert (out.image[i] - out.image[0]).abs().mean() > 0.01
    assert len(set(out.scale.tolist())) == 6


def test_the_global_generator_is_left_alone():
    state = torch.get_rng_state()
    augment = BatchAugment(AugmentOptions(colour=0.3), S, LANDMARK_SWAP)
    augment.seeded(torch.arange(4))(torch.zeros(4, 3, S, S), points=torch.zeros(4, 5, 2))
    assert torch.equal(torch.get_rng_state(), state)


def test_uint8_images_are_taken_as_float_over_255():
    images = torch.randint(0, 256, (3, 3, 40, 40), dtype=torch.uint8)
    seeded = BatchAugment(AugmentOptions(colour=0.4), S, LANDMARK_SWAP, room=1.25).seeded(
        torch.tensor([4, 5, 6])
    )
    from_bytes = seeded(images).image
    assert from_bytes.dtype == torch.float32
    assert torch.allclose(from_bytes, seeded(images.float() / 255).image, atol=1e-6)
    assert from_bytes.min() >= 0 and from_bytes.max() <= 1


def test_colour_jitter_changes_colours_within_bounds_and_keeps_grey_grey():
    grey = torch.full((8, 3, S, S), 0.5)
    options = AugmentOptions(**{**STILL, "colour": 0.5})
    out = BatchAugment(options, S, None).seeded(torch.arange(8))(grey)
    # saturation and hue leave a grey image grey; brightness moves it
    assert torch.allclose(out.image, out.image[:, :1].expand_as(out.image), atol=1e-5)
    values = out.image[:, 0, 0, 0]
    assert (values >= 0.25 - 1e-6).all() and (values <= 0.75 + 1e-6).all()
    assert values.std() > 0.02
    colourful = torch.rand(8, 3, S, S)
    jittered = BatchAugment(options, S, None).seeded(torch.arange(8))(colourful).image
    assert (jittered - colourful).abs().mean() > 0.02
    assert jittered.min() >= 0 and jittered.max() <= 1


def test_scale_is_the_drawn_zoom_times_the_room():
    options = AugmentOptions(**{**STILL, "scale": 0.3})
    seeded = BatchAugment(options, S, None, room=1.25).seeded(torch.arange(8))
    out = seeded(torch.zeros(8, 3, 40, 40), points=FACE.expand(8, -1, -1))
    zoom = 1 + (2 * seeded.draws[:, 2] - 1) * 0.3
    assert torch.allclose(out.scale, 1.25 * zoom.float(), atol=1e-6)
    assert out.scale.min() < 0.95 * 1.25 and out.scale.max() > 1.05 * 1.25
    # distances in the input's units grow by ``scale`` into the output's
    before = (FACE[0] - FACE[1]).norm()
    after = (out.points[:, 0] - out.points[:, 1]).norm(dim=-1)
    assert torch.allclose(after / before, out.scale, atol=1e-5)


def test_a_flip_without_known_pairs_is_refused():
    with pytest.raises(IfanError, match=r"mirror pairs, or set augment\.flip = 0"):
        BatchAugment(AugmentOptions(flip=0.5), S, None)
    BatchAugment(AugmentOptions(flip=0.0), S, None)  # no flips: nothing to know
