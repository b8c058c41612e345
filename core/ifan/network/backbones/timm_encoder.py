"""Any timm encoder as the backbone, with a light up path so that every tap exists.

``down1`` .. ``down5`` are the encoder's features at strides 2 .. 32 (``features_only=True``);
``down0`` (stride 1) comes from a light conv stem on the input, and when the encoder has no
stride-2 feature (e.g. ConvNeXt starts at stride 4) ``down1`` comes from a stride-2 conv on that
stem. Encoders without features at strides 4, 8, 16 and 32 (e.g. plain ViTs) are refused with a
:class:`~ifan.errors.BackboneError`.

Feedback reaches the encoder through forward hooks on its feature modules: the hook returns the
integrated features, so the encoder continues from them and deeper levels see the feedback too.
The feedback at ``down0`` (and a synthesised ``down1``) reaches the taps and the up path only, as
the encoder reads the raw image.

The up path: at each level, bilinear 2x upsampling, concatenation with the down-path features of
that level and conv3x3-BN-ReLU, with ``min(128, 16 * 2**L)`` channels at level L.

Input normalisation: an encoder that starts from pretrained weights (``backbone_checkpoint``)
reads its images normalised as it was trained, with the mean and standard deviation of timm's
``pretrained_cfg``; the stem reads the raw [0, 1] pixels. The two are buffers of the backbone
(``backbone.input_mean``, ``backbone.input_std``), so every checkpoint records them and
evaluation, prediction and ONNX export apply them without the pretrained file. An encoder trained
from scratch has mean 0 and std 1, which leave every pixel exactly as it is, and a checkpoint
written before they were recorded loads with those, as it was trained.
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ifan.errors import BackboneError
from ifan.network.backbones.base import Backbone, Injector
from ifan.network.layers import conv_norm_relu
from ifan.network.precision import grouped_convolutions_in_float32
from ifan.network.taps import DEPTH
from ifan.network.task_batchnorm import NormFactory
from ifan.network.upsampling import upsample_bilinear

STEM_CHANNELS = 16
RAW_PIXELS = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
"""The mean and std that leave the pixels as they are: an encoder trained from scratch."""


def up_width(level: int) -> int:
    """Channels of the light up path at ``level``."""
    return min(128, 16 * 2**level)


def load_weights(path: Path) -> dict[str, Tensor]:
    """A state dict from a local file, never unpickling arbitrary objects.

    ``.safetensors`` files are read with safetensors, anything else with
    ``torch.load(weights_only=True)``. A ``state_dict`` or ``model`` wrapper and a ``module.``
    prefix (DataParallel) are removed.
    """
    path = Path(path)
    if not path.is_file():
        raise BackboneError(f"backbone checkpoint {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            data: Any = load_file(str(path))
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise BackboneError(
            f"backbone checkpoint {path} holds Python objects other than tensors; ifan never "
            "unpickles arbitrary objects: save a plain state dict (model.state_dict()) or a "
            ".safetensors file"
        ) from exc
    except Exception as exc:
        raise BackboneError(
            f"cannot read backbone checkpoint {path}: {exc} (expected a safetensors file or a "
            "torch.save'd state dict of tensors)"
        ) from exc
    while isinstance(data, dict):
        inner = next(
            (data[k] for k in ("state_dict", "model") if isinstance(data.get(k), dict)), None
        )
        if inner is None:
            break
        data = inner
    if not isinstance(data, dict) or not all(isinstance(v, Tensor) for v in data.values()):
        raise BackboneError(f"backbone checkpoint {path} does not hold a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in data.items()}


def _checked_state_dict(name: str, path: Path) -> dict[str, Tensor]:
    """The checkpoint's weights as the full timm model ``name`` names them, checked to fit it."""
    import timm

    weights = load_weights(path)
    full = timm.create_model(name, pretrained=False)
    try:
        result = full.load_state_dict(weights, strict=False)
    except RuntimeError as exc:
        raise BackboneError(f"backbone checkpoint {path} does not fit {name}: {exc}") from exc
    config = full.pretrained_cfg
    assert isinstance(config, dict)  # timm gives every model its pretrained_cfg as a dict
    classifiers = config.get("classifier") or ()
    if isinstance(classifiers, str):
        classifiers = (classifiers,)
    missing = [k for k in result.missing_keys if not k.startswith(tuple(classifiers))]
    if missing:
        raise BackboneError(
            f"backbone checkpoint {path} does not fit {name}: {len(missing)} of its weights are "
            f"missing, e.g. {', '.join(missing[:3])}"
        )
    return full.state_dict()


