"""The built-in tasks pass the conformance suite of ``ifan.testing``, and the suite can fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ifan.contract import Task
from ifan.testing import Check, Fixture, check_task, task_checks
from ifan_tasks.emotion.formats import FolderFormat
from ifan_tasks.emotion.task import EmotionTask
from ifan_tasks.landmarks.task import MTFL_POINTS, LandmarksTask
from ifan_tasks.parsing.formats import MaskFolderFormat
from ifan_tasks.parsing.task import ParsingTask


def mask_folder(folder: Path) -> Fixture:
    """Two photos of different shapes with index masks of three classes."""
    for name, (height, width) in {"a": (20, 16), "b": (12, 24)}.items():
        classes = np.zeros((height, width), dtype=np.uint8)
        classes[height // 4 :, : width // 2] = 1
        classes[: height // 4] = 2
        classes[0, 0] = 255  # ignored
        for part, array in (("images", np.stack([classes * 60] * 3, -1)), ("masks", classes)):
            (folder / part).mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(folder / part / f"{name}.png")
    return Fixture("mask-folder", folder, {"classes": ["background", "skin", "hair"]})


def landmark_csv(folder: Path) -> Fixture:
    """Two faces with the five MTFL points as CSV lines."""
    Image.new("RGB", (40, 30), (90, 90, 90)).save(folder / "a.png")
    Image.new("RGB", (30, 40), (150, 90, 40)).save(folder / "b.png")
    lines = ["a.png,12,10,28,10,20,16,14,22,26,22", "b.png,8,14,22,14,15,22,10,30,20,30"]
    (folder / "points.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = {"points": 5, "names": list(MTFL_POINTS), "eyes": [[0], [1]]}
    return Fixture("csv", folder / "points.csv", options)


def emotion_folder(folder: Path) -> Fixture:
    """One grey face in each of two class folders."""
    for value, label in ((60, "calm"), (200, "joy")):
        (folder / label).mkdir(parents=True)
        Image.new("L", (24, 24), value).save(folder / label / "face.png")
    return Fixture("folder", folder, {"classes": ["calm", "joy"]})


BUILT_IN = [
    *task_checks(ParsingTask, mask_folder),
    *task_checks(LandmarksTask, landmark_csv),
    *task_checks(EmotionTask, emotion_folder),
]


@pytest.mark.parametrize("check", BUILT_IN, ids=str)
def test_built_in_tasks_conform(check: Check, tmp_path: Path) -> None:
    check(tmp_path)


def test_every_check_is_named_after_task_and_part() -> None:
    names = [str(check) for check in task_checks(EmotionTask, emotion_folder)]
    parts = [
        "contract",
        "options",
        "reader",
        "augment",
        "shapes",
        "loss",
        "metric",
        "json",
        "overlay",
    ]
    assert names == [f"emotion-{part}" for part in parts]
    with pytest.raises(ValueError, match="multiples of 32"):
        task_checks(EmotionTask, emotion_folder, sizes=(48,))


class NanLoss(EmotionTask):
    def loss(self, prediction, target):
        return super().loss(prediction, target) * float("nan")


class TensorJson(EmotionTask):
    def to_json(self, prediction):
        return {"logits": prediction}


class SmoothedMetric(EmotionTask):
    """Adds a prior of one to every count in each update: a state that does not add up."""

    def new_metric(self):
        metric = super().new_metric()
        update = metric.update

        def smoothing(prediction, target):
            update(prediction, target)
            metric.state = {k: v + 1 for k, v in metric.state.items()}

        metric.update = smoothing
        return metric


class WordDirection(EmotionTask):
    """Says which way its metric is better with a word, not True or False."""

    def new_metric(self):
        metric = super().new_metric()
        metric.higher_is_better = "lower"
        return metric


class ShortReencoder(EmotionTask):
    def build_reencoder(self, levels, ctx):
        return super().build_reencoder(levels[:-1], ctx)


class ZeroFeedback(torch.nn.Module):
    def __init__(self, levels):
        super().__init__()
        self.levels = levels

    def forward(self, prediction):
        return [
            prediction.new_zeros(len(prediction), x.channels, x.height, x.width)
            for x in self.levels
        ]


class FixedReencoder(EmotionTask):
    def build_reencoder(self, levels, ctx):
        return ZeroFeedback(levels)


class DrawsOnInput(EmotionTask):
    def draw_overlay(self, image, prediction, target=None):
        image.putpixel((0, 0), (255, 0, 0))
        return image


class UnknownKeysOptions(EmotionTask):
    Options = type("LaxOptions", (EmotionTask.Options,), {"model_config": {"extra": "allow"}})


class Unscaled(FolderFormat):
    """Images in [0, 255] instead of [0, 1]."""

    def open(self, path, split, options, ctx):
        dataset = super().open(path, split, options, ctx)
        return [(dataset[i][0] * 255, dataset[i][1]) for i in range(len(dataset))]


class StrayImages(EmotionTask):
    formats = (Unscaled(),)


class DetachedLoss(EmotionTask):
    def loss(self, prediction, target):
        return super().loss(prediction.detach(), target)


BROKEN = [
    (NanLoss, "loss", r"loss at iteration 0 is not finite"),
    (DetachedLoss, "loss", r"does not depend on the prediction"),
    (TensorJson, "json", r"to_json\(prediction\) is not JSON-serialisable .*Tensor"),
    (SmoothedMetric, "metric", r"state\['\w+'\] is not additive"),
    (WordDirection, "metric", r"higher_is_better = 'lower': expected True or False"),
    (ShortReencoder, "shapes", r"the re-encoder returned .*one map per feedback level"),
    (FixedReencoder, "loss", r"the re-encoder has no parameters"),
    (DrawsOnInput, "overlay", r"drew on the image it was given"),
    (UnknownKeysOptions, "options", r"UnknownKeysOptions.Options accepts unknown keys"),
    (StrayImages, "reader", r"image values must be in \[0, 1\], got 60 to 60"),
]


@pytest.mark.parametrize(("task", "part", "message"), BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_a_broken_task_fails_the_matching_check(task, part, message, tmp_path: Path) -> None:
    check = {str(c): c for c in task_checks(task, emotion_folder, sizes=(32,))}[f"emotion-{part}"]
    with pytest.raises(AssertionError, match=message):
        check(tmp_path)


# The mistakes a plugin author made in practice (issue 20), each caught by one check that names
# the method to fix.


class Codes(FolderFormat):
    """MTFL's way: class codes 1 and 2 where the task expects indices 0 and 1."""

    def open(self, path, split, options, ctx):
        dataset = super().open(path, split, options, ctx)
        return [(image, {"label": t["label"] + 1}) for image, t in (dataset[0], dataset[1])]


