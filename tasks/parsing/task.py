"""The face parsing task: a class per pixel, read from the full-resolution up-path tap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ifan.contract import BuildContext, FeatureSpec, LabelSchema, Task, TaskOptions
from ifan_tasks.parsing.formats import FORMATS
from pydantic import Field

HELEN_CLASSES = (
    "background",
    "skin",
    "left_eyebrow",
    "right_eyebrow",
    "left_eye",
    "right_eye",
    "nose",
    "upper_lip",
    "inner_mouth",
    "lower_lip",
    "hair",
)
HELEN_GROUPS = {
    "eyes": ("left_eye", "right_eye"),
    "brows": ("left_eyebrow", "right_eyebrow"),
    "mouth_all": ("upper_lip", "inner_mouth", "lower_lip"),
    "overall": (
        "left_eyebrow",
        "right_eyebrow",
        "left_eye",
        "right_eye",
        "nose",
        "upper_lip",
        "inner_mouth",
        "lower_lip",
    ),
}


class ParsingOptions(TaskOptions):
    """``[tasks.parsing]`` options."""

    hidden: int = Field(32, ge=4, le=1024, description="width of the per-pixel classifier")
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="cross-entropy label smoothing")


class ParsingTask(Task):
    """Per-pixel classification with cross-entropy, scored by F-score per class over a split.

    Prediction: logits ``B x C x S x S`` at input size S. Target: ``{"mask": B x S x S}`` indices.
    """

    name = "parsing"
    contract_version = "1.0"
    description = "face parsing (paper §4.1.2: per-pixel classes from the 128x128 up-path tap)"
    Options = ParsingOptions
    labels = LabelSchema(kind="segmentation", names=HELEN_CLASSES, groups=HELEN_GROUPS)
    formats = FORMATS
    default_tap = "up0"
    default_batch_size = 24
    options: ParsingOptions

    def build_decoder(self, tap: FeatureSpec, ctx: BuildContext) -> Any:
        raise NotImplementedError("parsing decoder: issue #3")

    def build_reencoder(self, levels: Sequence[FeatureSpec], ctx: BuildContext) -> Any:
        raise NotImplementedError("parsing re-encoder: issue #3")

    def prediction_maps(self, prediction: Any, height: int, width: int) -> Any:
        raise NotImplementedError("parsing prediction maps: issue #3")

    def loss(self, prediction: Any, target: Any) -> Any:
        raise NotImplementedError("parsing loss: issue #3")

    def new_metric(self) -> Any:
        raise NotImplementedError("parsing metric: issue #4")

    def to_json(self, prediction: Any) -> dict[str, Any]:
        raise NotImplementedError("parsing JSON: issue #4")

    def draw_overlay(self, image: Any, prediction: Any, target: Any = None) -> Any:
        raise NotImplementedError("parsing overlay: issue #4")
