"""``ifan features`` and :mod:`ifan.features` on a tiny run made without the trainer: each face's
vector is the input of the task's decoder's last linear layer, exactly as a forward hook of our
own sees it; the file keeps the faces, labels and the model's identity, and refuses another
model's features."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors import safe_open
from torch import nn

import ifan
from ifan import hookimpl
from ifan.cli.main import main
from ifan.data.splits import as_float, open_splits
from ifan.errors import FeaturesError
from ifan.features.extract import extract_features
from ifan.features.store import META_KEY, Features, read_features, weights_fingerprint
from ifan.plugins import load_registry
from ifan.pretrained import PretrainedModel
from ifan.probing import probe
from ifan.runs.checkpoint import load_checkpoint, save_checkpoint
from ifan.runs.layout import find_checkpoint
from tests.inference.tiny_run import untrained_run, write_data


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_data(tmp_path_factory.mktemp("data"))
    text = (folder / "manifest.toml").read_text()
    without = text.replace('test = "emotion/test"\n', "")
    assert without != text
    (folder / "no-test.toml").write_text(without)
    return folder


def changed_copy(run_dir: Path, folder: Path) -> Path:
    """A copy of the run whose checkpoint has one weight changed: another model."""
    shutil.copytree(run_dir, folder)
    path = find_checkpoint(folder)
    checkpoint = load_checkpoint(path)
    weights = dict(checkpoint.model)
    name = next(k for k in sorted(weights) if k.startswith("decoders.emotion"))
    weights[name] = weights[name] + 0.5
    save_checkpoint(path, weights, None, checkpoint.meta)
    return folder


def last_linear_by_hand(model, task: str) -> nn.Linear:
    return [m for m in model.decoders[task].modules() if isinstance(m, nn.Linear)][-1]


def hooked(model, task: str, images: torch.Tensor) -> torch.Tensor:
    """The input of the task's last linear layer at the final iteration, by a hook of our own."""
    seen = []
    handle = last_linear_by_hand(model, task).register_forward_hook(
        lambda module, inputs, output: seen.append(inputs[0].detach().clone())
    )
    try:
        with torch.no_grad():
            model(images, task=task, heads=[task])
    finally:
        handle.remove()
    assert len(seen) == model.iterations + 1  # every iteration decodes every task
    return seen[-1]


def test_split_features_are_the_input_of_the_last_linear_layer(predictor, run_dir: Path) -> None:
    features = extract_features(run_dir, "emotion", split="test", device="cpu", progress=False)
    manifest = predictor.manifest
    config = manifest.tasks["emotion"]
    dataset = open_splits(
        config, config.build_task(), manifest, ("test",), augment=False, prepare=False
    ).datasets["test"]
    images = torch.stack([as_float(dataset[i][0]) for i in range(len(dataset))])
    expected = hooked(predictor.model, "emotion", images)
    hidden = last_linear_by_hand(predictor.model, "emotion").in_features
    assert features.features.shape == (4, hidden)
    assert torch.allclose(features.features, expected, atol=1e-6)
    assert features.targets["label"].tolist() == [0, 1, 2, 3]  # one face of each expression
    assert [Path(p).parent.name for p in features.paths] == ["happy", "neutral", "sad", "surprise"]
    assert features.data == {
        "kind": "split",
        "run": str(run_dir),
        "task": "emotion",
        "split": "test",
        "labels": "class",
        "names": ["happy", "neutral", "sad", "surprise"],
    }
    ident = features.model
    assert (ident.run, ident.step, ident.task) == (str(run_dir), 1, "emotion")
    assert ident.layer.startswith("decoders.emotion.")
    assert ident.fingerprint == weights_fingerprint(predictor.model)
    again = extract_features(predictor, "emotion", split="test", progress=False)
    assert torch.equal(again.features, features.features)  # deterministic


def test_another_tasks_features_of_a_datasets_faces(predictor, run_dir: Path) -> None:
    """Landmarks' features of the emotion faces: its own vector, the emotion labels."""
    features = extract_features(
        predictor, "landmarks", split="test", dataset="emotion", progress=False
    )
    emotion = extract_features(predictor, "emotion", split="test", progress=False)
    width = last_linear_by_hand(predictor.model, "landmarks").in_features
    assert features.features.shape == (4, width)
    assert features.paths == emotion.paths
    assert torch.equal(features.targets["label"], emotion.targets["label"])
    assert features.model.task == "landmarks" and features.data["task"] == "emotion"


def test_photo_features_whole_and_detected(predictor, data: Path, tmp_path: Path) -> None:
    folder = data / "emotion" / "test"
    whole = extract_features(predictor, "emotion", [folder], detect=False, progress=False)
    photos = sorted(folder.rglob("*.png"))
    assert whole.paths == [str(p) for p in photos]
    inputs = torch.stack([predictor.network_input(Image.open(p).convert("RGB")) for p in photos])
    assert torch.allclose(whole.features, hooked(predictor.model, "emotion", inputs), atol=1e-6)
    assert whole.faces.tolist() == [0, 0, 0, 0]
    assert whole.boxes.tolist() == [[0, 0, 32, 32]] * 4
    assert whole.targets is None and whole.data == {"kind": "images", "detector": None}
    found = extract_features(predictor, "emotion", [folder], batch_size=3, progress=False)
    assert found.data["detector"] == "yuface" and len(found) >= 4