class CodedLabels(EmotionTask):
    formats = (Codes(),)


class CodedMetric(EmotionTask):
    """A metric that reads codes: sample 1's label becomes 2, which the confusion matrix drops."""

    def new_metric(self):
        metric = super().new_metric()
        update = metric.update
        metric.update = lambda prediction, target: update(
            prediction, {"label": target["label"] + 1}
        )
        return metric


class StrayLayout(EmotionTask):
    def new_metric(self):
        metric = super().new_metric()
        metric.layout = lambda: {"accuracy": ("accuracy", "all"), "top5": ("top5", "all")}
        return metric


def pose_folder(folder: Path) -> Fixture:
    """A face in each of two classes a flip swaps."""
    for value, label in ((60, "left"), (200, "right")):
        (folder / label).mkdir(parents=True)
        Image.new("L", (24, 24), value).save(folder / label / "face.png")
    return Fixture("folder", folder, {"classes": ["left", "right"]})


class UnswappedPose(EmotionTask):
    """Flips the faces but not their left and right classes."""

    def augment_batch(self, images, target, augment):
        return augment(images).image, target


class PointsLeftBehind(LandmarksTask):
    """Moves the faces, not the points."""

    def augment_batch(self, images, target, augment):
        return augment(images).image, target


class DefaultAugment(LandmarksTask):
    """Keeps Task's default augmentation, which moves the images alone."""

    augment_batch = Task.augment_batch


class CropPointsOnly(LandmarksTask):
    """Gives crop coordinates whatever photo it is asked for."""

    def to_json(self, prediction, size=None, box=None):
        return super().to_json(prediction)


class BoxIgnored(LandmarksTask):
    """Takes the crop's box but places the points on the letterboxed photo."""

    def to_json(self, prediction, size=None, box=None):
        return super().to_json(prediction, size)


class NoPhotoPoints(LandmarksTask):
    def to_json(self, prediction):
        return super().to_json(prediction)


class MaskBoxIgnored(ParsingTask):
    def to_json(self, prediction, size=None, box=None):
        return super().to_json(prediction, size)


