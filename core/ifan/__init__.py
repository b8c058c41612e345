"""ifan: integrated face analytics networks (Li et al., ACM MM 2017) as a plugin framework."""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import metadata
from typing import TYPE_CHECKING

from ifan.contract import (
    CONTRACT_VERSION,
    BuildContext,
    DatasetFormat,
    FeatureSpec,
    FormatOptions,
    LabelSchema,
    OpenContext,
    Task,
    TaskOptions,
)
from ifan.data.errors import DatasetError
from ifan.hookspecs import hookimpl

if TYPE_CHECKING:
    from ifan.inference import Predictor

try:
    __version__ = metadata.version("ifan")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "CONTRACT_VERSION",
    "BuildContext",
    "DatasetError",
    "DatasetFormat",
    "FeatureSpec",
    "FormatOptions",
    "LabelSchema",
    "OpenContext",
    "Task",
    "TaskOptions",
    "__version__",
    "hookimpl",
    "load",
]


def load(
    path: str | os.PathLike,
    device: str | None = None,
    bf16: bool = False,
    overrides: Sequence[str] = (),
) -> Predictor:
    """A trained network ready for photos: ``ifan.load(run_or_checkpoint).predict(image)``, or
    an installed pretrained model by name: ``ifan.load("faces3")``. ``overrides`` change how it
    runs as ``--set`` does, e.g. ``["model.test_flip=false"]``.

    See :func:`ifan.inference.load`; imported on first use so that ``import ifan`` stays light.
    """
    from ifan.inference import load as load_predictor

    return load_predictor(path, device, overrides, bf16=bf16)
