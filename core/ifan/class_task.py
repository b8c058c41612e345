"""Bases of the tasks that predict a vector of logits per face: :class:`SoftmaxTask` (logits over
``K`` outputs from a pooled tap, fed back as probabilities) and :class:`ClassTask` (one class per
face: cross-entropy, :class:`~ifan.metrics.classes.ClassMetric`, ``class_json`` and
``class_overlay``).

They hold what the emotion task, the age task (logits over age bins) and the class tasks of
plugins (gender, race, identity) would otherwise each repeat. A subclass sets the contract's class
attributes (``name``, ``labels``, ``formats``, ...) and overrides only what differs.

The decoder is :class:`~ifan.network.decoders.MLPHead` (global average pooling, then Linear ->
norm -> ReLU -> Linear), so its last layer is an ``nn.Linear`` whose input is the face's last
hidden layer, ``hidden`` wide: the feature vector that ``ifan features`` extracts. A decoder may
return more columns after the ``K`` logits (an embedding, as the identity task's does): every
method here reads the logits through :meth:`SoftmaxTask.logits`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import Field

from ifan.contract import BuildContext, FeatureSpec, LabelSchema, Task, TaskOptions
from ifan.losses import ClassWeights, class_weights_field, cross_entropy, weight_per_class


class SoftmaxTask(Task):
    """A task whose prediction is logits ``B x K`` over :attr:`outputs` from the task's tap,
    globally pooled, with an MLP ``options.hidden`` wide; the re-encoder and the prediction maps
    take their softmax. Subclasses give :attr:`outputs`, the options (with ``hidden``), the loss,
    the metric, the JSON and the overlay.
    """

    default_tap = "down5"
    reencoder_hidden: ClassVar[int] = 64
    """Width of the re-encoder's fully connected layers (:class:`FCTileEncoder`'s ``hidden``)."""

    @property
    @abstractmethod
    def outputs(self) -> int:
        """``K``, how many logits the decoder gives."""

    @property
    def prediction_channels(self) -> int:
        """One map per logit."""
        return self.outputs

    def logits(self, prediction: Any) -> Any:
        """The logits ``... x K`` of a prediction (a batch, or one image's), without any columns
        the decoder gives after them."""
        return prediction[..., : self.outputs]

    def build_decoder(self, tap: FeatureSpec, ctx: BuildContext) -> Any:
        """Global average pooling and an MLP: logits ``B x K``. What is predicted is a property
        of the whole face, so the coarse 4x4 tap and pooling suit it (paper §4.1.2)."""
        from ifan.network.decoders import MLPHead

        hidden = getattr(self.options, "hidden", None)
        if not isinstance(hidden, int):
            raise TypeError(
                f"{type(self).__name__}.Options has no integer option 'hidden', the width of the "
                "decoder's MLP: add one (ClassOptions has it), or override build_decoder"
            )
        return MLPHead(tap, self.outputs, hidden, ctx.norm, "avg")

    def build_reencoder(self, levels: Sequence[FeatureSpec], ctx: BuildContext) -> Any:
        """Fully connected layers on the probabilities, tiled to every level (§4.1.2)."""
        import torch.nn as nn

        from ifan.network.reencoders import FCTileEncoder, Probabilities

        return nn.Sequential(
            Probabilities(self.outputs),
            FCTileEncoder(self.outputs, levels, self.reencoder_hidden),
        )

    def prediction_maps(self, prediction: Any, height: int, width: int) -> Any:
        """The probabilities, constant over ``height x width``."""
        probabilities = self.logits(prediction).softmax(1)
        return probabilities[:, :, None, None].expand(-1, -1, height, width)


class ClassOptions(TaskOptions):
    """Options of a :class:`ClassTask`; a task's own options subclass it (and may override a
    field to change its default or its description)."""

    hidden: int = Field(default=128, ge=8, le=4096, description="width of the classifier")
    label_smoothing: float = Field(
        default=0.0, ge=0, lt=1, description="cross-entropy label smoothing"
    )
    class_weights: ClassWeights = class_weights_field("{ <class> = 2.0 }")


class ClassTask(SoftmaxTask):
    """One class of ``labels.names`` per face, with cross-entropy (label smoothing and a weight
    per class as the options say), scored by :class:`~ifan.metrics.classes.ClassMetric`.

    Prediction: logits ``B x C`` (perhaps followed by other columns, see
    :meth:`SoftmaxTask.logits`). Target: ``{"label": B}`` class indices.
    """

    contract_version = "1.3"
    Options = ClassOptions
    main_metric: ClassVar[str] = "accuracy"
    """:class:`ClassMetric`'s main value: ``accuracy``, or ``mean_accuracy`` (balanced) for
    imbalanced classes."""
    options: ClassOptions

    def __init__(self, options: ClassOptions | None = None, labels: LabelSchema | None = None):
        super().__init__(options, labels)
        self.weights = weight_per_class(self.name, self.options.class_weights, self.labels.names)

    @property
    def outputs(self) -> int:
        """One logit per class."""
        return len(self.labels.names)

    def loss(self, prediction: Any, target: Any) -> Any:
        """Cross-entropy against the class index, weighted per class when the options say so."""
        return cross_entropy(
            self.logits(prediction),
            target["label"].long(),
            self.weights,
            label_smoothing=self.options.label_smoothing,
        )

    def new_metric(self) -> Any:
        """Accuracy, mean per-class accuracy and the confusion matrix."""
        from ifan.metrics.classes import ClassMetric

        return ClassMetric(self.labels, main=self.main_metric)

    def to_json(self, prediction: Any) -> dict[str, Any]:
        """The label, its probability and every class's probability."""
        from ifan.outputs.classes import class_json

        return class_json(self.logits(prediction), self.labels)

    def draw_overlay(self, image: Any, prediction: Any, target: Any = None) -> Any:
        """The face with its label and top probabilities beside it (and the truth when given)."""
        from ifan.outputs.classes import class_overlay

        return class_overlay(image, self.logits(prediction), self.labels, target)
