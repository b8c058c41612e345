"""``ifan export RUN --onnx FILE``: a tiny trained run (input 32, one iteration, two rounds of
stage 2) exported to ONNX and run with onnxruntime: every task's output equals ``predict_all`` at
any batch size, with that task's own batch norm; metadata; exit codes; clear errors."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ort = pytest.importorskip("onnxruntime")  # the `export` extra; CI installs it with `test`

import ifan  # noqa: E402
from ifan.cli.main import main  # noqa: E402
from ifan.export import ExportError, export_model, read_metadata  # noqa: E402
from ifan.manifest import load_manifest  # noqa: E402
from ifan.training.trainer import Trainer  # noqa: E402
from ifan_tasks.synthetic.writer import TASKS, write_datasets  # noqa: E402

COUNTS = {task: {"train": 4, "val": 2, "test": 2} for task in TASKS}
SMALL = [
    "model.input_size=32",
    "model.iterations=1",
    "train.pretrain_epochs=1",
    "train.finetune_epochs=1",
    "train.finetune_rounds=2",
    *(f"tasks.{task}.batch_size=2" for task in TASKS),
]
TOLERANCE = 1e-4


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny batches: more threads only slow them down when other jobs share the CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run trained by the trainer, so each task's batch-norm copies hold their own statistics
    (seconds of training: the tests that use it are marked slow)."""
    data = tmp_path_factory.mktemp("faces")
    write_datasets(data, seed=0, size=32, counts=COUNTS)
    run = tmp_path_factory.mktemp("run")
    with contextlib.redirect_stdout(io.StringIO()):
        Trainer(load_manifest(data / "manifest.toml", SMALL), run, progress_bars=False).fit()
    return run


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def exported(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``ifan export RUN --onnx FILE``: the file and what the command printed."""
    path = tmp_path_factory.mktemp("onnx") / "faces.onnx"
    code, out, err = cli("export", str(run_dir), "--onnx", str(path))
    assert code == 0, err
    return path, out


@pytest.fixture(scope="module")
def predictor(run_dir: Path):
    return ifan.load(run_dir, device="cpu")


@pytest.fixture(scope="module")
def session(exported: tuple[Path, str]):
    return ort.InferenceSession(str(exported[0]), providers=["CPUExecutionProvider"])


@pytest.mark.slow
def test_cli_reports_the_outputs_and_the_check(exported, predictor) -> None:
    path, out = exported
    assert path.is_file()
    assert "iterations 1, per-task batch norm: 6 backbone passes" in out
    for task in predictor.tasks:
        assert f"\n{task} " in out
    assert "checked with onnxruntime on random batches of 1 and 3" in out


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 3])
def test_onnx_equals_predict_all_with_each_tasks_batch_norm(session, predictor, batch) -> None:
    model = predictor.model
    images = torch.rand(batch, 3, 32, 32, generator=torch.Generator().manual_seed(batch))
    got = dict(
        zip(
            [o.name for o in session.get_outputs()],
            session.run(None, {"images": images.numpy()}),
            strict=True,
        )
    )
    assert list(got) == model.task_names
    with torch.inference_mode():
        expected = model.predict_all(images)
        # the same forward with another task's batch norm: what a graph that ignored the
        # per-task copies would compute
        other = model(images, task=model.task_names[1], iterations=1)[-1]
    for task in model.task_names:
        want = expected[task].numpy()
        assert got[task].shape == want.shape and got[task].shape[0] == batch
        assert np.abs(got[task] - want).max() < TOLERANCE
    parsing = model.task_names[0]
    assert np.abs(got[parsing] - other[parsing].numpy()).max() > 100 * TOLERANCE


@pytest.mark.slow
def test_the_batch_axis_is_dynamic_and_named(session) -> None:
    (images,) = session.get_inputs()
    assert images.name == "images" and images.type == "tensor(float)"
    assert images.shape == ["batch", 3, 32, 32]
    shapes = {o.name: o.shape for o in session.get_outputs()}
    assert shapes["parsing"][0] == "batch" and shapes["parsing"][2:] == [32, 32]
    assert shapes["landmarks"] == ["batch", 5, 2]


@pytest.mark.slow
def test_metadata_names_tasks_outputs_labels_and_settings(exported, session, predictor) -> None:
    meta = read_metadata(exported[0])
    assert meta == session.get_modelmeta().custom_metadata_map  # what runtimes read
    assert json.loads(meta["ifan.tasks"]) == ["parsing", "landmarks", "emotion"]
    assert meta["ifan.version"] == ifan.__version__
    assert meta["ifan.input_size"] == "32"
    assert meta["ifan.iterations"] == "1"
    assert meta["ifan.batchnorm"] == "per-task"
    assert meta["ifan.backbone"] == "fc-densenet"
    assert meta["ifan.backbone_passes"] == "6"
    assert meta["ifan.checkpoint"] == predictor.checkpoint.name
    assert meta["ifan.step"] == str(predictor.meta["progress"]["step"])
    outputs = json.loads(meta["ifan.outputs"])
    assert outputs["landmarks"] == {"task": "landmarks", "shape": ["batch", 5, 2]}
    labels = json.loads(meta["ifan.labels"])
    emotion = predictor.model.tasks["emotion"].labels.names
    assert labels["emotion"]["kind"] == "class" and labels["emotion"]["names"] == list(emotion)
    assert outputs["emotion"]["shape"] == ["batch", len(emotion)]


@pytest.mark.slow
def test_fewer_iterations_export_fewer_passes(predictor, tmp_path: Path) -> None:
    path = tmp_path / "plain.onnx"
    report = export_model(predictor.model, path, iterations=0)
    assert report.backbone_passes == 3 and report.iterations == 0
    assert max(report.max_abs_diff.values()) < TOLERANCE
    assert read_metadata(path)["ifan.iterations"] == "0"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(7))
    (emotion,) = session.run(["emotion"], {"images": images.numpy()})
    with torch.inference_mode():
        want = predictor.model.predict_all(images, iterations=0)["emotion"].numpy()
    assert np.abs(emotion - want).max() < TOLERANCE
    assert predictor.model.training is False  # left in the mode it was in


@pytest.mark.slow
def test_a_test_flip_model_exports_its_mirrored_passes(run_dir: Path, tmp_path: Path) -> None:
    """``model.test_flip`` is part of the graph: twice the passes, the averaged prediction at any
    batch size (the export compares batches of 1 and 3 with PyTorch)."""
    flipping = ifan.load(run_dir, device="cpu", overrides=["model.test_flip=true"])
    report = export_model(flipping.model, tmp_path / "flip.onnx", iterations=0)
    assert report.backbone_passes == 6 and max(report.max_abs_diff.values()) < TOLERANCE


@pytest.mark.slow
def test_a_mismatch_writes_nothing(predictor, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("ifan.export.ATOL", -1.0)  # no difference can pass
    path = tmp_path / "never.onnx"
    with pytest.raises(ExportError, match="does not match PyTorch"):
        export_model(predictor.model, path, iterations=0)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_a_missing_run_exits_2(tmp_path: Path) -> None:
    code, out, err = cli("export", str(tmp_path / "nothing"), "--onnx", str(tmp_path / "x.onnx"))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "no such run folder or checkpoint" in err
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.slow
def test_too_many_iterations_exits_2(run_dir: Path, tmp_path: Path) -> None:
    code, _, err = cli(
        "export", str(run_dir), "--onnx", str(tmp_path / "x.onnx"), "--iterations", "2"
    )
    assert code == 2
    assert "error: cannot export 2 iterations: this network was built with iterations = 1" in err


@pytest.mark.slow
@pytest.mark.parametrize("missing", ["onnxruntime", "onnx"])
def test_without_the_packages_says_how_to_install(run_dir, tmp_path, monkeypatch, missing) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # import raises ImportError
    code, _, err = cli("export", str(run_dir), "--onnx", str(tmp_path / "x.onnx"))
    assert code == 2
    assert f"error: ONNX export needs the {missing} package: pip install 'ifan[export]'" in err


@pytest.mark.slow
def test_the_dynamo_exporter_without_onnxscript_says_so(run_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    code, _, err = cli(
        "export", str(run_dir), "--onnx", str(tmp_path / "x.onnx"), "--exporter", "dynamo"
    )
    assert code == 2 and "needs the onnxscript package: pip install onnxscript" in err
    assert not (tmp_path / "x.onnx").exists()


class DictTask(ifan.Task):
    """A plugin-style task whose prediction is a dict of tensors (or, broken, of a string)."""

    name = "pair"
    contract_version = "1.0"
    labels = ifan.LabelSchema(kind="class", names=("a", "b"))
    formats = ()
    default_tap = "down5"
    broken = False

    def build_decoder(self, tap, ctx):
        from ifan.network.decoders import MLPHead

        head = MLPHead(tap, 2, 8, ctx.norm, "avg")
        broken = self.broken

        class Decoder(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.head = head

            def forward(self, x):
                logits = self.head(x)
                return {"logits": logits, "probs": "no" if broken else logits.softmax(1)}

        return Decoder()

    def build_reencoder(self, levels, ctx):
        raise NotImplementedError

    def prediction_maps(self, prediction, height, width):
        raise NotImplementedError

    def loss(self, prediction, target):
        raise NotImplementedError

    def new_metric(self):
        raise NotImplementedError

    def to_json(self, prediction):
        raise NotImplementedError

    def draw_overlay(self, image, prediction, target=None):
        raise NotImplementedError


def test_a_dict_prediction_gives_one_output_per_tensor(tmp_path: Path) -> None:
    from ifan.manifest.schema import ModelConfig
    from ifan.network.model import IFAN

    model = IFAN({"pair": DictTask()}, ModelConfig(input_size=32, iterations=0)).eval()
    report = export_model(model, tmp_path / "pair.onnx")
    assert [o.name for o in report.outputs] == ["pair.logits", "pair.probs"]
    session = ort.InferenceSession(str(tmp_path / "pair.onnx"), providers=["CPUExecutionProvider"])
    images = torch.rand(2, 3, 32, 32)
    logits, probs = session.run(["pair.logits", "pair.probs"], {"images": images.numpy()})
    with torch.inference_mode():
        want = model.predict_all(images)["pair"]
    assert np.abs(logits - want["logits"].numpy()).max() < TOLERANCE
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    outputs = json.loads(read_metadata(tmp_path / "pair.onnx")["ifan.outputs"])
    assert outputs["pair.probs"] == {"task": "pair", "shape": ["batch", 2]}

    broken = DictTask()
    broken.broken = True
    model = IFAN({"pair": broken}, ModelConfig(input_size=32, iterations=0)).eval()
    with pytest.raises(ExportError, match="task pair: its prediction is a dict"):
        export_model(model, tmp_path / "broken.onnx")
