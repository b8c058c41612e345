"""The facial landmark task: normalised point coordinates regressed from the 8x8 tap (the paper),
or found as the expected places of per-point heat maps on a finer tap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from ifan.contract import BuildContext, FeatureSpec, LabelSchema, Task, TaskOptions
from ifan.data.images import Box
from ifan_tasks.landmarks.formats import FORMATS

MTFL_POINTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


class LandmarksOptions(TaskOptions):
    """``[tasks.landmarks]`` options."""

    heatmap_radius: int = Field(
        default=5,
        ge=1,
        le=64,
        description="radius in pixels (at 128x128) of the re-encoder's point disks",
    )
    failure_threshold: float = Field(
        default=0.10,
        gt=0,
        le=1,
        description="a face fails when its normalised mean error is above this",
    )
    decoder: Literal["regression", "heatmap"] = Field(
        default="regression",
        description="'regression': the paper's MLP from the flattened tap to the coordinates; "
        "'heatmap': one map per point on the tap and its soft-argmax (integral regression), "
        "which finds a point by what it looks like; give it a fine tap (up2: input / 4)",
    )
    hidden: int = Field(
        default=256,
        ge=8,
        le=4096,
        description="width of the decoder: the regression's hidden layer, or the heat-map "
        "decoder's convolution channels",
    )
    loss: Literal["euclidean", "nme"] = Field(
        default="euclidean",
        description="'euclidean': the paper's mean squared point distance; 'nme': the metric "
        "itself, each point's distance over the face's inter-ocular distance (an L1-like loss: "
        "small errors keep their pull, one bad face does not dominate)",
    )


class LandmarksTask(Task):
    """Regression of normalised point coordinates, scored by the inter-ocular normalised error.

    Prediction: ``B x K x 2`` (x, y) in [0, 1] of the crop. Target: ``{"points": B x K x 2}``.
    """

    name = "landmarks"
    contract_version = "1.4"
    description = "facial landmark localisation (paper §4.1.2: Euclidean regression, 8x8 tap)"
    Options = LandmarksOptions
    labels = LabelSchema(kind="points", names=MTFL_POINTS, unit="normalised coordinates")
    formats = FORMATS
    default_tap = "down4"
    default_batch_size = 64
    options: LandmarksOptions

    def build_decoder(self, tap: FeatureSpec, ctx: BuildContext) -> Any:
        """``K x 2`` coordinates in [0, 1]: regressed from the flattened tap (sigmoid output), or
        the soft-argmax of one heat map per point (``decoder = "heatmap"``)."""
        import torch.nn as nn

        from ifan.network.decoders import MLPHead, SoftArgmaxPoints

        points = len(self.labels.names)
        if self.options.decoder == "heatmap":
            return SoftArgmaxPoints(tap, points, self.options.hidden, ctx.norm)
        head = MLPHead(
            tap, 2 * points, self.options.hidden, ctx.norm, "flatten", activation="sigmoid"
        )
        return nn.Sequential(head, nn.Unflatten(1, (points, 2)))

    def build_reencoder(self, levels: Sequence[FeatureSpec], ctx: BuildContext) -> Any:
        """Soft disk heat maps of the points at input size through alternating conv and max-pool."""
        import torch.nn as nn

        from ifan.network.maps import PointHeatmaps
        from ifan.network.reencoders import ConvPoolPyramid

        radius = self.options.heatmap_radius * ctx.input_size / 128
        heatmaps = PointHeatmaps(ctx.input_size, ctx.input_size, radius)
        return nn.Sequential(heatmaps, ConvPoolPyramid(len(self.labels.names), levels, ctx.norm))

    def prediction_maps(self, prediction: Any, height: int, width: int) -> Any:
        """One disk map per point, drawn at >= 128x128 and area-resized to ``height x width``."""
        from ifan.network.maps import point_heatmaps, resize_maps

        scale = max(1, -(-128 // min(height, width)))  # ceil(128 / size): draw at >= 128
        radius = self.options.heatmap_radius * min(height, width) * scale / 128
        maps = point_heatmaps(prediction, height * scale, width * scale, radius)
        return resize_maps(maps, height, width)

    def augment_batch(self, images: Any, target: Any, augment: Any) -> tuple[Any, Any]:
        """Images and points moved together; the inter-ocular distance scaled with the zoom (a
        ``yaw`` turn narrows the eyes' distance on the image, and the error is still measured in
        the face's own inter-ocular distance)."""
        out = augment(images, points=target["points"])
        iod = target["iod"] * out.scale.to(target["iod"].dtype)
        return out.image, {**target, "points": out.points, "iod": iod}

    def unflip(self, prediction: Any) -> Any:
        """Points of mirrored faces mirrored back across the crop, left and right swapped; None
        for a point set whose left and right are unknown."""
        from ifan.network.test_flip import unflip_points

        return unflip_points(prediction, self.labels)

    def loss(self, prediction: Any, target: Any) -> Any:
        """The paper's Euclidean loss (the mean squared distance between predicted and true
        points), or with ``loss = "nme"`` the mean distance in inter-ocular distances."""
        squared = ((prediction.float() - target["points"].float()) ** 2).sum(-1)
        if self.options.loss == "euclidean":
            return squared.mean()
        iod = target["iod"].float().reshape(-1, 1).clamp_min(1e-6)
        return ((squared + 1e-12).sqrt() / iod).mean()

    def new_metric(self) -> Any:
        """Normalised mean error and failure rate, per point and overall."""
        from ifan_tasks.landmarks.metric import LandmarksMetric

        return LandmarksMetric(self.labels, self.options.failure_threshold)

    def to_json(
        self, prediction: Any, size: tuple[int, int] | None = None, box: Box | None = None
    ) -> dict[str, Any]:
        """Named points in crop coordinates, or in pixels of the image of ``size`` where the crop
        is ``box`` (default: the image letterboxed)."""
        from ifan_tasks.landmarks.output import landmarks_json

        return landmarks_json(prediction, self.labels, size, box)

    def draw_overlay(self, image: Any, prediction: Any, target: Any = None) -> Any:
        """Predicted points in white, the ground truth (when given) in red."""
        from ifan_tasks.landmarks.output import landmarks_overlay

        return landmarks_overlay(image, prediction, target)
