"""Grouped convolutions run in float32 under CPU bfloat16 autocast; everything else is unchanged."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ifan.network import precision
from ifan.network.backbones import create_backbone
from ifan.network.precision import (
    CpuFloat32Conv2d,
    bf16_support,
    grouped_convolutions_in_float32,
    precision_line,
    use_bf16,
)
from ifan.network.task_batchnorm import NormFactory


def _layers() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1),  # plain: stays bf16 under autocast
        nn.Conv2d(8, 8, 3, padding=1, groups=8),  # depthwise
        nn.Conv2d(8, 8, 1, groups=2),  # grouped
    )


def test_only_grouped_convolutions_are_turned_keeping_their_weights():
    layers = _layers()
    before = {k: v.clone() for k, v in layers.state_dict().items()}
    assert grouped_convolutions_in_float32(layers) == 2
    assert [type(layer) for layer in layers] == [nn.Conv2d, CpuFloat32Conv2d, CpuFloat32Conv2d]
    after = layers.state_dict()
    assert list(after) == list(before)
    assert all(torch.equal(after[k], before[k]) for k in before)
    assert grouped_convolutions_in_float32(layers) == 0  # already turned


def test_a_turned_convolution_computes_in_float32_under_cpu_autocast():
    plain = _layers()[1]
    turned = copy.deepcopy(plain)
    grouped_convolutions_in_float32(nn.Sequential(turned))
    x = torch.randn(2, 8, 6, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        autocast_plain = plain(x)
        autocast_turned = turned(x)
        autocast_turned_from_bf16 = turned(x.bfloat16())
    assert autocast_plain.dtype == torch.bfloat16
    assert autocast_turned.dtype == torch.float32
    assert torch.allclose(autocast_turned, plain(x), atol=1e-6)  # float32's result, not bf16's
    assert not torch.allclose(autocast_plain.float(), plain(x), atol=1e-4)
    assert torch.allclose(autocast_turned_from_bf16, plain(x.bfloat16().float()), atol=1e-6)
    assert torch.equal(turned(x), plain(x))  # without autocast: the same convolution


def test_gradients_flow_through_a_turned_layer_into_bf16_neighbours():
    layers = _layers()
    grouped_convolutions_in_float32(layers)
    x = torch.randn(2, 4, 6, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = layers(x).float().square().mean()
    loss.backward()
    for name, weight in layers.named_parameters():
        assert weight.grad is not None and weight.grad.abs().sum() > 0, name


def test_a_mobilenet_encoder_has_its_depthwise_convolutions_turned():
    backbone = create_backbone("mobilenetv3_small_100", 64, NormFactory(["a"]))
    turned = [m for m in backbone.modules() if isinstance(m, CpuFloat32Conv2d)]
    plain_grouped = [
        m for m in backbone.modules() if type(m) is nn.Conv2d and m.groups > 1
    ]  # none left behind
    assert len(turned) == 11 and plain_grouped == []
    assert all(m.groups == m.in_channels for m in turned)  # MobileNetV3's are all depthwise


def _cpu_with(monkeypatch, amx: bool = False, avx512_bf16: bool = False, machine: str = "x86_64"):
    """This test's CPU: torch's capability probes and the platform answer as given."""
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(precision.platform, "machine", lambda: machine)


CPU = torch.device("cpu")


def test_auto_trains_in_bf16_only_on_a_cpu_with_native_bf16(monkeypatch):
    _cpu_with(monkeypatch, amx=True)
    assert (bf16_support(CPU), use_bf16("auto", CPU)) == ("AMX", True)
    _cpu_with(monkeypatch, avx512_bf16=True)
    assert (bf16_support(CPU), use_bf16("auto", CPU)) == ("AVX512-BF16", True)
    _cpu_with(monkeypatch)  # AVX2 only: bfloat16 would be emulated
    assert (bf16_support(CPU), use_bf16("auto", CPU)) == (None, False)
    assert "float32" in precision_line("auto", CPU)
    # An explicit setting is obeyed either way, with a warning where it costs.
    assert use_bf16(True, CPU) and not use_bf16(False, CPU)
    assert "emulated" in precision_line(True, CPU) and "auto" in precision_line(True, CPU)
    _cpu_with(monkeypatch, avx512_bf16=True)
    assert precision_line(True, CPU) == "bfloat16 autocast (AVX512-BF16)"
    assert precision_line(False, CPU) == "float32"


def test_auto_asks_the_arm_cpu_and_a_torch_without_the_probes_reads_as_no_support(monkeypatch):
    _cpu_with(monkeypatch, machine="aarch64")
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    assert bf16_support(CPU) == "Arm BF16"
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert bf16_support(CPU) is None
    monkeypatch.setattr(precision.platform, "machine", lambda: "x86_64")
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")
    assert bf16_support(CPU) is None
    assert bf16_support(torch.device("meta")) is None
