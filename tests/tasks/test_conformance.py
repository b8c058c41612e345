"""The built-in tasks pass the conformance suite of ``ifan.testing``, and the suite can fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ifan.testing import Check, Fixture, check_task, task_checks
from ifan_tasks.emotion.formats import FolderFormat
from ifan_tasks.emotion.task import EmotionTask
from ifan_tasks.landmarks.task import MTFL_POINTS, LandmarksTask
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
    parts = ["contract", "options", "reader", "shapes", "loss", "metric", "json", "overlay"]
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
