"""Pretrained models shipped by plugins (the ``ifan_models`` hook): ``ifan export --weights``
writes the file a plugin ships, and an installed model's name loads wherever a run folder does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ifan import hookimpl
from ifan.cli.main import main
from ifan.inference import load
from ifan.manifest import load_manifest
from ifan.network.model import build_model
from ifan.plugins import PluginRegistry, load_registry
from ifan.pretrained import ModelError, PretrainedModel, installed_models, resolve_model
from ifan.runs.checkpoint import load_checkpoint, save_checkpoint
from ifan.runs.layout import checkpoint_path
from ifan.runs.meta import run_meta
from ifan_tasks.synthetic.writer import TASKS, write_datasets


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder whose checkpoint holds an optimizer's state, as the trainer's do."""
    data = tmp_path_factory.mktemp("data")
    write_datasets(data, seed=0, size=32, counts={t: {"train": 2, "test": 2} for t in TASKS})
    manifest = load_manifest(data / "manifest.toml", ["model.iterations=1"])
    torch.manual_seed(0)
    model = build_model(manifest)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.rand(2, 3, 32, 32), task="emotion")[-1]["emotion"].sum().backward()
    optimizer.step()
    run = tmp_path_factory.mktemp("run")
    meta = run_meta(manifest, {"step": 7, "rng": {"python": "state"}})
    save_checkpoint(checkpoint_path(run, 7), model.state_dict(), optimizer.state_dict(), meta)
    return run


@pytest.fixture(scope="module")
def weights(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    assert main(["export", str(run_dir), "--weights", str(out)]) == 0
    return out


class Shipping:
    """A plugin shipping the given models."""

    def __init__(self, *models: PretrainedModel):
        self.models = list(models)

    @hookimpl
    def ifan_models(self) -> list[PretrainedModel]:
        return self.models


def _shipping(*models: PretrainedModel) -> PluginRegistry:
    registry = load_registry(allow=None)
    registry.manager.register(Shipping(*models), name="test:models")
    return registry


def test_the_weights_file_keeps_the_network_and_manifest_and_drops_the_rest(run_dir, weights):
    run = load_checkpoint(checkpoint_path(run_dir, 7))
    shipped = load_checkpoint(weights)
    assert shipped.optimizer is None and run.optimizer is not None
    assert shipped.meta["progress"] == {"step": 7}
    assert shipped.meta["manifest"] == run.meta["manifest"]
    assert shipped.model.keys() == run.model.keys()
    assert all(torch.equal(shipped.model[k], run.model[k]) for k in run.model)
    assert weights.stat().st_size < 0.6 * checkpoint_path(run_dir, 7).stat().st_size


def test_an_installed_model_loads_by_name_and_predicts_like_its_run(run_dir, weights, tmp_path):
    card = tmp_path / "CARD.md"
    card.write_text("# tiny\n")
    registry = _shipping(PretrainedModel("tiny", weights, card, summary="a test model"))
    (entry,) = installed_models(registry).values()
    assert entry.model.name == "tiny" and entry.distribution == "test:models"
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 255, (40, 40, 3), np.uint8))
    by_name = load("tiny", device="cpu", registry=registry).predict(photo, detect=False)
    by_run = load(run_dir, device="cpu", registry=registry).predict(photo, detect=False)
    assert by_name.to_json() == by_run.to_json()
    (tmp_path / "tiny").mkdir()  # a path that exists wins over a name
    assert resolve_model(tmp_path / "tiny", registry) == tmp_path / "tiny"


def test_unknown_missing_and_doubly_claimed_models_are_clear_errors(weights, tmp_path):
    registry = _shipping(PretrainedModel("tiny", weights, tmp_path / "CARD.md"))
    with pytest.raises(
        ModelError, match=r"tinny: no such run .*installed models: tiny;.*did you mean 'tiny'"
    ):
        resolve_model("tinny", registry)
    gone = _shipping(PretrainedModel("gone", tmp_path / "gone.safetensors", tmp_path / "c.md"))
    with pytest.raises(ModelError, match=r"model 'gone' of test:models: its weights file"):
        resolve_model("gone", gone)
    registry.manager.register(Shipping(PretrainedModel("tiny", weights, weights)), name="test:2")
    with pytest.raises(
        ModelError, match=r"'tiny' is shipped by test:.* and test:.*: uninstall one"
    ):
        installed_models(registry)


