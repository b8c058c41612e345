"""A timm encoder that starts from pretrained weights reads its input normalised as it was trained
(timm's ``pretrained_cfg`` mean and std); the two are recorded in the network's weights, so that
prediction applies them without the pretrained file. An encoder trained from scratch, and a
checkpoint written before they were recorded, see the raw pixels exactly as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from PIL import Image
from safetensors.torch import save_file

from ifan.inference import load
from ifan.manifest import Manifest, load_manifest
from ifan.network.model import IFAN, build_model
from ifan.runs.checkpoint import save_checkpoint
from ifan.runs.layout import checkpoint_path
from ifan.runs.meta import run_meta
from tests.inference.tiny_run import write_data

ENCODER = "mobilenetv3_small_100"
RECORDED = ("backbone.input_mean", "backbone.input_std")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> Path:
    """An encoder's weights file, as ``model.backbone_checkpoint`` reads it."""
    torch.manual_seed(2)
    weights = timm.create_model(ENCODER, pretrained=False).state_dict()
    path = tmp_path_factory.mktemp("encoder") / f"{ENCODER}.safetensors"
    save_file({name: value.contiguous() for name, value in weights.items()}, str(path))
    return path


def manifest(data: Path, checkpoint: Path | None = None) -> Manifest:
    settings = ["model.iterations=1", f"model.backbone={ENCODER!r}"]
    if checkpoint is not None:
        settings.append(f"model.backbone_checkpoint={str(checkpoint)!r}")
    return load_manifest(data / "manifest.toml", settings)


def encoder_input(model: IFAN, images: torch.Tensor) -> torch.Tensor:
    """What the timm encoder reads when ``model`` runs on ``images``."""
    seen = []
    hook = model.backbone.encoder.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    with torch.no_grad():
        model.eval()(images, task="emotion")
    hook.remove()
    return seen[0]


def test_a_pretrained_encoder_reads_its_input_as_timm_normalised_it(data, pretrained):
    model = build_model(manifest(data, pretrained))
    config = timm.create_model(ENCODER, pretrained=False).pretrained_cfg
    mean, std = model.backbone.input_mean, model.backbone.input_std
    assert mean.flatten().tolist() == pytest.approx(config["mean"])
    assert std.flatten().tolist() == pytest.approx(config["std"])
    images = torch.rand(2, 3, 32, 32)
    assert torch.equal(encoder_input(model, images), (images - mean) / std)


def test_an_encoder_trained_from_scratch_reads_the_raw_pixels_exactly(data):
    model = build_model(manifest(data))
    assert model.backbone.input_mean.eq(0).all() and model.backbone.input_std.eq(1).all()
    images = torch.rand(2, 3, 32, 32)
    assert torch.equal(encoder_input(model, images), images)


def test_prediction_applies_the_recorded_normalisation_without_the_pretrained_file(
    data, pretrained, tmp_path
):
    trained = manifest(data, pretrained)
    torch.manual_seed(0)
    model = build_model(trained).eval()
    save_checkpoint(
        checkpoint_path(tmp_path, 1), model.state_dict(), None, run_meta(trained, {"step": 1})
    )
    predictor = load(tmp_path, device="cpu")  # built without the pretrained file
    for name in RECORDED:
        assert torch.equal(predictor.model.state_dict()[name], model.state_dict()[name])
    photo = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    result = predictor.predict(photo, detect=False)
    batch = predictor.network_input(Image.fromarray(photo))[None]
    with torch.no_grad():
        expected = model.predict_all(batch)
        model.backbone.input_mean.zero_()
        model.backbone.input_std.fill_(1)
        raw = model.predict_all(batch)
    for task, prediction in result.tasks.items():
        close = (prediction.raw - expected[task][0]).abs().max()  # memory layouts' rounding
        apart = (prediction.raw - raw[task][0]).abs().max()
        assert close < 1e-6 and apart > 1e-5, task


def test_a_checkpoint_from_before_loads_with_the_raw_pixels_it_was_trained_on(
    data, pretrained, tmp_path
):
    trained = manifest(data, pretrained)
    state = {k: v for k, v in build_model(trained).state_dict().items() if k not in RECORDED}
    model = build_model(trained)  # a resumed run builds the pretrained encoder, then loads
    model.load_state_dict(state)
    assert model.backbone.input_mean.eq(0).all() and model.backbone.input_std.eq(1).all()
    save_checkpoint(checkpoint_path(tmp_path, 1), state, None, run_meta(trained, {"step": 1}))
    loaded = load(tmp_path, device="cpu").model
    assert loaded.backbone.input_mean.eq(0).all() and loaded.backbone.input_std.eq(1).all()
