"""On a GPU: the network trains and predicts there as on the CPU. Skipped without one (CI has
none); ``bench/gpu_check.sh`` runs these on a GPU machine."""

from __future__ import annotations

import copy

import pytest
import torch

from tests.network.network_toys import make_model

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU"),
]


def _images() -> torch.Tensor:
    return torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def test_predictions_on_the_gpu_equal_the_cpu_s():
    model = make_model(iterations=1).eval()
    with torch.no_grad():
        cpu = model.predict_all(_images())
        gpu = copy.deepcopy(model).cuda().predict_all(_images().cuda())
    for task, value in cpu.items():
        torch.testing.assert_close(gpu[task].cpu(), value, atol=1e-4, rtol=1e-3)


def test_a_training_step_on_the_gpu_gives_the_cpu_s_gradients():
    model = make_model(iterations=1).train()
    on_gpu = copy.deepcopy(model).cuda()
    grads = []
    for net, images in ((model, _images()), (on_gpu, _images().cuda())):
        task = net.task_names[0]
        out = net(images, task=task)[-1][task]
        out.float().square().mean().backward()
        grads.append(
            torch.cat([p.grad.flatten().cpu() for p in net.parameters() if p.grad is not None])
        )
    torch.testing.assert_close(grads[1], grads[0], atol=1e-4, rtol=1e-3)
