"""``ifan eval``, ``ifan predict`` and ``ifan.load`` on a tiny run made without the trainer: an
untrained network's checkpoint beside synthetic datasets of a few faces per split. Face detection
is checked with a fake detector plugin that returns fixed boxes, and the built-in ``yuface`` one
on a drawn face."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

import ifan
from ifan import hookimpl
from ifan.cli.main import main
from ifan.contract import LabelSchema
from ifan.data.splits import as_float, open_splits
from ifan.detection import DetectorError, FaceBox, face_detectors
from ifan.errors import IfanError
from ifan.evaluation import Evaluation, evaluate, flat_json
from ifan.evaluation_tables import format_task_table
from ifan.inference import FacePrediction, load
from ifan.network import precision
from ifan.plugins import PluginRegistry, load_registry
from ifan.runs.checkpoint import load_checkpoint, save_checkpoint
from ifan.runs.layout import checkpoint_path
from ifan_tasks.faces import YuFace
from ifan_tasks.synthetic.real_layout import drawn_photo
from ifan_tasks.synthetic.writer import TASKS
from tests.inference.tiny_run import untrained_run


@pytest.fixture(scope="module")
def scores(predictor) -> Evaluation:
    """The test split's scores, which ``ifan eval`` without options must report."""
    return evaluate(predictor.model, predictor.manifest, "test", progress=False)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def eval_json(capsys, tmp_path: Path, *argv: str) -> tuple[dict[str, float], str]:
    out = tmp_path / "metrics.json"
    code, stdout, err = run_cli(capsys, "eval", *argv, "--device", "cpu", "--json", str(out))
    assert code == 0, err
    return json.loads(out.read_text()), stdout


def test_eval_json_has_every_metric_of_every_task_as_fractions(
    capsys, run_dir: Path, predictor, scores: Evaluation, tmp_path: Path
) -> None:
    pictures = tmp_path / "pictures"
    values, out = eval_json(capsys, tmp_path, str(run_dir), "--pictures", str(pictures))
    expected = {
        f"{name}.{metric}"
        for name, task in predictor.model.tasks.items()
        for metric in task.new_metric().compute()
    }
    assert set(values) == expected
    assert values == pytest.approx(flat_json(scores), abs=1e-12)
    assert {
        "landmarks.nme",
        "landmarks.failure_rate",
        "landmarks.nme_left_eye",
        "parsing.f1_overall",
        "parsing.f1_eyes",
        "emotion.accuracy",
        "emotion.accuracy_happy",
    } <= set(values)
    for key, value in values.items():
        assert isinstance(value, float)
        if key.startswith("landmarks.nme"):
            assert value >= 0  # an error relative to the eye distance, unbounded
        else:
            assert 0 <= value <= 1, key
    # The printed tables: percent with two decimals, the split and the faces scored.
    assert "landmarks (test, 4 images; fractions in %)" in out
    assert f"{100 * values['landmarks.nme']:.2f}" in out
    assert f"{100 * values['emotion.accuracy']:.2f}" in out
    assert sorted(p.name for p in pictures.iterdir()) == [
        "emotion_confusion.png",
        "parsing_confusion.png",
    ]
    with Image.open(pictures / "emotion_confusion.png") as picture:
        assert picture.width > 0


def test_evaluate_equals_the_metrics_on_predict_all(predictor, scores) -> None:
    model, manifest, results = predictor.model, predictor.manifest, scores
    assert results.samples == {name: 4 for name in TASKS}
    for name, config in manifest.tasks.items():
        task = model.tasks[name]
        test = open_splits(config, task, manifest, splits=("test",)).datasets["test"]
        metric = task.new_metric()
        for images, targets in DataLoader(test, len(test), collate_fn=task.collate):
            with torch.no_grad():
                metric.update(model.predict_all(as_float(images))[name], targets)
        assert results[name] == pytest.approx(metric.compute(), abs=1e-6)
    assert flat_json(results)["landmarks.nme"] == results["landmarks"]["nme"]
    assert set(results.pictures()) == set(TASKS)


def test_eval_set_scores_another_dataset(
    capsys, run_dir: Path, data: Path, scores: Evaluation, tmp_path: Path
) -> None:
    full = flat_json(scores)
    lines = (data / "landmarks" / "test.csv").read_text().splitlines()
    fewer = data / "landmarks" / "two.csv"
    fewer.write_text("\n".join(lines[:3]) + "\n")  # the header and two faces
    values, out = eval_json(
        capsys, tmp_path, str(run_dir), "--set", f"tasks.landmarks.data.test={fewer}"
    )
    assert "landmarks (test, 2 images;" in out and "emotion (test, 4 images;" in out
    assert values["landmarks.nme"] != full["landmarks.nme"]
    assert values["emotion.accuracy"] == full["emotion.accuracy"]


