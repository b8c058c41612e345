"""The gender and race tasks: one class per face from the 4x4 tap, everything but the classes
and the readers from :class:`ifan.class_task.ClassTask` (an MLP on the pooled tap, a re-encoder of
the class probabilities, cross-entropy, accuracy with a confusion matrix, JSON and overlay)."""

from __future__ import annotations

from ifan.class_task import ClassOptions, ClassTask
from ifan.data.mtfl import MtflAttributeFormat
from ifan.data.utkface import UtkFaceAttributeFormat, utkface_labels
from ifan.losses import ClassWeights, class_weights_field


class GenderOptions(ClassOptions):
    """``[tasks.gender]`` options."""

    class_weights: ClassWeights = class_weights_field("{ female = 1.5 }")


class GenderTask(ClassTask):
    """Gender, ``male`` or ``female``: UTKFace's second name field (0, 1) or MTFL's gender column
    (1, 2), both in that order. Prediction: logits ``B x 2``. Target: ``{"label": B}``."""

    name = "gender"
    description = "gender (male, female) from the 4x4 tap: UTKFace file names or MTFL's column"
    Options = GenderOptions
    labels = utkface_labels("gender")
    formats = (UtkFaceAttributeFormat("gender"), MtflAttributeFormat("gender"))
    default_batch_size = 64
    options: GenderOptions


class RaceOptions(ClassOptions):
    """``[tasks.race]`` options."""

    class_weights: ClassWeights = class_weights_field("{ others = 2.0 }")


class RaceTask(ClassTask):
    """Race as UTKFace codes it, five classes: ``white``, ``black``, ``asian``, ``indian``,
    ``others`` (its third name field, 0 to 4). Prediction: logits ``B x 5``. Target:
    ``{"label": B}``."""

    name = "race"
    description = "race, UTKFace's five classes, from the 4x4 tap: UTKFace file names"
    Options = RaceOptions
    labels = utkface_labels("race")
    formats = (UtkFaceAttributeFormat("race"),)
    default_batch_size = 64
    options: RaceOptions
