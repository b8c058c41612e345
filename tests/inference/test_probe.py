"""``ifan probe`` and :func:`ifan.probing.probe` on tiny untrained runs: the matrix's structure,
checked by hand with features made to order through the cache (the labels one-hot: every face
right; a constant: one class for all); the head that ends in the target decoder's own tail; a
value target; determinism; and every error."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import ifan
from ifan.cli.main import main
from ifan.contract import BuildContext, FeatureSpec, LabelSchema, Task
from ifan.errors import FeaturesError
from ifan.features.store import Features
from ifan.manifest.schema import ModelConfig
from ifan.metrics.values import ValueMetric
from ifan.network.decoders import MLPHead
from ifan.network.model import IFAN
from ifan.probing.heads import DecoderTail, HeadOptions, fit_head, score_head
from ifan.probing.matrix import probe
from ifan.runs.checkpoint import load_checkpoint, save_checkpoint
from ifan.runs.layout import find_checkpoint
from ifan_tasks.synthetic.writer import write_datasets
from tests.inference.tiny_run import untrained_run

COUNTS = {
    "parsing": {"train": 1, "val": 1, "test": 1},
    "landmarks": {"train": 1, "val": 1, "test": 1},
    "emotion": {"train": 16, "val": 4, "test": 8},
}
"""The emotion faces come in the four expressions in turn: 2 of each in test."""
FAST = {"epochs": 40, "lr": 0.05, "progress": False, "device": "cpu"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    write_datasets(folder, seed=0, size=32, counts=COUNTS)
    text = (folder / "manifest.toml").read_text()
    (folder / "no-test.toml").write_text(text.replace('test = "emotion/test"\n', ""))
    return folder


@pytest.fixture(scope="module")
def runs(data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Two runs of the same untrained network, in two folders: two sources."""
    first = untrained_run(data, tmp_path_factory.mktemp("runs") / "a")
    second = first.parent / "b"
    shutil.copytree(first, second)
    return str(first), str(second)


def remade(cache: Path, make: dict[tuple[str, str], Any]) -> None:
    """Replace the features of every cached file of ``make``'s ``(run, task)`` with
    ``make[run, task](labels)``; the model's identity and the faces stay."""
    for path in cache.glob("*.safetensors"):
        found = Features.load(path)
        key = (found.model.run, found.model.task)
        if key in make:
            found.features = make[key](found.targets["label"])
            found.save(path)


def test_the_matrix_by_hand(runs: tuple[str, str], tmp_path: Path) -> None:
    a, b = runs
    sources = [f"{a}:landmarks", f"{b}:landmarks"]
    cache = tmp_path / "cache"
    first = probe([f"{a}:emotion"], sources, cache=cache, **FAST)
    names = sorted(p.name for p in cache.iterdir())  # 3 feature sets x (train, test)
    assert [n.split("-")[:4] for n in names] == [
        ["a", "emotion", "", "emotion"], ["a", "emotion", "", "emotion"],
        ["a", "landmarks", "", "emotion"], ["a", "landmarks", "", "emotion"],
        ["b", "landmarks", "", "emotion"], ["b", "landmarks", "", "emotion"],
    ]  # fmt: skip
    assert first.rows == [*sources, "own", "fused"]
    column = first.targets[0]
    assert (column.metric, column.higher_is_better, column.unit) == ("accuracy", True, "")
    assert column.samples == {"train": 16, "test": 8}
    assert column.dims["fused"] == column.dims[sources[0]] * 2 + column.dims["own"]
    # Same weights, same faces: the two sources' features and scores are the same.
    assert column.values[sources[0]] == column.values[sources[1]]

    remade(
        cache,
        {
            (a, "landmarks"): lambda y: F.one_hot(y, 4).float(),  # the labels themselves
            (b, "landmarks"): lambda y: torch.zeros(len(y), 3),  # nothing to go on
            (a, "emotion"): lambda y: torch.ones(len(y), 2),  # nothing either
        },
    )
    second = probe([f"{a}:emotion"], sources, cache=cache, **FAST)
    scores = {row: second.score(row, f"{a}:emotion") for row in second.rows}
    assert scores[sources[0]] == 1.0
    assert scores[sources[1]] == 0.25  # one class for all: 2 of 8 right
    assert scores["own"] == 0.25
    assert scores["fused"] == 1.0  # the labels are among them
    assert second.targets[0].dims == {sources[0]: 4, sources[1]: 3, "own": 2, "fused": 9}
    per_class = second.targets[0].values["own"]
    assert sorted(per_class[f"accuracy_{c}"] for c in ("happy", "neutral", "sad", "surprise")) == [
        0.0, 0.0, 0.0, 1.0,
    ]  # fmt: skip
    table = second.table()
    assert f"{a}:emotion: accuracy in %, higher is better; linear heads fitted on 16" in table
    lines = table.splitlines()
    assert lines[2].split() == ["features", f"{a}:emotion", "accuracy", "(%)"]
    assert lines[3].split() == [sources[0], "100.00", "*"]
    assert lines[4].split() == [sources[1], "25.00"]
    assert lines[5].split() == ["own", "25.00"]
    assert lines[6].split() == ["fused", "100.00", "*"]