def test_eval_by_breaks_each_task_having_the_target_down_by_its_values(
    capsys, run_dir: Path, predictor, scores: Evaluation, tmp_path: Path
) -> None:
    values, out = eval_json(capsys, tmp_path, str(run_dir), "--by", "label")
    emotion = open_splits(
        predictor.manifest.tasks["emotion"], predictor.model.tasks["emotion"], predictor.manifest,
        splits=("test",), augment=False, progress=False,
    ).datasets["test"]  # fmt: skip
    labels = [int(emotion[i][1]["label"]) for i in range(len(emotion))]
    present = sorted(set(labels))
    table = out.split("emotion by label (test; fractions in %)\n")[1].split("\n\n")[0]
    assert table.splitlines()[0].split() == ["LABEL", "IMAGES", "ACCURACY", "MEAN_ACCURACY"]
    assert [row.split()[:2] for row in table.splitlines()[1:]] == [
        [str(v), str(labels.count(v))] for v in present
    ]
    for value in present:  # a class's own faces: its accuracy is the share of them right
        assert values[f"emotion.accuracy[label={value}]"] == pytest.approx(
            values[f"emotion.accuracy_{value_name_of(predictor, value)}"]
        )
    weighted = sum(labels.count(v) * values[f"emotion.accuracy[label={v}]"] for v in present)
    assert weighted / len(labels) == pytest.approx(flat_json(scores)["emotion.accuracy"])
    assert "parsing not broken down by label: the samples have no target 'label'" in out
    assert not any(key.startswith(("parsing.", "landmarks.")) and "[" in key for key in values)


def value_name_of(predictor, index: int) -> str:
    return predictor.model.tasks["emotion"].labels.names[index]


def test_eval_val_split(capsys, run_dir: Path, scores: Evaluation, tmp_path: Path) -> None:
    values, out = eval_json(capsys, tmp_path, str(run_dir), "--split", "val")
    assert set(values) == set(flat_json(scores))
    assert "parsing (val, 3 images;" in out


def test_eval_without_a_test_split_suggests_the_validation_split(
    capsys, data: Path, tmp_path: Path
) -> None:
    text = (data / "manifest.toml").read_text()
    (data / "no-test.toml").write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("test ="))
    )
    run = untrained_run(data, tmp_path / "run", "no-test.toml")
    code, _, err = run_cli(capsys, "eval", str(run), "--device", "cpu")
    assert code == 2
    assert (
        "skipped parsing: tasks.parsing.data has no test split; score its validation split "
        "with --split val" in err
    )
    assert err.strip().endswith(
        "error: no task has a test split: score the validation split with --split val, or give "
        "one with --set tasks.<name>.data.test=PATH"
    )


def test_eval_scores_a_dataset_of_other_class_names_with_the_models_classes(
    capsys, run_dir: Path, data: Path, scores: Evaluation, tmp_path: Path
) -> None:
    """A CK+-like test split: the model's ``sad`` is its ``sadness``, and its ``contempt``, a
    class the model does not have, is left out and counted."""
    other = tmp_path / "ckplus"
    shutil.copytree(data / "emotion" / "test", other)
    (other / "sad").rename(other / "sadness")
    (other / "neutral").rename(other / "contempt")
    contempt = len(list((other / "contempt").iterdir()))
    test = f"tasks.emotion.data.test={other}"
    code, _, err = run_cli(capsys, "eval", str(run_dir), "--device", "cpu", "--set", test)
    assert code == 2 and "folder 'contempt' is not a class" in err
    assert 'rename = { contempt = "<class>" } or skip it with leave_out = ["contempt"]' in err
    values, out = eval_json(
        capsys,
        tmp_path,
        str(run_dir),
        "--set",
        test,
        "--set",
        "tasks.emotion.data.rename.sadness=sad",
        "--set",
        'tasks.emotion.data.leave_out=["contempt"]',
    )
    assert f"emotion (test, {4 - contempt} images, {contempt} left out (contempt {contempt});" in (
        out
    )
    assert values["emotion.accuracy_neutral"] == 0.0  # no neutral face left to score


