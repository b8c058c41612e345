"""Output shapes: every iteration, every task, 1 to 4 tasks, several backbones and sizes."""

from __future__ import annotations

import pytest
import torch

from ifan.network.taps import TAP_NAMES
from tests.network.network_toys import expected_shape, make_model


def check_outputs(model, outputs, iterations: int, batch: int, size: int) -> None:
    assert len(outputs) == iterations + 1
    for predictions in outputs:
        assert list(predictions) == model.task_names
        for name, prediction in predictions.items():
            assert tuple(prediction.shape) == expected_shape(model.tasks[name], batch, size)
            assert torch.isfinite(prediction).all()


@pytest.mark.parametrize("iterations", [0, 1, 2, 3])
@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_fc_densenet_every_task_count_and_iteration(count, iterations, images):
    model = make_model(count, iterations=iterations)
    task = model.task_names[-1]
    outputs = model(images, task=task)
    check_outputs(model, outputs, iterations, 2, 64)


@pytest.mark.parametrize(
    ("backbone", "count", "iterations", "size"),
    [
        ("fc-densenet", 3, 1, 128),
        ("fc-densenet", 2, 2, 96),
        ("resnet18", 1, 0, 64),
        ("resnet18", 4, 2, 64),
        ("resnet18", 2, 1, 128),
        ("mobilenetv3_small_100", 1, 0, 64),
        ("mobilenetv3_small_100", 4, 2, 64),
        ("mobilenetv3_small_100", 2, 1, 96),
    ],
)
def test_shapes_other_sizes_and_timm(backbone, count, iterations, size):
    model = make_model(count, backbone, iterations=iterations, input_size=size)
    images = torch.rand(2, 3, size, size)
    outputs = model(images, task=model.task_names[0])
    check_outputs(model, outputs, iterations, 2, size)


@pytest.mark.parametrize("backbone", ["fc-densenet", "resnet18", "mobilenetv3_small_100"])
def test_taps_have_the_advertised_shapes(backbone, images):
    model = make_model(1, backbone, iterations=0)
    specs = model.backbone.tap_specs()
    assert list(specs) == list(TAP_NAMES)
    taps = model.backbone(images)
    assert set(taps) == set(TAP_NAMES)
    for name, spec in specs.items():
        assert tuple(taps[name].shape) == (2, spec.channels, spec.height, spec.width), name
        assert spec.height == 64 // 2 ** int(name[-1])


def test_paper_backbone_resolutions_at_128():
    model = make_model(1, iterations=0, input_size=128)
    sizes = {name: spec.height for name, spec in model.backbone.tap_specs().items()}
    assert sizes == {
        "down0": 128, "down1": 64, "down2": 32, "down3": 16, "down4": 8, "down5": 4,
        "up4": 8, "up3": 16, "up2": 32, "up1": 64, "up0": 128,
    }  # fmt: skip
    # dense blocks of 3 layers with growth 12 after a 48-channel 7x7 stem
    down = [model.backbone.tap_specs()[f"down{level}"].channels for level in range(6)]
    assert down == [84, 120, 156, 192, 228, 228]


def test_heads_limits_the_final_iteration_only(images):
    model = make_model(2, iterations=2)
    outputs = model(images, task="cls", heads=["cls"])
    assert [sorted(o) for o in outputs] == [["cls", "map"], ["cls", "map"], ["cls"]]
    with pytest.raises(KeyError):
        model(images, task="cls", heads=["nope"])


def test_iterations_beyond_what_was_built_are_refused(images):
    model = make_model(2, iterations=0)
    assert model.integrator is None and model.reencoders is None
    with pytest.raises(ValueError, match="iterations"):
        model(images, task="cls", iterations=1)
    assert len(model(images, task="cls")) == 1
