"""Manifests: TOML or YAML files that compose a task set, its data, the model and the training."""

from ifan.manifest.loader import DataConfig, Manifest, TaskConfig, load_manifest, validate_document
from ifan.manifest.schema import ModelConfig, ResolvedPath, TrainConfig, manifest_model

__all__ = [
    "DataConfig",
    "Manifest",
    "ModelConfig",
    "ResolvedPath",
    "TaskConfig",
    "TrainConfig",
    "load_manifest",
    "manifest_model",
    "validate_document",
]