def create_encoder(name: str, checkpoint: Path | None = None) -> nn.Module:
    """``timm.create_model(name, features_only=True)``, with local weights when given."""
    import timm

    if checkpoint is None:
        try:
            return timm.create_model(name, features_only=True, pretrained=False)
        except (RuntimeError, AssertionError, TypeError, ValueError) as exc:
            raise BackboneError(
                f"timm model {name!r} cannot be an ifan backbone: it has no feature-extraction "
                f"mode (features_only=True failed: {exc})"
            ) from exc
    weights = _checked_state_dict(name, checkpoint)
    # Weights passed in memory with no other source: timm adapts them and never downloads.
    overlay = {"source": "", "state_dict": weights, "custom_load": False}
    return timm.create_model(
        name, features_only=True, pretrained=True, pretrained_cfg_overlay=overlay
    )


def pretrained_normalisation(encoder: nn.Module) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The input mean and std an encoder's pretrained weights were trained with (timm's
    ``pretrained_cfg``, ImageNet's where it names none)."""
    from timm.data import resolve_model_data_config

    config = resolve_model_data_config(encoder)
    return tuple(config["mean"]), tuple(config["std"])


def _raw_pixels_if_absent(
    module: nn.Module, state_dict: dict[str, Tensor], prefix: str, *_
) -> None:
    """A load_state_dict pre-hook: weights without a recorded normalisation were trained on raw
    pixels (checkpoints written before it was recorded), so they load with mean 0 and std 1."""
    for name, values in zip(("input_mean", "input_std"), RAW_PIXELS, strict=True):
        state_dict.setdefault(prefix + name, torch.tensor(values).view(1, 3, 1, 1))


def feature_levels(name: str, reductions: list[int]) -> dict[int, int]:
    """Down level (1..5) -> index of the encoder feature at stride 2**level (the deepest one).

    Raises BackboneError when strides 4, 8, 16 and 32 are not all present.
    """
    levels: dict[int, int] = {}
    for index, reduction in enumerate(reductions):
        level = round(math.log2(reduction)) if reduction > 0 else -1
        if 2**level == reduction and 1 <= level <= DEPTH:
            levels[level] = index
    missing = [2**level for level in range(2, DEPTH + 1) if level not in levels]
    if missing:
        raise BackboneError(
            f"timm model {name!r} cannot be an ifan backbone: it has features at strides "
            f"{reductions}, but the taps need features at strides 4, 8, 16 and 32 (missing "
            f"{missing}); pick a convolutional or hierarchical encoder such as resnet18, "
            "efficientnet_b0 or convnext_atto"
        )
    return levels


def _resolve(module: nn.Module, name: str) -> nn.Module:
    """A feature module by timm's name; FeatureListNet flattens ``a.b`` to ``a_b``."""
    for candidate in dict.fromkeys((name, name.replace(".", "_", 1), name.replace(".", "_"))):
        try:
            return module.get_submodule(candidate)
        except AttributeError:
            pass
    raise BackboneError(f"cannot find the feature module {name!r} of this timm encoder")