def test_eval_refuses_a_pickle(capsys, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({"weight": torch.zeros(2)}, path)
    code, _, err = run_cli(capsys, "eval", str(path))
    assert code == 2
    assert err.startswith("error: checkpoint ") and "pickle-based torch checkpoint" in err


def test_a_checkpoint_of_a_missing_plugin_names_it(capsys, run_dir: Path, tmp_path) -> None:
    checkpoint = load_checkpoint(checkpoint_path(run_dir, 1))
    meta = checkpoint.meta
    meta["plugins"]["ghost"] = {"distribution": "ifan-task-ghost", "version": "1.2"}
    save_checkpoint(checkpoint_path(tmp_path, 1), checkpoint.model, None, meta)
    with pytest.raises(IfanError, match="not installed: pip install ifan-task-ghost"):
        ifan.load(tmp_path, device="cpu")
    code, _, err = run_cli(capsys, "eval", str(tmp_path))
    assert code == 2 and "task 'ghost' from ifan-task-ghost 1.2" in err


def wide_photo(data: Path, path: Path) -> Path:
    """A 48 x 32 photo: a test face with grey bands left and right."""
    with Image.open(data / "landmarks" / "test" / "images" / "00000.png") as face:
        photo = Image.new("RGB", (48, 32), (128, 128, 128))
        photo.paste(face.convert("RGB"), (8, 0))
    photo.save(path)
    return path


def test_predict_writes_a_json_and_an_overlay_per_image(capsys, run_dir, data, tmp_path) -> None:
    wide = wide_photo(data, tmp_path / "wide.png")
    square = data / "emotion" / "test" / "happy" / "00000.png"
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        capsys,
        "predict",
        str(run_dir),
        str(wide),
        str(square),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--no-detect",
    )
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [
        "00000.json",
        "00000.png",
        "wide.json",
        "wide.png",
    ]
    assert str(out / "wide.json") in stdout
    result = json.loads((out / "wide.json").read_text())
    assert result["image"] == str(wide) and (result["width"], result["height"]) == (48, 32)
    assert result["checkpoint"] == str(checkpoint_path(run_dir, 1))
    assert result["detector"] is None and len(result["faces"]) == 1
    face = result["faces"][0]
    assert face["box"] == [0, 0, 48, 32] and face["crop"] == [0, -8, 48, 40]
    assert set(face["tasks"]) == set(TASKS)
    landmarks = face["tasks"]["landmarks"]
    assert (landmarks["unit"], landmarks["width"], landmarks["height"]) == ("pixels", 48, 32)
    for x, y in landmarks["points"].values():
        assert 0 <= x <= 48 and -8 <= y <= 40  # in the photo letterboxed into the crop
    parsing = face["tasks"]["parsing"]
    assert (parsing["width"], parsing["height"]) == (48, 32)
    assert sum(parsing["mask"]["runs"][1::2]) == 48 * 32
    assert face["tasks"]["emotion"]["label"] in {"happy", "neutral", "sad", "surprise"}
    with Image.open(out / "wide.png") as overlay:
        assert overlay.width >= 48 and overlay.height >= 32


def test_predict_set_changes_how_the_model_runs(capsys, run_dir, predictor, data, tmp_path) -> None:
    """``--set model.test_flip=true``: the landmarks written are the flip-averaged ones."""
    photo = data / "emotion" / "test" / "happy" / "00000.png"
    argv = ["predict", str(run_dir), str(photo), "--device", "cpu", "--no-detect"]
    code, _, err = run_cli(
        capsys, *argv, "--out", str(tmp_path / "flip"), "--set", "model.test_flip=true"
    )
    assert code == 0, err
    written = json.loads((tmp_path / "flip" / "00000.json").read_text())["faces"][0]["tasks"]
    model = predictor.model
    image = predictor.network_input(Image.open(photo).convert("RGB"))[None]
    with torch.no_grad():
        plain = model.predict_all(image)["landmarks"]
        mirrored = model.tasks["landmarks"].unflip(model.predict_all(image.flip(-1))["landmarks"])
    size = Image.open(photo).width
    expected = ((plain + mirrored) / 2)[0] * size
    got = torch.tensor(list(written["landmarks"]["points"].values()))
    torch.testing.assert_close(got, expected, atol=1e-3, rtol=0)
    assert not torch.allclose(got, plain[0] * size, atol=1e-3)


def test_predict_refuses_two_images_of_one_stem(capsys, run_dir, data, tmp_path) -> None:
    first = data / "emotion" / "test" / "happy" / "00000.png"
    second = tmp_path / "00000.png"
    second.write_bytes(first.read_bytes())
    code, _, err = run_cli(
        capsys, "predict", str(run_dir), str(first), str(second), "--out", str(tmp_path / "out")
    )
    assert code == 2 and "separate --out folders" in err


