"""The age task: the apparent age in years, as the expected value over age bins from the 4x4 tap."""

from __future__ import annotations

from typing import Any

from ifan.class_task import SoftmaxTask
from ifan.contract import LabelSchema, TaskOptions
from pydantic import Field

from ifan_task_age.bins import bin_centres
from ifan_task_age.formats import FORMATS

YEARS_PER_LOSS_UNIT = 10.0
"""The L1 term counts decades, so the age loss is of order 1, like the other tasks' losses; with
the shared backbone trained by every task in turn, a loss in raw years would dominate it."""


class AgeOptions(TaskOptions):
    """``[tasks.age]`` options."""

    max_age: float = Field(
        default=116.0,
        gt=0,
        le=150,
        description="age in years of the last bin (UTKFace's oldest is 116)",
    )
    bins: int = Field(
        default=117,
        ge=2,
        le=1000,
        description="age bins, evenly spaced from 0 to max_age (117: a year)",
    )
    hidden: int = Field(default=128, ge=8, le=4096, description="width of the decoder's MLP")
    ce_weight: float = Field(
        default=0.1, ge=0, le=100, description="weight of the cross-entropy on the soft bin labels"
    )
    label_sigma: float = Field(
        default=2.0,
        gt=0,
        le=50,
        description="spread in years of the soft bin label around the true age",
    )


class AgeTask(SoftmaxTask):
    """Age estimation as a distribution over age bins (DEX), read out as its expected value.

    Prediction: logits ``B x bins`` over ages ``0 .. max_age``. Target: ``{"age": B}`` years.
    """

    name = "age"
    contract_version = "1.1"
    description = "apparent age in years: the expected value over age bins from the 4x4 tap"
    Options = AgeOptions
    labels = LabelSchema(kind="value", names=("age",), unit="years")
    formats = FORMATS
    default_tap = "down5"
    default_batch_size = 64
    options: AgeOptions

    def __init__(self, options: AgeOptions | None = None, labels: LabelSchema | None = None):
        super().__init__(options, labels)
        self.centres = bin_centres(self.options.max_age, self.options.bins)

    @property
    def outputs(self) -> int:
        """One logit per age bin (the decoder, re-encoder and maps are
        :class:`~ifan.class_task.SoftmaxTask`'s: an MLP on the pooled tap, the bin probabilities
        fed back and drawn as maps)."""
        return self.options.bins

    def loss(self, prediction: Any, target: Any) -> Any:
        """L1 between the expected and the true age, in decades, plus ``ce_weight`` times the
        cross-entropy against a Gaussian soft label over the bins.

        The L1 term is what MAE scores, on the very quantity that is reported. Through a softmax
        expectation alone, though, many distributions give the same age and the gradient of a
        bin vanishes with its probability, so learning starts slowly and the distribution may
        spread; the small cross-entropy on a soft label (label distribution learning) gives every
        bin a direct gradient and keeps the mass around the true age, with neighbouring ages
        counted as nearly right rather than as wrong as any other bin.
        """
        import torch.nn.functional as F

        from ifan_task_age.bins import expected_age, soft_labels

        ages = target["age"].to(prediction.device).float()
        centres = self.centres.to(prediction.device)
        l1 = F.l1_loss(expected_age(prediction, centres), ages) / YEARS_PER_LOSS_UNIT
        if self.options.ce_weight == 0:
            return l1
        soft = soft_labels(ages, centres, self.options.label_sigma)
        return l1 + self.options.ce_weight * F.cross_entropy(prediction.float(), soft)

    def unflip(self, prediction: Any) -> Any:
        """A mirrored face is as old as the face: its bin logits are kept as they are, so that
        ``[model] test_flip`` averages the two (the default returns None for values, since a
        signed value such as a head's yaw would change its sign)."""
        return prediction

    def new_metric(self) -> Any:
        """MAE in years and CS(5), the fraction of faces within 5 years."""
        from ifan_task_age.metric import AgeMetric

        return AgeMetric(self.centres)

    def to_json(self, prediction: Any) -> dict[str, Any]:
        """The expected age and the most probable bins."""
        from ifan_task_age.output import age_json

        return age_json(prediction, self.centres)

    def draw_overlay(self, image: Any, prediction: Any, target: Any = None) -> Any:
        """The predicted age (and the true one when given) written on the face."""
        from ifan_task_age.output import age_overlay

        return age_overlay(image, prediction, self.centres, target)
