"""Batch norm in distributed training: two gloo processes, each with half of a batch, normalise
with the statistics of the whole batch and end with the running statistics one process would
have, for the backbone's own layers and for a timm encoder's (whose fused activation stays).
The code path is the one NCCL takes on GPUs: only the collective's backend differs."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from timm.layers import BatchNormAct2d
from torch import nn

from ifan.network.task_batchnorm import FlexBatchNorm, NormFactory, SyncedNorm, synced


def _norms() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    flex = FlexBatchNorm(3)
    timm_norm = BatchNormAct2d(3, act_layer=nn.ReLU)
    for norm in (flex, timm_norm):
        nn.init.uniform_(norm.weight, 0.5, 1.5), nn.init.uniform_(norm.bias, -0.5, 0.5)
    wrapper = nn.Sequential(timm_norm)
    NormFactory(["a"], per_task=False).convert(wrapper)
    return {"flex": flex, "timm": wrapper[0]}


def _batch() -> torch.Tensor:
    return torch.randn(4, 3, 5, 5, generator=torch.Generator().manual_seed(1)) * 3 + 1


def _worker(rank: int, init: str, results: dict) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        out = {}
        for name, norm in _norms().items():
            x = _batch()[2 * rank : 2 * rank + 2].requires_grad_()
            y = norm.train()(x)
            y.square().sum().backward()
            out[name] = (y.detach(), x.grad, norm.running_mean, norm.running_var, norm.weight.grad)
        results[rank] = out
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_normalise_with_the_whole_batch(tmp_path):
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_worker, args=(f"file://{tmp_path / 'store'}", results), nprocs=2)
        results = dict(results)
    for name, norm in _norms().items():
        x = _batch().requires_grad_()
        y = norm.train()(x)
        y.square().sum().backward()
        halves = [results[rank][name] for rank in (0, 1)]
        torch.testing.assert_close(torch.cat([h[0] for h in halves]), y.detach())
        torch.testing.assert_close(torch.cat([h[1] for h in halves]), x.grad)
        for rank in (0, 1):
            torch.testing.assert_close(halves[rank][2], norm.running_mean)
            torch.testing.assert_close(halves[rank][3], norm.running_var)
        # the gradient of an affine weight is summed by DDP; each process holds its share
        torch.testing.assert_close(halves[0][4] + halves[1][4], norm.weight.grad)
        assert (y >= 0).all() if name == "timm" else (y < 0).any()  # the activation is kept


def test_a_synced_norm_keeps_its_weights_keys_and_single_process_behaviour():
    plain = BatchNormAct2d(3, act_layer=nn.ReLU)
    before = copy.deepcopy(plain)
    converted = synced(plain)
    assert isinstance(converted, SyncedNorm) and isinstance(converted, BatchNormAct2d)
    assert converted.state_dict().keys() == before.state_dict().keys()
    x = _batch()
    torch.testing.assert_close(converted.train()(x), before.train()(x))
    assert synced(converted) is converted and type(synced(nn.BatchNorm2d(3))) is not nn.BatchNorm2d