def test_load_predicts_typed_results(predictor, data: Path, tmp_path: Path) -> None:
    path = wide_photo(data, tmp_path / "wide.png")
    prediction = predictor.predict(path, detect=False)
    assert isinstance(prediction, FacePrediction)
    assert set(prediction.tasks) == set(TASKS) == set(predictor.tasks)
    landmarks = prediction.tasks["landmarks"]
    assert landmarks.task == "landmarks" and landmarks.raw.shape == (5, 2)
    pixels = landmarks.raw * 48 + torch.tensor([0.0, -8.0])  # the crop is the 48 px square
    points = torch.tensor(list(landmarks.json["points"].values()))
    assert torch.allclose(points, pixels, atol=1e-4)
    assert prediction.to_json()["image"] == str(path)
    overlay = prediction.overlay()
    assert isinstance(overlay, Image.Image) and overlay.height >= 32
    array = np.asarray(Image.open(path).convert("RGB"))
    same = predictor.predict_batch([array, Image.fromarray(array)], batch_size=1, detect=False)
    for other in same:
        assert "image" not in other.to_json()
        assert other.to_json()["faces"] == prediction.to_json()["faces"]
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        predictor.predict(array.astype(np.float32), detect=False)


def test_tables_show_percent_by_point_and_wrap() -> None:
    labels = LabelSchema(kind="points", names=("left_eye", "right_eye"))
    values = {
        "nme": 0.0581,
        "failure_rate": 0.125,
        "nme_left_eye": 0.05,
        "nme_right_eye": 0.0662,
        "failure_rate_left_eye": 0.1,
        "failure_rate_right_eye": 0.2,
    }
    lines = format_task_table("landmarks", values, labels, "test, 8 images").splitlines()
    assert lines[0] == "landmarks (test, 8 images; fractions in %)"
    assert lines[1].split() == ["METRIC", "LEFT_EYE", "RIGHT_EYE", "ALL"]
    assert lines[2].split() == ["nme", "5.00", "6.62", "5.81"]
    assert lines[3].split() == ["failure_rate", "10.00", "20.00", "12.50"]
    age = format_task_table("age", {"mae": 16.234, "cs5": 0.3}, labels, "val", {"mae": "years"})
    assert age.splitlines()[2].split() == ["mae", "(years)", "16.23"]
    assert age.splitlines()[3].split() == ["cs5", "30.00"]
    many = LabelSchema(kind="class", names=tuple(f"class_number_{i}" for i in range(20)))
    table = format_task_table(
        "wide", {f"accuracy_class_number_{i}": 0.5 for i in range(20)}, many, ""
    )
    assert all(len(line) <= 100 for line in table.splitlines())
    assert table.count("METRIC") > 1


BOXES = [FaceBox(10, 20, 40, 50, 0.9), FaceBox(60, 5, 100, 45, 0.7)]


class FixedBoxes:
    """A detector that finds the same faces in every photo."""

    name = "fixed"

    def detect(self, image: Image.Image) -> list[FaceBox]:
        return list(BOXES)


class FixedPlugin:
    @hookimpl
    def ifan_face_detectors(self) -> list[FixedBoxes]:
        return [FixedBoxes()]


def with_fixed() -> PluginRegistry:
    """The installed plugins and the fixed-boxes detector, registered through the hook."""
    registry = load_registry(allow=None)
    registry.manager.register(FixedPlugin(), name="test:fixed")
    return registry


@pytest.fixture
def registry() -> PluginRegistry:
    return with_fixed()


@pytest.fixture
def photo() -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 120, 3), np.uint8))


def test_builtin_and_plugin_detectors_are_found_by_name(registry) -> None:
    detectors = face_detectors(registry)
    assert isinstance(detectors["yuface"], YuFace) and isinstance(detectors["fixed"], FixedBoxes)
    registry.manager.register(FixedPlugin(), name="test:again")
    with pytest.raises(DetectorError, match="provided by test:fixed and test:again"):
        face_detectors(registry)


