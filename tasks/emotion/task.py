"""The emotion recognition task: one class per face, read from the 4x4 tap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator

from ifan.contract import BuildContext, FeatureSpec, LabelSchema, Task, TaskOptions
from ifan.errors import IfanError
from ifan_tasks.emotion.formats import FORMATS
from ifan_tasks.emotion.readers import FER2013_CLASSES


class EmotionOptions(TaskOptions):
    """``[tasks.emotion]`` options."""

    hidden: int = Field(128, ge=8, le=4096, description="width of the classifier")
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="cross-entropy label smoothing")
    class_weights: dict[str, float] = Field(
        {},
        description="cross-entropy weight per class name, for imbalanced sets (e.g. "
        "{ disgust = 5.0 }); classes not named weigh 1",
    )

    @field_validator("class_weights")
    @classmethod
    def _positive(cls, weights: dict[str, float]) -> dict[str, float]:
        bad = {name: w for name, w in weights.items() if not 0 < w <= 1e6}
        if bad:
            raise ValueError(f"weights must be above 0 and at most 1e6, got {bad}")
        return weights


class EmotionTask(Task):
    """Classification with cross-entropy, scored by accuracy and a confusion matrix.

    Prediction: logits ``B x C``. Target: ``{"label": B}`` class indices.
    """

    name = "emotion"
    contract_version = "1.1"
    description = "facial emotion recognition (paper §4.1.2: classes from the 4x4 tap)"
    Options = EmotionOptions
    labels = LabelSchema(kind="class", names=FER2013_CLASSES)
    formats = FORMATS
    default_tap = "down5"
    default_batch_size = 96
    options: EmotionOptions

    def __init__(self, options: EmotionOptions | None = None, labels: LabelSchema | None = None):
        super().__init__(options, labels)
        unknown = sorted(set(self.options.class_weights) - set(self.labels.names))
        if unknown:
            raise IfanError(
                f"tasks.emotion.class_weights: no class {', '.join(map(repr, unknown))}; the "
                f"classes are {', '.join(self.labels.names)}"
            )
        self.weights = tuple(self.options.class_weights.get(n, 1.0) for n in self.labels.names)

    def build_decoder(self, tap: FeatureSpec, ctx: BuildContext) -> Any:
        """Global average pooling and an MLP: logits ``B x C``."""
        from ifan.network.blocks import MLPHead

        return MLPHead(tap, len(self.labels.names), self.options.hidden, ctx.norm, "avg")

    def build_reencoder(self, levels: Sequence[FeatureSpec], ctx: BuildContext) -> Any:
        """Fully connected layers on the probability vector, tiled to every level (§4.1.2)."""
        import torch.nn as nn

        from ifan.network.blocks import FCTileEncoder

        return nn.Sequential(nn.Softmax(dim=1), FCTileEncoder(len(self.labels.names), levels))

    def prediction_maps(self, prediction: Any, height: int, width: int) -> Any:
        """The class probabilities, constant over ``height x width``."""
        probabilities = prediction.softmax(1)
        return probabilities[:, :, None, None].expand(-1, -1, height, width)

    def loss(self, prediction: Any, target: Any) -> Any:
        """Cross-entropy against the class index, weighted per class when the options say so."""
        import torch
        import torch.nn.functional as F

        weight = None
        if self.options.class_weights:
            weight = torch.tensor(self.weights, dtype=prediction.dtype, device=prediction.device)
        return F.cross_entropy(
            prediction,
            target["label"].long(),
            weight=weight,
            label_smoothing=self.options.label_smoothing,
        )

    def new_metric(self) -> Any:
        """Accuracy, mean per-class accuracy and the confusion matrix."""
        from ifan_tasks.emotion.metric import EmotionMetric

        return EmotionMetric(self.labels)

    def to_json(self, prediction: Any) -> dict[str, Any]:
        """The label, its probability and every class's probability."""
        from ifan_tasks.emotion.output import emotion_json

        return emotion_json(prediction, self.labels)

    def draw_overlay(self, image: Any, prediction: Any, target: Any = None) -> Any:
        """The face with its label and top probabilities beside it (and the truth when given)."""
        from ifan_tasks.emotion.output import emotion_overlay

        return emotion_overlay(image, prediction, self.labels, target)