class ShiftedMasks(MaskFolderFormat):
    """Mask classes shifted by one: the last class becomes 3 of 3 classes."""

    def open(self, path, split, options, ctx):
        dataset = super().open(path, split, options, ctx)
        shifted = []
        for image, target in (dataset[0], dataset[1]):
            mask = torch.where(target["mask"] == 255, 255, target["mask"] + 1)
            shifted.append((image, {"mask": mask}))
        return shifted


class MasksOffByOne(ParsingTask):
    formats = (ShiftedMasks(),)


MISTAKES = [
    (
        CodedLabels,
        emotion_folder,
        "reader",
        r"Codes.open\(...\) at input size 32, sample 1: target\['label'\] = 2 is not a class "
        r"index of the label schema \(0 to 1: calm, joy\): class indices start at 0",
    ),
    (
        MasksOffByOne,
        mask_folder,
        "reader",
        r"ShiftedMasks.open\(...\) at input size 32, sample 0: target\['mask'\] holds 3, "
        r"which is neither a class index of the label schema \(0 to 2: background, skin, "
        r"hair\) nor 255",
    ),
    (
        CodedMetric,
        emotion_folder,
        "metric",
        r"ClassMetric.update\(prediction, target\) left the state as it was for "
        r"sample 1: the metric ignored it",
    ),
    (StrayLayout, emotion_folder, "metric", r"layout\(\) places top5, which compute\(\) "),
    (
        UnswappedPose,
        pose_folder,
        "augment",
        r"UnswappedPose.augment_batch: a flip swaps the classes of \(\('left', 'right'\),\), but "
        r"target\['label'\] was not swapped",
    ),
    (
        PointsLeftBehind,
        landmark_csv,
        "augment",
        r"PointsLeftBehind.augment_batch left target\['points'\] behind while the images were "
        r"flipped, turned and zoomed: pass it to the augmentation \(augment\(images, "
        r"points=target\['points'\]\)\)",
    ),
    (
        DefaultAugment,
        landmark_csv,
        "augment",
        r"DefaultAugment does not override Task.augment_batch, whose default moves the images "
        r"alone, but its labels are points",
    ),
    (
        CropPointsOnly,
        landmark_csv,
        "json",
        r"CropPointsOnly.to_json\(prediction, size=\(100, 60\), box=Box\(x0=13, y0=-7, "
        r"side=48, angle=0.0\)\): the point at .points.left_eye is \(0\.\d+, 0\.\d+\), but "
        r"the crop's \(0\.\d+, 0\.\d+\) is at \(\d+\.\d, \d+\.\d\) in the photo",
    ),
    (BoxIgnored, landmark_csv, "json", r"BoxIgnored.to_json\(prediction, size=\(100, 60\), box="),
    (NoPhotoPoints, landmark_csv, "json", r"NoPhotoPoints.to_json takes no size= and box="),
    (MaskBoxIgnored, mask_folder, "json", r"MaskBoxIgnored.to_json\(.*\) gives the same for"),
]


@pytest.mark.parametrize(
    ("task", "fixture", "part", "message"), MISTAKES, ids=[m[0].__name__ for m in MISTAKES]
)
def test_each_mistake_fails_the_check_of_the_method_to_fix(
    task, fixture, part, message, tmp_path: Path
) -> None:
    checks = {str(c).split("-", 1)[1]: c for c in task_checks(task, fixture, sizes=(32,))}
    with pytest.raises(AssertionError, match=message):
        checks[part](tmp_path)


def test_the_augment_check_passes_a_pose_task_whose_default_swaps_left_and_right(
    tmp_path: Path,
) -> None:
    check = {str(c): c for c in task_checks(EmotionTask, pose_folder, sizes=(32,))}
    check["emotion-augment"](tmp_path)


def test_check_task_lists_every_failed_check(tmp_path: Path) -> None:
    class TwiceBroken(NanLoss):
        to_json = TensorJson.to_json

    with pytest.raises(AssertionError) as failed:
        check_task(TwiceBroken, emotion_folder, tmp_path, sizes=(32,))
    message = str(failed.value)
    assert message.startswith("TwiceBroken: 2 conformance checks failed:")
    assert "- emotion-loss: loss at iteration 0 is not finite" in message
    assert "- emotion-json: to_json(prediction) is not JSON-serialisable" in message


def test_checks_leave_the_global_random_state_alone(tmp_path: Path) -> None:
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    task_checks(EmotionTask, emotion_folder, sizes=(32,))[0](tmp_path)
    assert torch.equal(torch.rand(3), expected)