def test_each_face_is_cropped_and_mapped_back_to_the_photo(run_dir, registry, photo) -> None:
    rule = ["model.crop.detector=fixed", "model.crop.margin=0.5", "model.crop.detect_side=16"]
    predictor = load(run_dir, device="cpu", overrides=rule, registry=registry)
    prediction = predictor.predict(photo)
    assert [face.box for face in prediction.faces] == BOXES
    first = prediction.faces[0]
    assert (first.crop.x0, first.crop.y0, first.crop.side) == (-5, 5, 60)
    assert prediction.tasks is first.tasks
    for face in prediction.faces:
        landmarks = face.tasks["landmarks"]
        pixels = face.crop.from_crop(landmarks.raw)
        points = torch.tensor(list(landmarks.json["points"].values()))
        assert torch.allclose(points, pixels, atol=1e-4)
        parsing = face.tasks["parsing"].json
        assert (parsing["width"], parsing["height"]) == photo.size
        # the face alone fed to the network gives the same prediction
        box = face.crop
        square = photo.crop((box.x0, box.y0, box.x0 + box.side, box.y0 + box.side))
        alone = predictor.predict(square, detect=False)
        assert torch.allclose(alone.tasks["emotion"].raw, face.tasks["emotion"].raw, atol=1e-4)
    data = prediction.to_json()
    assert data["detector"] == "fixed" and "note" not in data
    assert [face["box"] for face in data["faces"]] == [box.to_json() for box in BOXES]
    assert data["faces"][1]["score"] == 0.7 and data["faces"][1]["crop"] == [40, -15, 120, 65]
    overlay = prediction.overlay()
    assert overlay.height == max(photo.height, 2 * 192) and overlay.width > photo.width


def test_no_face_found_predicts_the_whole_photo(run_dir, registry, photo, monkeypatch) -> None:
    rule = ["model.crop.detector=fixed"]
    predictor = load(run_dir, device="cpu", overrides=rule, registry=registry)
    monkeypatch.setattr(FixedBoxes, "detect", lambda self, image: [])
    prediction = predictor.predict(photo)
    whole = predictor.predict(photo, detect=False)
    assert prediction.note == "no face found by fixed: predicted the whole photo"
    assert prediction.to_json()["faces"] == whole.to_json()["faces"]
    unknown = load(run_dir, device="cpu", overrides=["model.crop.detector=nope"], registry=registry)
    with pytest.raises(DetectorError, match="unknown face detector 'nope'"):
        unknown.predict(photo)


def test_cli_predicts_every_face(capsys, run_dir, tmp_path, monkeypatch) -> None:
    path = tmp_path / "photo.png"
    drawn_photo().save(path)
    monkeypatch.setattr("ifan.cli.predict.registry_from_args", lambda args: with_fixed())
    argv = [str(run_dir), str(path), "--out", str(tmp_path / "out"), "--detector", "fixed"]
    code = main(["predict", *argv, "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0 and "2 face(s)" in out
    result = json.loads((tmp_path / "out" / "photo.json").read_text())
    assert len(result["faces"]) == 2 and set(result["faces"][0]["tasks"]) == set(TASKS)


def test_yuface_finds_a_real_face() -> None:
    faces = YuFace().detect(drawn_photo())
    assert len(faces) == 1


def test_bf16_predicts_and_scores_close_to_float32(
    capsys, run_dir, data, predictor, scores, tmp_path, monkeypatch
):
    half = ifan.load(run_dir, device="cpu", bf16=True)
    assert not predictor.bf16 and half.bf16
    photo = data / "emotion" / "test" / "happy" / "00000.png"
    exact = predictor.predict(photo, detect=False).faces[0].tasks
    rounded = half.predict(photo, detect=False).faces[0].tasks
    for name, result in exact.items():
        other = rounded[name].raw
        assert other.dtype == torch.float32, name  # bfloat16 has no NumPy type: back to float32
        assert not torch.equal(other, result.raw), name  # it did run in bfloat16
        scale = float(result.raw.abs().max())
        assert float((other - result.raw).abs().max()) <= 0.03 * scale + 1e-3, name
    json.dumps(half.predict(photo, detect=False).to_json())  # the JSON is plain numbers
    monkeypatch.setattr(precision.platform, "machine", lambda: "x86_64")
    for native in (True, False):
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda n=native: n, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
        code, out, err = run_cli(capsys, "eval", str(run_dir), "--bf16", "--device", "cpu")
        assert code == 0 and "on cpu in bfloat16" in out
        warned = "warning: --bf16 on this CPU, which has no native bfloat16" in err
        assert warned is not native, err
    values, out = eval_json(capsys, tmp_path, str(run_dir), "--bf16")
    assert "on cpu in bfloat16" in out
    assert values["landmarks.nme"] == pytest.approx(scores["landmarks"]["nme"], rel=0.03)
