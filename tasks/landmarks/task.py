"""The facial landmark task: normalised point coordinates regressed from the 8x8 tap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ifan.contract import BuildContext, FeatureSpec, LabelSchema, Task, TaskOptions
from ifan_tasks.landmarks.formats import FORMATS
from pydantic import Field

MTFL_POINTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


class LandmarksOptions(TaskOptions):
    """``[tasks.landmarks]`` options."""

    heatmap_radius: int = Field(
        5, ge=1, le=64, description="radius in pixels (at 128x128) of the re-encoder's point disks"
    )
    failure_threshold: float = Field(
        0.10, gt=0, le=1, description="a face fails when its normalised mean error is above this"
    )
    hidden: int = Field(256, ge=8, le=4096, description="width of the regression decoder")


class LandmarksTask(Task):
    """Regression of normalised point coordinates, scored by the inter-ocular normalised error.

    Prediction: ``B x K x 2`` (x, y) in [0, 1] of the crop. Target: ``{"points": B x K x 2}``.
    """

    name = "landmarks"
    contract_version = "1.0"
    description = "facial landmark localisation (paper §4.1.2: Euclidean regression, 8x8 tap)"
    Options = LandmarksOptions
    labels = LabelSchema(kind="points", names=MTFL_POINTS, unit="normalised coordinates")
    formats = FORMATS
    default_tap = "down4"
    default_batch_size = 64
    options: LandmarksOptions

    def build_decoder(self, tap: FeatureSpec, ctx: BuildContext) -> Any:
        raise NotImplementedError("landmarks decoder: issue #3")

    def build_reencoder(self, levels: Sequence[FeatureSpec], ctx: BuildContext) -> Any:
        raise NotImplementedError("landmarks re-encoder: issue #3")

    def prediction_maps(self, prediction: Any, height: int, width: int) -> Any:
        raise NotImplementedError("landmarks prediction maps: issue #3")

    def loss(self, prediction: Any, target: Any) -> Any:
        raise NotImplementedError("landmarks loss: issue #3")

    def new_metric(self) -> Any:
        raise NotImplementedError("landmarks metric: issue #4")

    def to_json(self, prediction: Any) -> dict[str, Any]:
        raise NotImplementedError("landmarks JSON: issue #4")

    def draw_overlay(self, image: Any, prediction: Any, target: Any = None) -> Any:
        raise NotImplementedError("landmarks overlay: issue #4")
