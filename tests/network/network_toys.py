"""Small test-only tasks with real decoders, re-encoders and losses, and a model factory.

A module of its own (not conftest) so that the tests can import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ifan.contract import BuildContext, FeatureSpec, LabelSchema, Task
from ifan.manifest.schema import ModelConfig
from ifan.network.decoders import MLPHead, PixelClassifier
from ifan.network.maps import resize_maps
from ifan.network.model import IFAN
from ifan.network.reencoders import ConvPoolPyramid, FCTileEncoder


class _ToyTask(Task):
    contract_version = "1.0"
    formats = ()

    def new_metric(self) -> Any:
        raise NotImplementedError("not needed by the network tests")

    def to_json(self, prediction: Any) -> dict[str, Any]:
        raise NotImplementedError("not needed by the network tests")

    def draw_overlay(self, image: Any, prediction: Any, target: Any = None) -> Any:
        raise NotImplementedError("not needed by the network tests")


class ToyClassTask(_ToyTask):
    """Three classes per image: pooled MLP decoder, FC-and-tile re-encoder, cross-entropy."""

    name = "toyclass"
    labels = LabelSchema(kind="class", names=("a", "b", "c"))
    default_tap = "down5"

    def build_decoder(self, tap: FeatureSpec, ctx: BuildContext) -> nn.Module:
        return MLPHead(tap, 3, 16, ctx.norm, "avg")

    def build_reencoder(self, levels: Sequence[FeatureSpec], ctx: BuildContext) -> nn.Module:
        return nn.Sequential(nn.Softmax(1), FCTileEncoder(3, levels, hidden=8))

    def prediction_maps(self, prediction: torch.Tensor, height: int, width: int) -> torch.Tensor:
        return prediction.softmax(1)[:, :, None, None].expand(-1, -1, height, width)

    def loss(self, prediction: torch.Tensor, target: dict) -> torch.Tensor:
        return F.cross_entropy(prediction, target["label"])

    def target(self, batch: int, size: int) -> dict:
        return {"label": torch.arange(batch) % 3}


class ToyMapTask(_ToyTask):
    """Two classes per pixel: per-pixel classifier, conv/max-pool re-encoder, cross-entropy."""

    name = "toymap"
    labels = LabelSchema(kind="segmentation", names=("background", "face"))
    default_tap = "up0"

    def build_decoder(self, tap: FeatureSpec, ctx: BuildContext) -> nn.Module:
        return PixelClassifier(tap, 2, 8, ctx.norm, ctx.input_size)

    def build_reencoder(self, levels: Sequence[FeatureSpec], ctx: BuildContext) -> nn.Module:
        return nn.Sequential(nn.Softmax(1), ConvPoolPyramid(2, levels, ctx.norm, width=8))

    def prediction_maps(self, prediction: torch.Tensor, height: int, width: int) -> torch.Tensor:
        return resize_maps(prediction.softmax(1), height, width)

    def loss(self, prediction: torch.Tensor, target: dict) -> torch.Tensor:
        return F.cross_entropy(prediction, target["mask"])

    def target(self, batch: int, size: int) -> dict:
        mask = torch.zeros(batch, size, size, dtype=torch.long)
        mask[:, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
        return {"mask": mask}


TOY_SETUPS = [  # (name, class, tap): the first n make an n-task model
    ("cls", ToyClassTask, "down5"),
    ("map", ToyMapTask, "up0"),
    ("cls2", ToyClassTask, "down3"),
    ("map2", ToyMapTask, "up2"),
]


def toy_tasks(count: int) -> tuple[dict[str, Task], dict[str, str]]:
    """``count`` toy tasks (1..4) and their taps."""
    chosen = TOY_SETUPS[:count]
    return {name: cls() for name, cls, _ in chosen}, {name: tap for name, _, tap in chosen}


def make_model(
    count: int = 2,
    backbone: str = "fc-densenet",
    iterations: int = 1,
    input_size: int = 64,
    **config: Any,
) -> IFAN:
    torch.manual_seed(0)
    tasks, taps = toy_tasks(count)
    settings = ModelConfig(
        backbone=backbone,
        input_size=input_size,
        iterations=iterations,
        feedback_channels=4,
        **config,
    )
    return IFAN(tasks, settings, taps)


def expected_shape(task: Task, batch: int, size: int) -> tuple[int, ...]:
    return (batch, 3) if isinstance(task, ToyClassTask) else (batch, 2, size, size)
