"""The conformance checks that depend on the kind of label: class indices and masks inside the
label schema at the reader, augmentation that moves a target's geometry with its image, and
``to_json`` that maps points and masks back onto the photo's pixels."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from ifan.contract import GEOMETRIC_KINDS, LabelSchema, Task, moves_geometry
from ifan.data.augment import IGNORE, AugmentOptions, mirror_permutation
from ifan.data.batch_augment import BatchAugment, SeededAugment
from ifan.data.images import Box, letterbox
from ifan.testing.setup import BATCH, MakeFixture, Setup, calling, open_setup, require

SEEDS = torch.tensor([1, 2])
PHOTO = (100, 60)
"""The photo ``to_json``'s pixels are checked on: wider than high, as photos are."""
CROPS = (Box(13, -7, 48), Box(40, 10, 30))
"""Two crops of it, neither the letterboxed photo, as ``ifan predict`` finds faces."""
PIXEL_TOLERANCE = 1.0
"""Pixels a point of ``to_json`` may be off (rounding) in the photo of :data:`PHOTO`."""
PlacedJson = Callable[..., dict[str, Any]]
"""A points or mask task's ``to_json``, which takes ``size=`` and ``box=`` beside the prediction
(:meth:`ifan.contract.Task.to_json`); :func:`check_photo_json` checks that its signature does."""


def _entries(target: Any, prefix: str = "target") -> Iterator[tuple[str, Any]]:
    """``(name, value)`` of every part of a sample's or batch's target (``target['points']``)."""
    if isinstance(target, Mapping):
        for key, value in target.items():
            yield from _entries(value, f"{prefix}[{key!r}]")
    elif isinstance(target, (list, tuple)):
        for index, value in enumerate(target):
            yield from _entries(value, f"{prefix}[{index}]")
    else:
        yield prefix, target


def _class_labels(target: Any) -> list[tuple[str, torch.Tensor]]:
    """The class indices of a class task's sample: ``target['label']``, else every integer
    number in it."""
    if isinstance(target, Mapping) and "label" in target:
        return [("target['label']", torch.as_tensor(target["label"]))]
    return [
        (name, value)
        for name, value in _entries(target)
        if isinstance(value, torch.Tensor) and value.ndim == 0 and not value.is_floating_point()
    ]


def check_labels_in_range(labels: LabelSchema, target: Any, where: str) -> None:
    """A sample's target agrees with the label schema: class indices from 0 to C - 1, mask values
    class indices or 255 (ignore), and as many points as the schema names."""
    count = len(labels.names)
    classes = f"0 to {count - 1}: {', '.join(labels.names)}"
    if labels.kind == "class":
        for name, value in _class_labels(target):
            index = int(value)
            require(
                0 <= index < count,
                f"{where}: {name} = {index} is not a class index of the label schema ({classes})"
                ": class indices start at 0 in the order of labels.names; map the dataset's "
                "codes to them in the reader (MTFL codes its attributes 1 and 2: indices 0 "
                "and 1)",
            )
    for name, value in _entries(target):
        if not isinstance(value, torch.Tensor):
            continue
        if labels.kind == "segmentation" and value.ndim == 2 and not value.is_floating_point():
            outside = value[(value < 0) | ((value >= count) & (value != IGNORE))].tolist()
            require(
                not outside,
                f"{where}: {name} holds {outside[0] if outside else None}, which is neither a "
                "class index of the "
                f"label schema ({classes}) nor {IGNORE} (ignore)",
            )
        if labels.kind == "points" and value.ndim == 2 and value.shape[-1] == 2:
            require(
                value.shape[0] == count,
                f"{where}: {name} has {value.shape[0]} points but the label schema names {count} "
                f"({', '.join(labels.names)})",
            )


def _augmentation(labels: LabelSchema, size: int) -> SeededAugment:
    """A flip (when the labels say what it swaps), a turn, a zoom and a shift, the same for every
    run of the check; no colour change, so that images compare exactly."""
    pairs = labels.mirror_pairs()
    swap = None if pairs is None else mirror_permutation(labels.names, pairs)
    options = AugmentOptions(flip=0.0 if swap is None else 1.0, rotate=20.0, scale=0.15, crop=0.1)
    return BatchAugment(options.model_copy(update={"colour": 0.0}), size, swap).seeded(SEEDS)