def test_the_file_keeps_everything_and_no_pickle(predictor, run_dir: Path, tmp_path: Path):
    features = extract_features(predictor, "emotion", split="test", progress=False)
    path = features.save(tmp_path / "emotion.safetensors")
    with safe_open(str(path), framework="pt") as opened:
        assert sorted(opened.keys()) == ["features", "target.label"]
        meta = json.loads(opened.metadata()[META_KEY])
    assert meta["model"]["fingerprint"] == features.model.fingerprint
    assert meta["paths"] == features.paths
    back = read_features(path, run_dir)
    assert torch.equal(back.features, features.features)
    assert torch.equal(back.targets["label"], features.targets["label"])
    assert (back.model, back.paths, back.data) == (features.model, features.paths, features.data)


def test_features_of_another_model_are_refused(predictor, run_dir: Path, tmp_path: Path) -> None:
    path = extract_features(predictor, "emotion", split="test", progress=False).save(
        tmp_path / "f.safetensors"
    )
    other = changed_copy(run_dir, tmp_path / "other")
    with pytest.raises(FeaturesError) as error:
        read_features(path, other)
    message = str(error.value)
    mine = weights_fingerprint(predictor.model)[:12]
    assert f"{path} holds features of another model" in message
    assert mine in message and str(other) in message
    theirs = weights_fingerprint(ifan.load(other, device="cpu").model)
    assert theirs != weights_fingerprint(predictor.model) and theirs[:12] in message
    with pytest.raises(FeaturesError, match="landmarks"):
        read_features(path, predictor, task="landmarks")
    (tmp_path / "bad.safetensors").write_bytes(b"not a file of features")
    with pytest.raises(FeaturesError, match=r"bad\.safetensors: not a safetensors file"):
        Features.load(tmp_path / "bad.safetensors")


def test_bad_input_errors_name_what_and_where(
    predictor, data: Path, run_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(FeaturesError, match=r"task parsing's decoder \(PixelClassifier\) has no"):
        extract_features(predictor, "parsing", split="test")
    with pytest.raises(FeaturesError, match="has no task 'age'; its tasks are parsing, landmarks"):
        extract_features(run_dir, "age", split="test", device="cpu")
    without = untrained_run(data, tmp_path / "no-test", "no-test.toml")
    with pytest.raises(FeaturesError) as error:
        extract_features(without, "emotion", split="test", device="cpu", progress=False)
    assert str(without) in str(error.value)
    assert "no labelled faces of emotion for the test split" in str(error.value)
    assert "tasks.emotion.data has no test split" in str(error.value)
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(next((data / "emotion" / "test").rglob("*.png")), photos / "a.png")
    (photos / "b.png").write_bytes(b"no image")
    with pytest.raises(FeaturesError, match=r"b\.png: not a readable image .*--skip-unreadable"):
        extract_features(predictor, "emotion", [photos], progress=False)
    kept = extract_features(predictor, "emotion", [photos], skip_unreadable=True, progress=False)
    assert kept.paths == [str(photos / "a.png")]


def test_the_command_writes_the_file(
    capsys, predictor, run_dir: Path, data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "f.safetensors"
    code = main([
        "features", str(run_dir), "--task", "emotion", "--split", "test", "--out", str(out),
        "--device", "cpu",
    ])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    width = last_linear_by_hand(predictor.model, "emotion").in_features
    assert f"wrote {out}: 4 face(s) x {width} features of emotion of {run_dir} (step 1" in (
        printed.out
    )
    assert "the test split of emotion" in printed.out
    assert read_features(out, run_dir).targets["label"].tolist() == [0, 1, 2, 3]
    photos = data / "emotion" / "test"
    code = main(["features", str(run_dir), str(photos), "--task", "landmarks", "--out", str(out),
                 "--no-detect", "--device", "cpu"])  # fmt: skip
    assert code == 0 and "from 4 photo(s)" in capsys.readouterr().out
    code = main(["features", str(run_dir), "--task", "emotion", "--out", str(out)])
    assert code == 2
    assert "give photos or folders of photos (INPUT...), or a split" in capsys.readouterr().err


class Shipping:
    """A plugin shipping one pretrained model."""

    def __init__(self, model: PretrainedModel):
        self.model = model

    @hookimpl
    def ifan_models(self) -> list[PretrainedModel]:
        return [self.model]


def test_a_pretrained_name_works_like_its_run(predictor, run_dir: Path, tmp_path: Path) -> None:
    """The run's exported weights, shipped as "tiny": the same features, the same fingerprint."""
    weights = tmp_path / "tiny.safetensors"
    assert main(["export", str(run_dir), "--weights", str(weights)]) == 0
    registry = load_registry(allow=None)
    registry.manager.register(Shipping(PretrainedModel("tiny", weights, weights)), name="t:m")
    shipped = extract_features(
        "tiny", "emotion", split="test", device="cpu", registry=registry, progress=False
    )
    own = extract_features(predictor, "emotion", split="test", progress=False)
    assert torch.equal(shipped.features, own.features)
    assert shipped.model.fingerprint == own.model.fingerprint
    assert (shipped.model.run, shipped.model.checkpoint) == ("tiny", str(weights.resolve()))
    path = own.save(tmp_path / "own.safetensors")
    assert read_features(path, "tiny", registry=registry).model == own.model
    result = probe(
        [f"{run_dir}:emotion"], ["tiny:landmarks"], registry=registry, progress=False,
        device="cpu", epochs=2,
    )  # fmt: skip
    assert result.rows == ["tiny:landmarks", "own", "fused"]
    assert result.sources["tiny:landmarks"].checkpoint == str(weights.resolve())
