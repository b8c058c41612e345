"""The emotion recognition task: one class per face, read from the 4x4 tap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from ifan.contract import BuildContext, FeatureSpec, LabelSchema, Task, TaskOptions
from ifan.losses import ClassWeights, class_weights_field, cross_entropy, weight_per_class
from ifan_tasks.emotion.formats import FORMATS
from ifan_tasks.emotion.readers import FER2013_CLASSES


class EmotionOptions(TaskOptions):
    """``[tasks.emotion]`` options."""

    hidden: int = Field(128, ge=8, le=4096, description="width of the classifier")
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="cross-entropy label smoothing")
    class_weights: ClassWeights = class_weights_field("{ disgust = 5.0 }")


class EmotionTask(Task):
    """Classification with cross-entropy, scored by accuracy and a confusion matrix.

    Prediction: logits ``B x C``. Target: ``{"label": B}`` class indices.
    """

    name = "emotion"
    contract_version = "1.2"
    description = "facial emotion recognition (paper §4.1.2: classes from the 4x4 tap)"
    Options = EmotionOptions
    labels = LabelSchema(kind="class", names=FER2013_CLASSES)
    formats = FORMATS
    default_tap = "down5"
    default_batch_size = 96
    options: EmotionOptions

    def __init__(self, options: EmotionOptions | None = None, labels: LabelSchema | None = None):
        super().__init__(options, labels)
        self.weights = weight_per_class(self.name, self.options.class_weights, self.labels.names)

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
        return cross_entropy(
            prediction,
            target["label"].long(),
            self.weights,
            label_smoothing=self.options.label_smoothing,
        )

    def new_metric(self) -> Any:
        """Accuracy, mean per-class accuracy and the confusion matrix."""
        from ifan.metrics.classes import ClassMetric

        return ClassMetric(self.labels)

    def to_json(self, prediction: Any) -> dict[str, Any]:
        """The label, its probability and every class's probability."""
        from ifan.outputs.classes import class_json

        return class_json(prediction, self.labels)

    def draw_overlay(self, image: Any, prediction: Any, target: Any = None) -> Any:
        """The face with its label and top probabilities beside it (and the truth when given)."""
        from ifan.outputs.classes import class_overlay

        return class_overlay(image, prediction, self.labels, target)
