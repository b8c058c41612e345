"""The emotion recognition task: one class per face, read from the 4x4 tap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ifan.contract import BuildContext, FeatureSpec, LabelSchema, Task, TaskOptions
from ifan_tasks.emotion.formats import FORMATS
from pydantic import Field

FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


class EmotionOptions(TaskOptions):
    """``[tasks.emotion]`` options."""

    hidden: int = Field(128, ge=8, le=4096, description="width of the classifier")
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="cross-entropy label smoothing")


class EmotionTask(Task):
    """Classification with cross-entropy, scored by accuracy and a confusion matrix.

    Prediction: logits ``B x C``. Target: ``{"label": B}`` class indices.
    """

    name = "emotion"
    contract_version = "1.0"
    description = "facial emotion recognition (paper §4.1.2: classes from the 4x4 tap)"
    Options = EmotionOptions
    labels = LabelSchema(kind="class", names=FER2013_CLASSES)
    formats = FORMATS
    default_tap = "down5"
    default_batch_size = 96
    options: EmotionOptions

    def build_decoder(self, tap: FeatureSpec, ctx: BuildContext) -> Any:
        raise NotImplementedError("emotion decoder: issue #3")

    def build_reencoder(self, levels: Sequence[FeatureSpec], ctx: BuildContext) -> Any:
        raise NotImplementedError("emotion re-encoder: issue #3")

    def prediction_maps(self, prediction: Any, height: int, width: int) -> Any:
        raise NotImplementedError("emotion prediction maps: issue #3")

    def loss(self, prediction: Any, target: Any) -> Any:
        raise NotImplementedError("emotion loss: issue #3")

    def new_metric(self) -> Any:
        raise NotImplementedError("emotion metric: issue #4")

    def to_json(self, prediction: Any) -> dict[str, Any]:
        raise NotImplementedError("emotion JSON: issue #4")

    def draw_overlay(self, image: Any, prediction: Any, target: Any = None) -> Any:
        raise NotImplementedError("emotion overlay: issue #4")
