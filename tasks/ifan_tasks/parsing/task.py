"""The face parsing task: a class per pixel, read from the full-resolution up-path tap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from ifan.contract import BuildContext, FeatureSpec, LabelSchema, Task, TaskOptions
from ifan.data.images import Box
from ifan.losses import ClassWeights, class_weights_field, cross_entropy, weight_per_class
from ifan_tasks.parsing.classes import HELEN_LABELS
from ifan_tasks.parsing.formats import FORMATS


class ParsingOptions(TaskOptions):
    """``[tasks.parsing]`` options."""

    hidden: int = Field(default=32, ge=4, le=1024, description="width of the per-pixel classifier")
    label_smoothing: float = Field(
        default=0.0, ge=0, lt=1, description="cross-entropy label smoothing"
    )
    class_weights: ClassWeights = class_weights_field("{ left_brow = 4.0, right_brow = 4.0 }")


class ParsingTask(Task):
    """Per-pixel classification with cross-entropy, scored by F-score per class over a split.

    Prediction: logits ``B x C x S x S`` at input size S. Target: ``{"mask": B x S x S}`` indices.
    """

    name = "parsing"
    contract_version = "1.4"
    description = "face parsing (paper §4.1.2: per-pixel classes from the 128x128 up-path tap)"
    Options = ParsingOptions
    labels = HELEN_LABELS
    formats = FORMATS
    default_tap = "up0"
    default_batch_size = 24
    options: ParsingOptions

    def __init__(self, options: ParsingOptions | None = None, labels: LabelSchema | None = None):
        super().__init__(options, labels)
        self.weights = weight_per_class(self.name, self.options.class_weights, self.labels.names)

    def build_decoder(self, tap: FeatureSpec, ctx: BuildContext) -> Any:
        """Conv3x3-BN-ReLU and a 1x1 classifier on the tap, upsampled to the input size."""
        from ifan.network.decoders import PixelClassifier

        classes = len(self.labels.names)
        return PixelClassifier(tap, classes, self.options.hidden, ctx.norm, ctx.input_size)

    def build_reencoder(self, levels: Sequence[FeatureSpec], ctx: BuildContext) -> Any:
        """The softmax probability map through alternating conv and max-pool layers (§4.1.2)."""
        import torch.nn as nn

        from ifan.network.reencoders import ConvPoolPyramid

        pyramid = ConvPoolPyramid(len(self.labels.names), levels, ctx.norm)
        return nn.Sequential(nn.Softmax(dim=1), pyramid)

    def prediction_maps(self, prediction: Any, height: int, width: int) -> Any:
        """Class probabilities resized to ``height x width``."""
        from ifan.network.maps import resize_maps

        return resize_maps(prediction.softmax(1), height, width)

    def augment_batch(self, images: Any, target: Any, augment: Any) -> tuple[Any, Any]:
        """Images and masks moved together (left/right classes swap on a flip)."""
        out = augment(images, masks=target["mask"])
        return out.image, {**target, "mask": out.mask}

    def unflip(self, prediction: Any) -> Any:
        """Class scores of mirrored faces mirrored back, left and right classes swapped."""
        from ifan.network.test_flip import unflip_maps

        return unflip_maps(prediction, self.labels)

    def loss(self, prediction: Any, target: Any) -> Any:
        """Per-pixel cross-entropy, weighted per class when the options say so (the average is
        then over the pixels' weights); mask value 255 is ignored."""
        return cross_entropy(
            prediction,
            target["mask"].long(),
            self.weights,
            ignore_index=255,
            label_smoothing=self.options.label_smoothing,
        )

    def collate(self, samples: Sequence[tuple[Any, Any]]) -> tuple[Any, Any]:
        """Stack images and ``S x S`` masks; keep the original-size labels as a list."""
        from ifan.data.masks import collate_masks

        return collate_masks(samples)

    def new_metric(self) -> Any:
        """F-scores per class and merged group, at the labels' original size."""
        from ifan.metrics.masks import MaskMetric

        return MaskMetric(self.labels)

    def to_json(
        self, prediction: Any, size: tuple[int, int] | None = None, box: Box | None = None
    ) -> dict[str, Any]:
        """Class names, pixel shares and a run-length mask (see ``ifan.outputs.masks.mask_json``);
        at the crop's size, or on the image of ``size = (width, height)`` where the crop is ``box``
        (default: the image letterboxed)."""
        from ifan.outputs.masks import mask_json

        return mask_json(prediction, self.labels, size, box)

    def draw_overlay(self, image: Any, prediction: Any, target: Any = None) -> Any:
        """Class colours blended on the photo; the ground truth beside it when given."""
        from ifan.outputs.masks import mask_overlay

        return mask_overlay(image, prediction, self.labels, target)
