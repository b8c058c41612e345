"""The identity task: closed-set face identification, which of the people it trained on a face
is, with the face's embedding for verification.

It is a :class:`ifan.class_task.ClassTask` (one class per person, cross-entropy, a re-encoder of
the class probabilities) whose decoder also returns its last hidden layer, the embedding: the
feature vector that says who a face is, which the paper transfers to the other tasks and which
:class:`~ifan_task_people.verification.IdentityMetric` compares between pairs of faces.
"""

from __future__ import annotations

from typing import Any

import torch
from ifan.class_task import ClassOptions, ClassTask
from ifan.contract import BuildContext, FeatureSpec, LabelSchema
from ifan.losses import ClassWeights, class_weights_field
from ifan.network.decoders import MLPHead
from pydantic import Field
from torch import Tensor

from ifan_task_people.people import PeopleFolderFormat

TOP = 5
"""How many of the most probable people the JSON lists."""


class EmbeddingHead(MLPHead):
    """:class:`~ifan.network.decoders.MLPHead` (pooling, Linear -> norm -> ReLU -> Linear) that
    also returns its last hidden layer: ``B x (out + hidden)``, the logits, then the embedding
    (the input of the last ``nn.Linear``). Its weights are named as MLPHead's."""

    def forward(self, features: Tensor) -> Tensor:
        hidden = self.mlp[:-1](self.pool(features))
        logits = self.mlp[-1](hidden)
        return torch.cat([logits, hidden.to(logits.dtype)], dim=1)


class IdentityOptions(ClassOptions):
    """``[tasks.identity]`` options."""

    hidden: int = Field(
        default=256,
        ge=8,
        le=4096,
        description="width of the embedding, the decoder's last hidden layer (what verification "
        "compares and ifan features extracts)",
    )
    label_smoothing: float = Field(
        default=0.1,
        ge=0,
        lt=1,
        description="cross-entropy label smoothing (many classes, few photos each)",
    )
    class_weights: ClassWeights = class_weights_field("{ George_W_Bush = 0.5 }")


class IdentityTask(ClassTask):
    """Which person a face is, of the people of the data table's ``people`` (one class each).

    Prediction: ``B x (C + hidden)``, the logits over the ``C`` people followed by the embedding;
    the loss, the re-encoder, the maps, the JSON and the overlay read the logits
    (:meth:`~ifan.class_task.SoftmaxTask.logits`), the metric both. Target: ``{"label": B}``.
    """

    name = "identity"
    description = "closed-set face identification (which of the training people) from the 4x4 tap"
    Options = IdentityOptions
    labels = LabelSchema(kind="class", names=("person",))
    """A stand-in: the format's ``people`` are the classes."""
    formats = (PeopleFolderFormat(),)
    default_batch_size = 64
    options: IdentityOptions

    def build_decoder(self, tap: FeatureSpec, ctx: BuildContext) -> Any:
        """Global average pooling and an MLP whose hidden layer is the embedding: logits and
        embedding, ``B x (C + hidden)``."""
        return EmbeddingHead(tap, self.outputs, self.options.hidden, ctx.norm, "avg")

    def unflip(self, prediction: Any) -> Any:
        """A mirrored face is the same person: its logits and embedding are kept as they are, so
        that ``[model] test_flip`` averages the two, as face verification averages a face's and
        its mirror's embeddings. (The default maps logits ``B x C`` alone, not logits followed by
        the embedding.)"""
        return prediction

    def new_metric(self) -> Any:
        """Top-1 (main) and top-5 accuracy, verification accuracy and equal-error rate."""
        from ifan_task_people.verification import IdentityMetric

        return IdentityMetric(self.labels)

    def to_json(self, prediction: Any) -> dict[str, Any]:
        """``{"label": person, "score": probability, "top": {person: probability}}``, the
        ``TOP`` most probable people (not all of them: there may be thousands)."""
        logits = torch.as_tensor(self.logits(prediction)).detach().float().cpu().reshape(-1)
        probabilities = logits.softmax(dim=0)
        order = probabilities.argsort(descending=True)[:TOP].tolist()
        best = order[0]
        return {
            "label": self.labels.names[best],
            "score": float(probabilities[best]),
            "top": {self.labels.names[i]: float(probabilities[i]) for i in order},
        }
