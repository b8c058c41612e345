"""Backbones: feedback injection reaches deeper levels, timm encoders, local checkpoints."""

from __future__ import annotations

import copy

import pytest
import timm
import torch
from safetensors.torch import save_file

from ifan.errors import BackboneError
from ifan.network.backbones import create_backbone
from ifan.network.backbones.timm_encoder import TimmEncoder, feature_levels, load_weights
from ifan.network.task_batchnorm import NormFactory, TaskBatchNorm
from tests.network.network_toys import make_model


@pytest.mark.parametrize("backbone", ["fc-densenet", "resnet18", "mobilenetv3_small_100"])
def test_feedback_at_a_level_reaches_that_tap_and_everything_deeper(backbone, images):
    model = make_model(1, backbone, iterations=0).eval()
    with torch.no_grad():
        plain = model.backbone(images)

        def inject(level, features):
            return features + 1.0 if level == 2 else features

        fed = model.backbone(images, inject)
    assert torch.equal(fed["down1"], plain["down1"])
    assert torch.allclose(fed["down2"], plain["down2"] + 1.0)
    for tap in ("down3", "down4", "down5", "up4", "up0"):
        assert not torch.allclose(fed[tap], plain[tap]), tap


def test_encoder_starting_at_stride_4_gets_a_synthesised_down1(images):
    model = make_model(2, "convnext_atto", iterations=1).eval()
    assert model.backbone.synthesised_down1 is not None
    with model.norm.use("cls"):
        taps = model.backbone(images)
    assert taps["down1"].shape == (2, 32, 32, 32)
    assert taps["down2"].shape == (2, 40, 16, 16)  # convnext's first stage, stride 4
    outputs = model(images, task="cls")
    assert outputs[-1]["map"].shape == (2, 2, 64, 64)


def test_encoder_without_the_needed_strides_is_refused():
    with pytest.raises(BackboneError, match=r"strides 4, 8, 16 and 32 \(missing \[4, 8, 32\]\)"):
        feature_levels("vit_tiny_patch16_224", [16, 16, 16])
    assert feature_levels("resnet18", [2, 4, 8, 16, 32]) == {1: 0, 2: 1, 3: 2, 4: 3, 5: 4}
    assert feature_levels("convnext_atto", [4, 8, 16, 32]) == {2: 0, 3: 1, 4: 2, 5: 3}
    with pytest.raises(BackboneError, match="vit_tiny_patch16_224"):
        create_backbone("vit_tiny_patch16_224", 64, NormFactory(["a"]))


def test_unknown_backbone_is_a_clear_error():
    with pytest.raises(BackboneError, match="did you mean 'resnet18'"):
        create_backbone("resnet1888", 64, NormFactory(["a"]))


def test_timm_batch_norm_is_converted_per_task_keeping_the_activation():
    norm = NormFactory(["a", "b"])
    backbone = create_backbone("mobilenetv3_small_100", 64, norm)
    encoder = backbone.encoder
    converted = [m for m in encoder.modules() if isinstance(m, TaskBatchNorm)]
    plain = [
        m
        for m in encoder.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
        and not any(m is c for t in converted for c in t.norms.values())
    ]
    assert converted and not plain
    for module in converted:
        assert module.norms["a"] is not module.norms["b"]
    # timm's BatchNormAct2d (batch norm with its activation) stays one, activation included
    with_act = [m for m in converted if isinstance(m.norms["b"], timm.layers.BatchNormAct2d)]
    assert len(with_act) == 33
    assert any(not isinstance(m.norms["b"].act, torch.nn.Identity) for m in with_act)


@pytest.fixture
def resnet_weights(tmp_path):
    torch.manual_seed(3)
    full = timm.create_model("resnet18", pretrained=False)
    with torch.no_grad():
        full.bn1.running_mean.uniform_(-1, 1)  # not the default 0: loading must be visible
    return {k: v.clone().contiguous() for k, v in full.state_dict().items()}


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_timm_checkpoint_is_loaded_into_every_task_copy(tmp_path, resnet_weights, suffix):
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".safetensors":
        save_file(resnet_weights, str(path))
    else:
        torch.save({"state_dict": {f"module.{k}": v for k, v in resnet_weights.items()}}, path)
    backbone = TimmEncoder("resnet18", 64, NormFactory(["a", "b"]), checkpoint=path)
    assert torch.equal(backbone.encoder.conv1.weight, resnet_weights["conv1.weight"])
    assert torch.equal(
        backbone.encoder.layer4[1].conv2.weight, resnet_weights["layer4.1.conv2.weight"]
    )
    for task in ("a", "b"):
        copy_ = backbone.encoder.bn1.norms[task]
        assert torch.equal(copy_.running_mean, resnet_weights["bn1.running_mean"])


def test_checkpoints_that_do_not_fit_or_are_not_plain_weights_are_refused(tmp_path, resnet_weights):
    norm = NormFactory(["a"])
    with pytest.raises(BackboneError, match="does not exist"):
        TimmEncoder("resnet18", 64, norm, checkpoint=tmp_path / "missing.pth")
    partial = tmp_path / "partial.pth"
    torch.save({k: v for k, v in resnet_weights.items() if not k.startswith("layer4")}, partial)
    with pytest.raises(BackboneError, match=r"missing, e\.g\. layer4"):
        TimmEncoder("resnet18", 64, norm, checkpoint=partial)
    pickled = tmp_path / "pickled.pth"
    torch.save({"weights": resnet_weights, "note": _NotATensor()}, pickled)
    with pytest.raises(BackboneError, match="objects other than tensors"):
        load_weights(pickled)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file")
    with pytest.raises(BackboneError, match="cannot read"):
        load_weights(garbage)


class _NotATensor:
    """An arbitrary object: torch.load(weights_only=True) must refuse to unpickle it."""


def test_fc_densenet_takes_no_checkpoint(tmp_path):
    with pytest.raises(BackboneError, match="timm encoders"):
        create_backbone("fc-densenet", 64, NormFactory(["a"]), tmp_path / "x.pth")


@pytest.mark.parametrize("backbone", ["fc-densenet", "resnet18"])
def test_a_deep_copy_is_an_independent_working_model(backbone, images):
    model = make_model(2, backbone, iterations=1).eval()
    twin = copy.deepcopy(model)
    with torch.no_grad():
        expected = model(images, task="map")[-1]["map"]
        assert torch.equal(twin(images, task="map")[-1]["map"], expected)
        for p in twin.parameters():
            p.add_(0.01)
        assert not torch.equal(twin(images, task="map")[-1]["map"], expected)
        assert torch.equal(model(images, task="map")[-1]["map"], expected)