def _moved(value: torch.Tensor, images: torch.Tensor, augment: SeededAugment) -> Any:
    """What the augmentation makes of a part of a batch's target, or None when it has no place:
    points ``B x K x 2`` (floats) or a mask ``B x S x S`` (integers)."""
    if value.ndim == 3 and value.shape[0] == BATCH:
        if value.is_floating_point() and value.shape[-1] == 2:
            return augment(images, points=value).points
        if not value.is_floating_point() and value.shape[1:] == images.shape[2:]:
            return augment(images, masks=value).mask
    return None


def check_augment(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    """``augment_batch`` returns the augmented images and moves the target's points and masks
    (and swaps a flipped class) as the augmentation moves the image."""
    setup = open_setup(task, make_fixture, tmp_path, min(sizes))
    cls = type(setup.task).__name__
    labels = setup.task.labels
    require(
        moves_geometry(setup.task),
        f"{cls} does not override Task.augment_batch, whose default moves the images alone, but "
        f"its labels are {labels.kind}: augmentation (on by default) would train it on flipped, "
        f"turned and zoomed faces with labels left in place. Implement {cls}.augment_batch: "
        "out = augment(images, points=...) or augment(images, masks=...), then return "
        "out.image and the target with out.points or out.mask",
    )
    images, target = setup.batch()
    augment = _augmentation(labels, setup.size)
    with calling(f"{cls}.augment_batch(images, target, augment)"):
        out_images, out_target = setup.task.augment_batch(images.clone(), target, augment)
    expected = augment(images).image
    require(
        isinstance(out_images, torch.Tensor) and tuple(out_images.shape) == tuple(expected.shape),
        f"{cls}.augment_batch returned images of shape "
        f"{tuple(getattr(out_images, 'shape', ()))}; expected {tuple(expected.shape)}, what "
        "augment(images, ...).image gives",
    )
    require(
        torch.allclose(out_images, expected, atol=1e-5),
        f"{cls}.augment_batch returned other images than augment(images, ...).image: return the "
        "images the augmentation made",
    )
    _require_moved(setup, images, target, out_target, augment)


def _require_moved(
    setup: Setup, images: torch.Tensor, target: Any, out: Any, augment: SeededAugment
) -> None:
    """The returned target ``out`` holds what the augmentation makes of ``target``'s label (when
    a flip swaps classes), points and masks."""
    cls = type(setup.task).__name__
    labels = setup.task.labels
    before = dict(_entries(target))
    after = dict(_entries(out))
    label = "target['label']"
    if labels.kind == "class" and labels.mirror_pairs() and label in before:
        swapped = augment(images, classes=before[label]).classes
        assert swapped is not None  # the augmentation returns the classes it is given
        got = after.get(label)
        require(
            isinstance(got, torch.Tensor) and torch.equal(got, swapped),
            f"{cls}.augment_batch: a flip swaps the classes of {labels.mirror_pairs()}, but "
            f"{label} was not swapped: return augment(images, classes={label}).classes in the "
            "target",
        )
    if labels.kind not in GEOMETRIC_KINDS:
        return
    moves = (
        "flipped, turned and zoomed" if augment.augment.swap is not None else "turned and zoomed"
    )
    placed = False
    for name, value in before.items():
        if not isinstance(value, torch.Tensor) or (moved := _moved(value, images, augment)) is None:
            continue
        placed = True
        got = after.get(name)
        same = (
            isinstance(got, torch.Tensor)
            and got.shape == moved.shape
            and torch.allclose(got.float(), moved.float(), atol=1e-4)
        )
        require(
            same,
            f"{cls}.augment_batch left {name} behind while the images were {moves}: pass it to "
            "the augmentation (augment(images, "
            f"{'points' if value.is_floating_point() else 'masks'}={name})) and return what it "
            "gives (.points or .mask) in the target",
        )
    if not placed:
        unchanged = all(
            isinstance(v, torch.Tensor)
            and isinstance(after.get(k), torch.Tensor)
            and after[k].shape == v.shape
            and torch.equal(after[k], v)
            for k, v in before.items()
        )
        require(
            not unchanged,
            f"{cls}.augment_batch returned the {labels.kind} target unchanged while the images "
            f"were {moves}: move its geometry with augment(images, points=..., masks=...)",
        )


def check_photo_json(setup: Setup, one: Any) -> None:
    """Points and masks of ``to_json(prediction, size=, box=)`` are where the crop ``box`` puts
    them on the photo of ``size``, as ``ifan predict`` calls it."""
    kind = setup.task.labels.kind
    if kind not in GEOMETRIC_KINDS:
        return
    cls = type(setup.task).__name__
    to_json: PlacedJson = setup.task.to_json
    parameters = inspect.signature(to_json).parameters
    require(
        "size" in parameters and "box" in parameters,
        f"{cls}.to_json takes no size= and box=, so ifan predict can only give {kind} in the "
        "crop's units: define to_json(self, prediction, size=None, box=None) and return them in "
        "the pixels of the photo of size = (width, height) whose face crop is box (ifan.api's "
        f"{'points_json' if kind == 'points' else 'mask_json'} does it)",
    )
    if kind == "points":
        _check_photo_points(setup, to_json, one, cls)
    else:
        _check_photo_mask(to_json, one, cls)


def _pairs(data: Any, path: str = "") -> dict[str, tuple[float, float]]:
    """Every ``[x, y]`` pair of numbers in JSON data, by its path."""
    if isinstance(data, Mapping):
        children = [(f"{path}.{key}", value) for key, value in data.items()]
    elif isinstance(data, list):
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data)
        if len(data) == 2 and numbers:
            return {path or ".": (float(data[0]), float(data[1]))}
        children = [(f"{path}[{i}]", value) for i, value in enumerate(data)]
    else:
        return {}
    return {p: v for child, value in children for p, v in _pairs(value, child).items()}


