"""``upsample_bilinear``: the values and gradients of ``F.interpolate``, with the gradient handed
to the interpolation in the forward's channels-last layout (its fast CPU path)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ifan.network.upsampling import upsample_bilinear


def up_path(upsample, maps: torch.Tensor, skip: torch.Tensor, conv: torch.nn.Conv2d):
    """The decoders' up stage: enlarge, concatenate with the skip, convolve; the loss's gradient
    of the maps."""
    maps = maps.clone().requires_grad_()
    out = conv(torch.cat([upsample(maps), skip], 1))
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    return out, maps.grad


def test_values_and_gradients_are_those_of_interpolate():
    torch.manual_seed(0)
    cl = torch.channels_last
    maps = torch.randn(4, 8, 6, 6).contiguous(memory_format=cl)
    skip = torch.randn(4, 5, 12, 12).contiguous(memory_format=cl)
    conv = torch.nn.Conv2d(13, 7, 3, padding=1).to(memory_format=cl)

    def plain(x):
        return F.interpolate(x, size=(12, 12), mode="bilinear", align_corners=False)

    def ours(x):
        return upsample_bilinear(x, (12, 12))

    expected, expected_grad = up_path(plain, maps, skip, conv)
    got, grad = up_path(ours, maps, skip, conv)
    assert torch.equal(got, expected)
    assert torch.allclose(grad, expected_grad, atol=1e-6)


def test_the_gradient_reaches_the_interpolation_channels_last():
    maps = torch.randn(2, 4, 5, 5).contiguous(memory_format=torch.channels_last).requires_grad_()
    out = upsample_bilinear(maps, (10, 10))
    assert type(out.grad_fn).__name__ == "_ChannelsLastGradientBackward"
    seen = []
    out.grad_fn.register_hook(lambda inputs, outputs: seen.append(inputs[0]))
    torch.cat([out, torch.zeros(2, 3, 10, 10)], 1).sum().backward()
    assert seen[0].is_contiguous(memory_format=torch.channels_last)


def test_without_gradients_or_channels_last_it_is_interpolate_itself():
    maps = torch.randn(2, 4, 5, 5, requires_grad=True)
    assert type(upsample_bilinear(maps, (10, 10)).grad_fn).__name__ == "UpsampleBilinear2DBackward0"
    with torch.no_grad():
        out = upsample_bilinear(maps.contiguous(memory_format=torch.channels_last), (10, 10))
    assert out.grad_fn is None and out.shape == (2, 4, 10, 10)