def test_deterministic_with_or_without_a_cache(runs: tuple[str, str], tmp_path: Path) -> None:
    a, _ = runs
    kwargs = {**FAST, "head": "mlp", "split": "val"}
    once = probe(["emotion"], [f"{a}:landmarks"], **kwargs).to_json()
    cached = probe(["emotion"], [f"{a}:landmarks"], cache=tmp_path, **kwargs).to_json()
    again = probe(["emotion"], [f"{a}:landmarks"], cache=tmp_path, **kwargs).to_json()
    assert once == cached == again
    assert once["targets"]["emotion"]["samples"] == {"train": 16, "val": 4}
    assert once["head"] == "mlp" and once["rows"] == [f"{a}:landmarks", "own", "fused"]


class Brightness(Task):
    """A test-only value task: a number in [0, 1] per face, from a sigmoid."""

    name = "brightness"
    contract_version = "1.3"
    labels = LabelSchema(kind="value", names=("brightness",))
    formats = ()
    default_tap = "down5"

    def build_decoder(self, tap: FeatureSpec, ctx: BuildContext) -> Any:
        return MLPHead(tap, 1, 16, ctx.norm, "avg", activation="sigmoid")

    def build_reencoder(self, levels: Sequence[FeatureSpec], ctx: BuildContext) -> Any:
        raise NotImplementedError

    def prediction_maps(self, prediction: Any, height: int, width: int) -> Any:
        raise NotImplementedError

    def loss(self, prediction: Any, target: Any) -> Any:
        return (prediction[:, 0] - target["value"]).abs().mean()

    def new_metric(self) -> Any:
        return ValueMetric("value")

    def to_json(self, prediction: Any) -> dict[str, Any]:
        return {"value": float(prediction[0])}

    def draw_overlay(self, image: Any, prediction: Any, target: Any = None) -> Any:
        return image


def test_a_value_target_through_its_decoders_sigmoid() -> None:
    model = IFAN({"brightness": Brightness()}, ModelConfig(input_size=32, iterations=0)).eval()
    tail = DecoderTail(model, "brightness")
    assert (tail.in_features, tail.out_features) == (16, 1)
    y = torch.linspace(-3, 3, 7)[:, None]
    assert torch.allclose(tail(y), torch.sigmoid(y))
    generator = torch.Generator().manual_seed(0)
    values = torch.rand(64, generator=generator) * 0.8 + 0.1
    noise = torch.randn(64, 3, generator=generator)
    features = torch.cat([values[:, None], noise], dim=1)
    task = model.tasks["brightness"]
    options = HeadOptions(epochs=60, batch_size=16, lr=0.05)
    head = fit_head(task, tail, features[:48], {"value": values[:48]}, options)
    scores = score_head(task, head, features[48:], {"value": values[48:]})
    assert set(scores) == {"mae", "rmse"} and scores["mae"] < 0.03
    blind = fit_head(task, tail, noise[:48], {"value": values[:48]}, options)
    assert score_head(task, blind, noise[48:], {"value": values[48:]})["mae"] > 0.1


def test_the_tail_is_what_the_decoder_does_after_its_last_linear(runs: tuple[str, str]) -> None:
    model = ifan.load(runs[0], device="cpu").model
    images = torch.rand(3, 3, 32, 32)
    for task in ("emotion", "landmarks"):
        decoder = model.decoders[task]
        seen: list[torch.Tensor] = []
        linear = [m for m in decoder.modules() if isinstance(m, torch.nn.Linear)][-1]
        handle = linear.register_forward_hook(lambda m, i, o, seen=seen: seen.append(o))
        with torch.no_grad(), model.norm.use(task):
            expected = decoder(model.backbone(images, None, None)[model.taps[task]])
        handle.remove()
        with torch.no_grad():
            assert torch.allclose(DecoderTail(model, task)(seen[-1]), expected, atol=1e-6)
    points = DecoderTail(model, "landmarks")(torch.zeros(2, 10))
    assert points.shape == (2, 5, 2) and torch.all(points == 0.5)  # sigmoid, then 5 x 2


