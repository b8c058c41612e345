"""Backbone factory: ``create_backbone(name, ...)`` for ``fc-densenet`` and every timm encoder."""

from __future__ import annotations

from pathlib import Path

from ifan.errors import BackboneError
from ifan.network.backbones.base import Backbone, Injector
from ifan.network.backbones.names import NATIVE_BACKBONES, backbone_problem
from ifan.network.task_batchnorm import NormFactory


def create_backbone(
    name: str, input_size: int, norm: NormFactory, checkpoint: Path | None = None
) -> Backbone:
    """The backbone called ``name``, its batch norm made (or converted) by ``norm``.

    ``checkpoint`` is a local weights file for a timm encoder; nothing is ever downloaded.
    """
    problem = backbone_problem(name)
    if problem:
        raise BackboneError(problem)
    if name in NATIVE_BACKBONES:
        if checkpoint is not None:
            raise BackboneError(
                f"backbone_checkpoint is for timm encoders; {name} is trained from scratch"
            )
        from ifan.network.backbones.fc_densenet import FCDenseNet

        return FCDenseNet(input_size, norm)
    from ifan.network.backbones.timm_encoder import TimmEncoder

    return TimmEncoder(name, input_size, norm, checkpoint)


__all__ = ["Backbone", "Injector", "create_backbone"]