class UpStage(nn.Module):
    """Bilinear 2x upsampling, concatenation with the skip, conv3x3-BN-ReLU."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, norm: NormFactory):
        super().__init__()
        self.conv = conv_norm_relu(in_channels + skip_channels, out_channels, norm)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = upsample_bilinear(x, (skip.shape[-2], skip.shape[-1]))
        return self.conv(torch.cat([x, skip], 1))


class _FeatureHook:
    """Forward hook on a feature module: records its output after the feedback is fused in.

    A plain object (not a closure) so that ``copy.deepcopy`` of a model rebinds it to the copy.
    """

    def __init__(self, owner: TimmEncoder, level: int):
        self.owner = owner
        self.level = level

    def __call__(self, module: nn.Module, args: Any, output: Tensor) -> Tensor:
        owner, channels = self.owner, self.owner._down_channels[self.level]
        nhwc = output.dim() == 4 and output.shape[1] != channels and output.shape[-1] == channels
        features = output.permute(0, 3, 1, 2) if nhwc else output
        if owner._inject is not None:
            features = owner._inject(self.level, features)
        owner._captured[self.level] = features
        return features.permute(0, 2, 3, 1) if nhwc else features


class TimmEncoder(Backbone):
    """A timm ``features_only`` encoder plus stem and light up path, exposing every tap."""

    input_mean: Tensor
    input_std: Tensor
    """The normalisation of the encoder's input (buffers: see the module's docstring)."""

    def __init__(
        self,
        model_name: str,
        input_size: int,
        norm: NormFactory,
        checkpoint: Path | None = None,
    ):
        from timm.models import FeatureInfo

        super().__init__()
        if input_size % 2**DEPTH:
            raise ValueError(f"input size {input_size} is not a multiple of {2**DEPTH}")
        self.name = model_name
        self.input_size = input_size
        encoder = create_encoder(model_name, checkpoint)
        mean, std = RAW_PIXELS if checkpoint is None else pretrained_normalisation(encoder)
        self.register_buffer("input_mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("input_std", torch.tensor(std).view(1, 3, 1, 1))
        self.register_load_state_dict_pre_hook(_raw_pixels_if_absent)
        info = encoder.feature_info
        assert isinstance(info, FeatureInfo)  # what every features_only model describes
        levels = feature_levels(model_name, list(info.reduction()))
        channels, names = list(info.channels()), list(info.module_name())
        self.encoder = norm.convert(encoder)
        grouped_convolutions_in_float32(self.encoder)
        self.stem = conv_norm_relu(3, STEM_CHANNELS, norm)
        self.synthesised_down1: nn.Module | None = None
        down = [STEM_CHANNELS] + [channels[levels[lv]] if lv in levels else 0 for lv in range(1, 6)]
        if 1 not in levels:
            down[1] = 2 * STEM_CHANNELS
            self.synthesised_down1 = nn.Sequential(
                nn.Conv2d(STEM_CHANNELS, down[1], 3, stride=2, padding=1, bias=False),
                norm(down[1]),
                nn.ReLU(inplace=True),
            )
        self._down_channels = down
        self.up = nn.ModuleList(
            UpStage(
                down[DEPTH] if lv == DEPTH - 1 else up_width(lv + 1), down[lv], up_width(lv), norm
            )
            for lv in range(DEPTH - 1, -1, -1)
        )
        self._inject: Injector | None = None
        self._captured: dict[int, Tensor] = {}
        self.hooked_modules = {}
        for level, index in levels.items():
            module = _resolve(self.encoder, names[index])
            module.register_forward_hook(_FeatureHook(self, level))
            self.hooked_modules[level] = names[index]

    def down_channels(self) -> list[int]:
        return list(self._down_channels)

    def up_channels(self) -> list[int]:
        return [up_width(level) for level in range(DEPTH)]

    def forward(
        self, images: Tensor, inject: Injector | None = None, up_to: int | None = 0
    ) -> dict[str, Tensor]:
        taps: dict[str, Tensor] = {}
        stem = self.stem(images)
        taps["down0"] = inject(0, stem) if inject is not None else stem
        if self.synthesised_down1 is not None:
            down1 = self.synthesised_down1(taps["down0"])
            taps["down1"] = inject(1, down1) if inject is not None else down1
        self._inject, self._captured = inject, {}
        try:
            self.encoder((images - self.input_mean) / self.input_std)
            captured = self._captured
        finally:
            self._inject, self._captured = None, {}
        for level, features in captured.items():
            taps[f"down{level}"] = features
        if up_to is None:
            return taps
        x = taps[f"down{DEPTH}"]
        for stage, level in zip(self.up, range(DEPTH - 1, -1, -1), strict=True):
            if level < up_to:
                break
            x = stage(x, taps[f"down{level}"])
            taps[f"up{level}"] = x
        return taps