def _check_photo_points(setup: Setup, to_json: PlacedJson, one: Any, cls: str) -> None:
    with calling(f"{cls}.to_json(prediction)"):
        crop = _pairs(to_json(one))
    require(
        len(crop) >= len(setup.task.labels.names),
        f"{cls}.to_json(prediction) holds {len(crop)} [x, y] pairs for the "
        f"{len(setup.task.labels.names)} points of the label schema: give each point as [x, y]",
    )
    for box in (*CROPS, None):
        call = f"{cls}.to_json(prediction, size={PHOTO}, box={box})"
        with calling(call):
            pixels = _pairs(to_json(one, size=PHOTO, box=box))
        crop_box = box or letterbox(*PHOTO)
        for path, (x, y) in crop.items():
            want = crop_box.from_crop(torch.tensor([[x, y]], dtype=torch.float64))[0].tolist()
            got = pixels.get(path)
            require(
                got is not None and math.dist(got, want) <= PIXEL_TOLERANCE,
                f"{call}: the point at {path} is {got}, but the crop's ({x:.4g}, {y:.4g}) is at "
                f"({want[0]:.1f}, {want[1]:.1f}) in the photo: map crop coordinates to the "
                "photo's pixels with box.from_crop (box = letterbox(*size) when None)",
            )


def _check_photo_mask(to_json: PlacedJson, one: Any, cls: str) -> None:
    if isinstance(one, torch.Tensor) and one.ndim == 3 and one.shape[0] >= 2:
        one = torch.zeros_like(one)
        one[1] = 10.0  # class 1 wherever the crop is, class 0 outside it
    outputs = []
    for box in CROPS:
        with calling(f"{cls}.to_json(prediction, size={PHOTO}, box={box})"):
            outputs.append(to_json(one, size=PHOTO, box=box))
    require(
        outputs[0] != outputs[1],
        f"{cls}.to_json(prediction, size={PHOTO}, box=...) gives the same for the crops "
        f"{CROPS[0]} and {CROPS[1]}: place the mask in the photo where the box says "
        "(ifan.data.images.uncrop)",
    )
