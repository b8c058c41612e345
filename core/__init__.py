"""ifan: integrated face analytics networks (Li et al., ACM MM 2017) as a plugin framework."""

from importlib import metadata

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
]
