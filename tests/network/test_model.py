"""Gradients, task-specific batch norm, the resize ablation and inference over every task."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ifan.network.maps import point_heatmaps, resize_maps
from ifan.network.task_batchnorm import TaskBatchNorm
from tests.network.network_toys import make_model


def targets(model, batch: int = 2, size: int = 64) -> dict:
    return {name: task.target(batch, size) for name, task in model.tasks.items()}


def grad_norm(module) -> float:
    grads = [p.grad.abs().sum() for p in module.parameters() if p.grad is not None]
    return float(sum(grads)) if grads else 0.0


@pytest.mark.parametrize("backbone", ["fc-densenet", "resnet18"])
def test_gradients_reach_the_reencoders_only_with_feedback(backbone, images):
    model = make_model(2, backbone, iterations=2)
    goal = targets(model)

    outputs = model(images, task="cls", iterations=0)
    model.loss(outputs, "cls", goal["cls"]).backward()
    for name in model.task_names:
        assert all(p.grad is None for p in model.reencoders[name].parameters()), name
    assert all(p.grad is None for p in model.integrator.fusions.parameters())
    assert grad_norm(model.decoders["cls"]) > 0 and grad_norm(model.backbone) > 0

    model.zero_grad(set_to_none=True)
    outputs = model(images, task="cls")
    assert len(outputs) == 3
    model.loss(outputs, "cls", goal["cls"]).backward()
    for name in model.task_names:
        assert grad_norm(model.reencoders[name]) > 0, name
        assert grad_norm(model.decoders[name]) > 0, name  # through the feedback, too
    for level, fusion in enumerate(model.integrator.fusions):
        assert grad_norm(fusion) > 0, level


def test_loss_sums_every_iteration(images):
    model = make_model(2, iterations=2)
    goal = targets(model)["map"]
    outputs = model(images, task="map")
    per_iteration = [model.tasks["map"].loss(out["map"], goal) for out in outputs]
    assert torch.allclose(model.loss(outputs, "map", goal), sum(per_iteration))
    assert not torch.allclose(per_iteration[0], per_iteration[2])  # the feedback changes it


def _bn_state(model, task: str | None) -> dict[str, torch.Tensor]:
    """Every batch-norm parameter and buffer of the model (task ``task``'s copies)."""
    state = {}
    for name, module in model.named_modules():
        if isinstance(module, TaskBatchNorm):
            norm = module.norms[task]
        elif isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and task is None:
            norm = module
        else:
            continue
        for key, value in [*norm.named_parameters(), *norm.named_buffers()]:
            state[f"{name}.{key}"] = value.detach().clone()
    return state


def _train_step(model, images, task: str) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    outputs = model(images, task=task)
    model.loss(outputs, task, targets(model)[task]).backward()
    optimizer.step()


def _changed(before: dict, after: dict, suffix: str) -> list[bool]:
    return [not torch.equal(before[k], after[k]) for k in before if k.endswith(suffix)]


@pytest.mark.parametrize("backbone", ["fc-densenet", "mobilenetv3_small_100"])
def test_a_step_on_one_task_leaves_the_other_tasks_batch_norm_untouched(backbone, images):
    model = make_model(2, backbone, iterations=1)
    cls_before, map_before = _bn_state(model, "cls"), _bn_state(model, "map")
    assert len(cls_before) > 50 and set(cls_before) == set(map_before)
    _train_step(model, images, "map")  # the second task: its copies are not the first ones
    cls_after, map_after = _bn_state(model, "cls"), _bn_state(model, "map")
    for key, value in cls_before.items():
        assert torch.equal(value, cls_after[key]), key
    # every batch norm of the model ran with task map's copy: statistics and affine moved
    assert all(_changed(map_before, map_after, "num_batches_tracked"))
    assert all(_changed(map_before, map_after, "running_mean"))
    moved = _changed(map_before, map_after, "weight")
    assert sum(moved) >= 0.9 * len(moved)


def test_shared_batch_norm_changes_with_every_task(images):
    model = make_model(2, iterations=1, batchnorm="shared")
    assert not any(isinstance(m, TaskBatchNorm) for m in model.modules())
    before = _bn_state(model, None)
    assert len(before) > 50
    _train_step(model, images, "cls")
    after = _bn_state(model, None)
    assert all(_changed(before, after, "running_mean"))
    assert sum(_changed(before, after, "weight")) >= 0.9 * len(_changed(before, after, "weight"))


def test_per_task_batch_norm_needs_the_task_named(images):
    model = make_model(2, iterations=0)
    with pytest.raises(RuntimeError, match="name the task"):
        model(images)
    with pytest.raises(KeyError, match="unknown task"):
        model(images, task="nope")
    single = make_model(1, iterations=0)
    assert single(images)[0]["cls"].shape == (2, 3)  # one task: no choice to make


def test_images_of_another_size_than_the_model_get_a_clear_error(images):
    """The integrator feeds predictions back at the input size, so a model built for 96 px
    (faces3) refuses 64-px images with the size it needs, where torch would name only tensors."""
    model = make_model(1, iterations=1, input_size=96)
    with pytest.raises(ValueError, match=r"64 x 64 px given to a model built for 96 x 96"):
        model(images)
    big = torch.rand(2, 3, 96, 96)
    assert len(model(big)) == 2  # iterations 0 and 1
    plain = make_model(1, iterations=0, input_size=96)
    assert plain(images)[0]["cls"].shape == (2, 3)  # without feedback any size runs


def test_predict_all_uses_each_tasks_own_batch_norm_and_costs_t_times_passes(images):
    model = make_model(3, iterations=2)
    for task in model.task_names:  # give each task its own batch-norm statistics
        _train_step(model, images + 0.3 * model.task_names.index(task), task)
    model.eval()
    passes = []
    model.backbone.register_forward_pre_hook(lambda module, args: passes.append(1))
    with torch.no_grad():
        predictions = model.predict_all(images)
        assert len(passes) == model.backbone_passes() == 3 * 3
        for task in model.task_names:
            own = model(images, task=task)[-1][task]
            other = model(images, task=next(t for t in model.task_names if t != task))[-1][task]
            assert torch.equal(predictions[task], own)
            assert not torch.allclose(predictions[task], other)


def test_predict_all_with_shared_batch_norm_is_one_forward(images):
    model = make_model(3, iterations=2, batchnorm="shared").eval()
    passes = []
    model.backbone.register_forward_pre_hook(lambda module, args: passes.append(1))
    with torch.no_grad():
        predictions = model.predict_all(images)
    assert len(passes) == model.backbone_passes() == 3
    assert sorted(predictions) == sorted(model.task_names)


def test_resize_ablation_feeds_back_the_resized_prediction_maps(images):
    model = make_model(2, iterations=1, reencoder="resize").eval()
    assert model.reencoders is None
    fed = {}
    for level, fusion in enumerate(model.integrator.fusions):
        assert fusion.in_channels == 3 + 2  # prediction channels of cls and map
        fusion.register_forward_pre_hook(lambda m, args, level=level: fed.update({level: args[0]}))
    with torch.no_grad():
        outputs = model(images, task="map")
    first = outputs[0]
    assert sorted(fed) == list(range(6))
    for level in range(6):
        size = 64 // 2**level
        probabilities = first["map"].softmax(1)
        expected_map = F.avg_pool2d(probabilities, 2**level) if level else probabilities
        expected_cls = first["cls"].softmax(1)[:, :, None, None].expand(-1, -1, size, size)
        assert torch.allclose(fed[level], torch.cat([expected_cls, expected_map], 1), atol=1e-6)


def test_point_heatmaps_are_disks_and_differentiable():
    points = torch.tensor([[[0.5, 0.5], [0.1, 0.9]]], requires_grad=True)
    maps = point_heatmaps(points, 128, 128, radius=5.0)
    assert maps.shape == (1, 2, 128, 128)
    assert maps[0, 0, 64, 64] > 0.98 and maps[0, 0, 64, 74] < 0.01  # centre in, 10 px out
    assert maps[0, 1, 115, 13] > 0.98  # (x, y) = (0.1, 0.9): column 13, row 115
    # the area of a soft disk: pi (r^2 + pi^2 s^2 / 3) with softness s = 1
    area = float(maps[0, 0].detach().sum())
    assert abs(area - math.pi * (25 + math.pi**2 / 3)) < 0.5
    small = resize_maps(maps, 4, 4)  # area averaging keeps the mass
    assert abs(float(small[0, 0].detach().sum()) * 32 * 32 - area) < 1e-2
    maps[0, 0, :, 60:].sum().backward()  # moving the point right puts more of it there
    assert points.grad[0, 0, 0] > 0 and points.grad[0, 1].abs().sum() == 0