def test_a_broken_models_hook_is_reported_and_the_others_stay(weights, tmp_path):
    registry = _shipping(PretrainedModel("tiny", weights, tmp_path / "CARD.md"))

    class Broken:
        @hookimpl
        def ifan_models(self):
            raise RuntimeError("no weights here")

    class Wrong:
        @hookimpl
        def ifan_models(self):
            return ["not a model", PretrainedModel("Bad Name", weights, weights)]

    registry.manager.register(Broken(), name="test:broken")
    registry.manager.register(Wrong(), name="test:wrong")
    with pytest.warns(UserWarning) as warned:
        models = installed_models(registry)
    assert list(models) == ["tiny"]
    messages = " ".join(str(w.message) for w in warned)
    assert "test:broken: ifan_models() raised RuntimeError('no weights here')" in messages
    assert "test:wrong: ifan_models() returned 'not a model'" in messages
    assert "'Bad Name'" in messages


def test_ifan_models_lists_name_distribution_tasks_and_files(
    weights, tmp_path, capsys, monkeypatch
):
    card = tmp_path / "CARD.md"
    registry = _shipping(PretrainedModel("tiny", weights, card, summary="a test model"))
    monkeypatch.setattr("ifan.cli.models.registry_from_args", lambda args: registry)
    assert main(["models", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["name"] == "tiny" and row["tasks"] == "parsing, landmarks, emotion"
    assert row["input"] == "32" and row["weights"] == str(weights) and row["card"] == str(card)
    assert (
        row["manifest"].startswith("in the weights (trained from ")
        and "manifest.toml" in row["manifest"]
    )
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].split()[:2] == ["tiny", "test:models"]
    assert "a test model" in out and f"weights {weights}" in out
    monkeypatch.setattr("ifan.cli.models.registry_from_args", lambda args: load_registry())
    assert main(["models"]) == 0
    assert "no pretrained models installed" in capsys.readouterr().out


def test_half_precision_weights_halve_the_file_and_predict_alike(run_dir, weights, tmp_path):
    half = tmp_path / "half.safetensors"
    assert main(["export", str(run_dir), "--weights", str(half), "--dtype", "float16"]) == 0
    stored = load_checkpoint(half).model
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    assert half.stat().st_size < 0.55 * weights.stat().st_size
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full = load(weights, device="cpu").model.predict_all(images)
        halved = load(half, device="cpu").model.predict_all(images)
    for task, value in full.items():
        torch.testing.assert_close(halved[task], value, atol=2e-2, rtol=2e-2)


def test_set_changes_how_a_shipped_model_runs_but_not_its_network(
    run_dir, weights, tmp_path, capsys
):
    flipping = tmp_path / "flip.safetensors"
    argv = ["export", str(run_dir), "--weights", str(flipping), "--set", "model.test_flip=true"]
    assert main(argv) == 0
    shipped = load_checkpoint(flipping)
    assert shipped.meta["manifest"]["model"]["test_flip"] is True
    assert shipped.meta["manifest"]["tasks"] == load_checkpoint(weights).meta["manifest"]["tasks"]
    plain, flipped = load(weights, device="cpu"), load(flipping, device="cpu")
    assert flipped.model.config.test_flip and not plain.model.config.test_flip
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        landmarks = plain.model.tasks["landmarks"]
        mirrored = landmarks.unflip(plain.model.predict_all(images.flip(-1))["landmarks"])
        expected = (plain.model.predict_all(images)["landmarks"] + mirrored) / 2
        torch.testing.assert_close(flipped.model.predict_all(images)["landmarks"], expected)
    capsys.readouterr()
    refused = tmp_path / "refused.safetensors"
    changed = ["export", str(run_dir), "--weights", str(refused), "--set", "model.iterations=0"]
    assert main(changed) == 2
    assert "changes the network itself" in capsys.readouterr().err and not refused.exists()
    onnx = [
        "export",
        str(run_dir),
        "--onnx",
        str(tmp_path / "m.onnx"),
        "--set",
        "model.test_flip=true",
    ]
    assert main(onnx) == 2
    assert "--onnx takes none" in capsys.readouterr().err
