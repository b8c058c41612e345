"""The emotion recognition task: one class per face, read from the 4x4 tap."""

from __future__ import annotations

from ifan.class_task import ClassOptions, ClassTask
from ifan.contract import LabelSchema
from ifan.losses import ClassWeights, class_weights_field
from ifan_tasks.emotion.formats import FORMATS
from ifan_tasks.emotion.readers import FER2013_CLASSES


class EmotionOptions(ClassOptions):
    """``[tasks.emotion]`` options."""

    class_weights: ClassWeights = class_weights_field("{ disgust = 5.0 }")


class EmotionTask(ClassTask):
    """Classification with cross-entropy, scored by accuracy and a confusion matrix
    (:class:`ifan.class_task.ClassTask`: an MLP on the pooled tap, a re-encoder of the class
    probabilities).

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