def changed(run: Path) -> None:
    """Change one weight of the run's checkpoint in place: other weights at the same path."""
    path = find_checkpoint(run)
    checkpoint = load_checkpoint(path)
    weights = dict(checkpoint.model)
    name = next(k for k in sorted(weights) if k.startswith("decoders.landmarks"))
    weights[name] = weights[name] + 0.5
    save_checkpoint(path, weights, None, checkpoint.meta)


def test_errors_name_what_and_where(runs: tuple[str, str], data: Path, tmp_path: Path) -> None:
    a, b = runs
    with pytest.raises(FeaturesError, match=f"{a} has no task 'age'; its tasks are parsing"):
        probe(["emotion"], [f"{a}:age"], **FAST)
    with pytest.raises(FeaturesError, match=r"task parsing's decoder \(PixelClassifier\)"):
        probe(["emotion"], [f"{a}:parsing"], **FAST)
    with pytest.raises(FeaturesError, match="landmarks's labels are points; a probe head"):
        probe([f"{a}:landmarks"], [f"{a}:emotion"], **FAST)
    with pytest.raises(FeaturesError, match=f"the source runs {a}, {b} all have it"):
        probe(["emotion"], [f"{a}:landmarks", f"{b}:landmarks"], **FAST)
    with pytest.raises(FeaturesError, match="no source run has this task"):
        probe(["age"], [f"{a}:landmarks"], **FAST)
    with pytest.raises(FeaturesError, match="expected RUN:TASK"):
        probe(["emotion"], ["landmarks"], **FAST)
    with pytest.raises(FeaturesError, match="a source is named twice"):
        probe(["emotion"], [f"{a}:landmarks", f"{a}:landmarks"], **FAST)
    with pytest.raises(FeaturesError, match="heads learn on the train split"):
        probe(["emotion"], [f"{a}:landmarks"], split="train", **FAST)  # type: ignore[arg-type]
    without = untrained_run(data, tmp_path / "no-test", "no-test.toml")
    with pytest.raises(FeaturesError) as error:
        probe([f"{without}:emotion"], [f"{a}:landmarks"], **FAST)
    assert f"{without}: no labelled faces of emotion for the test split" in str(error.value)
    # A cache made from other weights at the same path is refused, naming the file.
    moved = tmp_path / "moved"
    shutil.copytree(a, moved)
    cache = tmp_path / "cache"
    probe(["emotion"], [f"{moved}:landmarks"], cache=cache, **FAST)
    changed(moved)
    with pytest.raises(FeaturesError) as error:
        probe(["emotion"], [f"{moved}:landmarks"], cache=cache, **FAST)
    assert f"{cache}/moved-landmarks--emotion-" in str(error.value)
    assert "holds features of another model: landmarks of" in str(error.value)
    assert "delete the file" in str(error.value)


def test_the_command_prints_and_writes_the_matrix(
    capsys, runs: tuple[str, str], tmp_path: Path
) -> None:
    a, b = runs
    out = tmp_path / "matrix.json"
    code = main([
        "probe", "--target", f"{a}:emotion", "--target", f"{b}:emotion", "--source",
        f"{b}:landmarks", "--epochs", "40", "--lr", "0.05", "--device", "cpu", "--json", str(out),
    ])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    written = json.loads(out.read_text())
    api = probe([f"{a}:emotion", f"{b}:emotion"], [f"{b}:landmarks"], **FAST).to_json()
    assert written == api
    rows = [f"{b}:landmarks", "own", "fused"]
    assert written["rows"] == rows and list(written["targets"]) == [f"{a}:emotion", f"{b}:emotion"]
    first, second = written["targets"].values()
    assert first["scores"] == second["scores"]  # the same weights and faces: the same column
    assert first["own"]["run"] == a and second["own"]["run"] == b
    header = printed.out.splitlines()[3].split()
    assert header == [
        "features",
        f"{a}:emotion",
        "accuracy",
        "(%)",
        f"{b}:emotion",
        "accuracy",
        "(%)",
    ]
    for row in rows:
        line = next(x for x in printed.out.splitlines() if x.startswith(row + " "))
        shown = [f"{100 * first['scores'][row]:.2f}"] * 2
        assert [v for v in line[len(row) :].split() if v != "*"] == shown
    assert written["sources"][f"{b}:landmarks"]["layer"].startswith("decoders.landmarks.")
    code = main(["probe", "--target", "emotion", "--source", f"{a}:nothing"])
    assert code == 2 and f"{a} has no task 'nothing'" in capsys.readouterr().err
