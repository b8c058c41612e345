"""The public API for plugin authors: everything a task plugin imports from ifan, in one module.

A task plugin subclasses :class:`Task` and, as a rule, builds its parts from the helpers below:
readers that keep file and line for errors, the crop rule's face hints, crops of points and masks,
decoders and re-encoders, losses, metrics per kind of label, JSON in the photo's pixels and
overlays::

    from ifan.api import ClassMetric, FCTileEncoder, MLPHead, Task, class_json, read_csv_lines

Stability: every name here belongs to the task contract (:data:`CONTRACT_VERSION`), and this
module came with contract 1.3, so a plugin that imports it targets 1.3 or later. Within a major
version a name keeps its meaning and its signature, which a minor version may only extend (a new
optional parameter, a new field with a default); what a later minor version adds says so in its
documentation. Names are removed or changed incompatibly only with a new major version.
Everything else in ifan, the modules these names come from included, may change in any release:
import from ``ifan.api`` (the contract's own names are also in ``ifan``). The conformance suite
is :mod:`ifan.testing`. docs/api.md is generated from these docstrings.
"""

from __future__ import annotations

from ifan.balancers.base import Balancer, BalancerOptions
from ifan.class_task import ClassOptions, ClassTask, SoftmaxTask
from ifan.contract import (
    CONTRACT_VERSION,
    BuildContext,
    DatasetFormat,
    FeatureSpec,
    FormatOptions,
    LabelSchema,
    OpenContext,
    Split,
    Task,
    TaskOptions,
    moves_geometry,
)
from ifan.contract_checks import task_problems
from ifan.data.augment import IGNORE
from ifan.data.bad_samples import BadSamples
from ifan.data.batch_augment import AugmentedBatch
from ifan.data.classes import ClassRecord, open_class_records, read_class_folders
from ifan.data.dataset import RecordDataset, face_dataset
from ifan.data.errors import DatasetError
from ifan.data.face_boxes import FaceHint
from ifan.data.hints import photo_hint, points_hint
from ifan.data.images import (
    IMAGE_SUFFIXES,
    Box,
    box_around,
    crop_square,
    find_image,
    image_size,
    letterbox,
    load_rgb,
    to_tensor,
    uncrop,
)
from ifan.data.lists import Line, read_csv_lines, read_lines
from ifan.data.masks import (
    LabelledPhoto,
    SizeMismatch,
    check_label_size,
    collate_masks,
    fit_labels,
    mask_dataset,
    mask_sample,
    read_index_mask,
)
from ifan.data.mtfl import (
    MTFL_ATTRIBUTES,
    MtflAttributeFormat,
    mtfl_labels,
    parse_mtfl_line,
    read_mtfl,
)
from ifan.data.points import FacePoints, check_points, crop_points
from ifan.data.utkface import (
    UTKFACE_ATTRIBUTES,
    UtkFaceAttributeFormat,
    UtkFaceName,
    parse_utkface_name,
    read_utkface,
    utkface_labels,
)
from ifan.hookspecs import hookimpl
from ifan.loggers.base import TrainingLogger
from ifan.loggers.events import CheckpointSaved, EpochEnded, RunEnded, RunStarted, Validated
from ifan.losses import ClassWeights, class_weights_field, cross_entropy, weight_per_class
from ifan.manifest.schema import ResolvedPath
from ifan.metrics.base import Cell, Metric
from ifan.metrics.classes import ClassMetric
from ifan.metrics.confusion import ConfusionMetric
from ifan.metrics.masks import MaskMetric
from ifan.metrics.names import ALL, per_label, value_name
from ifan.metrics.points import PointsMetric
from ifan.metrics.values import ValueMetric
from ifan.network.decoders import MLPHead, PixelClassifier, SoftArgmaxPoints, soft_argmax
from ifan.network.maps import PointHeatmaps, point_heatmaps, resize_maps
from ifan.network.reencoders import ConvPoolPyramid, FCTileEncoder, Probabilities
from ifan.network.test_flip import unflip_classes, unflip_maps, unflip_points
from ifan.outputs.classes import class_json, class_overlay
from ifan.outputs.masks import class_map, mask_json, mask_overlay, run_lengths
from ifan.outputs.points import points_json, points_overlay, to_pixels
from ifan.plugins import load_registry
from ifan.pretrained import PretrainedModel
from ifan.visual import blend_classes, draw_points, enlarge, palette, side_by_side, side_panel

__all__ = [
    "ALL",
    "CONTRACT_VERSION",
    "IGNORE",
    "IMAGE_SUFFIXES",
    "MTFL_ATTRIBUTES",
    "UTKFACE_ATTRIBUTES",
    "AugmentedBatch",
    "BadSamples",
    "Balancer",
    "BalancerOptions",
    "Box",
    "BuildContext",
    "Cell",
    "CheckpointSaved",
    "ClassMetric",
    "ClassOptions",
    "ClassRecord",
    "ClassTask",
    "ClassWeights",
    "ConfusionMetric",
    "ConvPoolPyramid",
    "DatasetError",
    "DatasetFormat",
    "EpochEnded",
    "FCTileEncoder",
    "FaceHint",
    "FacePoints",
    "FeatureSpec",
    "FormatOptions",
    "LabelSchema",
    "LabelledPhoto",
    "Line",
    "MLPHead",
    "MaskMetric",
    "Metric",
    "MtflAttributeFormat",
    "OpenContext",
    "PixelClassifier",
    "PointHeatmaps",
    "PointsMetric",
    "PretrainedModel",
    "Probabilities",
    "RecordDataset",
    "ResolvedPath",
    "RunEnded",
    "RunStarted",
    "SizeMismatch",
    "SoftArgmaxPoints",
    "SoftmaxTask",
    "Split",
    "Task",
    "TaskOptions",
    "TrainingLogger",
    "UtkFaceAttributeFormat",
    "UtkFaceName",
    "Validated",
    "ValueMetric",
    "blend_classes",
    "box_around",
    "check_label_size",
    "check_points",
    "class_json",
    "class_map",
    "class_overlay",
    "class_weights_field",
    "collate_masks",
    "crop_points",
    "crop_square",
    "cross_entropy",
    "draw_points",
    "enlarge",
    "face_dataset",
    "find_image",
    "fit_labels",
    "hookimpl",
    "image_size",
    "letterbox",
    "load_registry",
    "load_rgb",
    "mask_dataset",
    "mask_json",
    "mask_overlay",
    "mask_sample",
    "moves_geometry",
    "mtfl_labels",
    "open_class_records",
    "palette",
    "parse_mtfl_line",
    "parse_utkface_name",
    "per_label",
    "photo_hint",
    "point_heatmaps",
    "points_hint",
    "points_json",
    "points_overlay",
    "read_class_folders",
    "read_csv_lines",
    "read_index_mask",
    "read_lines",
    "read_mtfl",
    "read_utkface",
    "resize_maps",
    "run_lengths",
    "side_by_side",
    "side_panel",
    "soft_argmax",
    "task_problems",
    "to_pixels",
    "to_tensor",
    "uncrop",
    "unflip_classes",
    "unflip_maps",
    "unflip_points",
    "utkface_labels",
    "value_name",
    "weight_per_class",
]
