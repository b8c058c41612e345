"""Training loggers: the CSV files hold metrics.jsonl's values, TensorBoard's files the scalars,
a plugin's logger gets every event, a broken one is dropped without stopping the run, and only
the first process logs."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from ifan import hookimpl
from ifan.errors import IfanError, ManifestError
from ifan.inference import load
from ifan.loggers import (
    CheckpointSaved,
    EpochEnded,
    RunEnded,
    RunStarted,
    TensorBoardLogger,
    TrainingLogger,
    Validated,
    loggers,
)
from ifan.manifest import load_manifest
from ifan.network.model import build_model
from ifan.plugins import PluginRegistry, load_registry
from ifan.runs.checkpoint import load_checkpoint, save_checkpoint
from ifan.runs.layout import checkpoint_path
from ifan.runs.meta import manifest_from_meta, run_meta
from ifan.training.processes import Processes
from tests.inference.tiny_run import write_data
from tests.training.short_run import STAGE_1, trainer, write_faces

CSV = 'train.loggers=["csv"]'


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_faces(tmp_path_factory.mktemp("faces"))


def _records(run: Path, kind: str) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == kind]


def _rows(run: Path, name: str) -> list[dict[str, str]]:
    with (run / "csv" / f"{name}.csv").open(newline="") as file:
        return list(csv.DictReader(file))


INTEGERS = ("stage", "epoch", "step")
NUMBERS = ("loss", "weight", "lr", "time", "value")


def _typed(row: dict[str, str]) -> dict[str, object]:
    """A CSV row with its numbers and flags read back (an empty cell: None, JSON's null)."""
    out: dict[str, object] = dict(row)
    for key in INTEGERS:
        out[key] = int(row[key])
    for key in NUMBERS:
        if key in row:
            out[key] = None if row[key] == "" else float(row[key])
    if "higher_is_better" in row:
        out["higher_is_better"] = row["higher_is_better"] == "true"
    return out


@pytest.mark.slow
def test_the_csv_files_hold_the_values_of_metrics_jsonl(faces, tmp_path):
    run = trainer(faces, tmp_path / "run", CSV, "tasks.emotion.loss_weight=2")
    run.fit()
    run.close()
    folder = tmp_path / "run"
    epochs = [_typed(row) for row in _rows(folder, "epochs")]
    keys = ("stage", "epoch", "step", "task", "loss", "lr", "time")
    assert [{k: row[k] for k in keys} for row in epochs] == [
        {k: record[k] for k in keys} for record in _records(folder, "train")
    ]
    weights = {(row["step"], row["task"]): row["weight"] for row in epochs}
    assert weights[STAGE_1, "emotion"] == 2.0 and weights[STAGE_1 + 6, "parsing"] == 1.0
    keys = ("stage", "epoch", "step", "split", "task", "main", "higher_is_better")
    assert [_typed(row) for row in _rows(folder, "validations")] == [
        {**{k: record[k] for k in keys[:5]}, "metric": metric, "value": value}
        | {k: record[k] for k in keys[5:]}
        for record in _records(folder, "val")
        for metric, value in record["metrics"].items()
    ]
    saved = [(row["step"], row["path"], row["best"]) for row in _rows(folder, "checkpoints")]
    assert saved[-1] == ("22", "checkpoints/step-00000022.safetensors", "false")
    assert len(saved) == 3 + 2  # every epoch's end
    runs = [(row["event"], row["step"]) for row in _rows(folder, "runs")]
    assert runs == [("start", "0"), ("end", "22")]


@pytest.mark.slow
def test_a_resumed_run_drops_the_rows_beyond_its_checkpoint(faces, tmp_path):
    folder = tmp_path / "run"
    whole = trainer(faces, folder, CSV, "train.keep_checkpoints=100")
    whole.fit()
    first = _rows(folder, "epochs")
    checkpoint = load_checkpoint(checkpoint_path(folder, STAGE_1))
    again = trainer(faces, folder, CSV, "train.keep_checkpoints=100", checkpoint=checkpoint)
    again.fit()

    def without_time(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        return [{k: v for k, v in row.items() if k != "time"} for row in rows]

    assert without_time(_rows(folder, "epochs")) == without_time(first)  # no row twice
    assert [r["event"] for r in _rows(folder, "runs")] == ["start", "end", "resume", "end"]


@pytest.mark.slow
def test_tensorboard_holds_the_scalars(faces, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = trainer(faces, tmp_path / "run", 'train.loggers=["tensorboard", "csv"]')
    run.fit()
    run.close()
    plain = trainer(faces, tmp_path / "plain")
    plain.fit()
    for key, value in plain.model.state_dict().items():  # logging changes nothing it logs
        assert torch.equal(value, run.model.state_dict()[key]), key
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    losses = [(s.step, s.value) for s in events.Scalars("train/loss/landmarks")]
    logged = [r for r in _records(tmp_path / "run", "train") if r["task"] == "landmarks"]
    assert [step for step, _ in losses] == [5, 16, 22]  # its stage-1 epoch, two stage-2 epochs
    assert losses == [(r["step"], pytest.approx(r["loss"], rel=1e-6)) for r in logged]
    scored = _records(tmp_path / "run", "val")
    nme = [r["metrics"]["nme"] for r in scored if r["task"] == "landmarks"]
    assert [s.value for s in events.Scalars("val/landmarks/nme")] == pytest.approx(nme, rel=1e-6)
    assert {"train/lr", "train/weight/parsing", "val/emotion/accuracy"} <= set(
        events.Tags()["scalars"]
    )


def test_without_tensorboard_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(IfanError, match=r"pip install 'ifan\[tensorboard\]'"):
        TensorBoardLogger(tmp_path)


class Recorder(TrainingLogger):
    """Keeps every event it gets."""

    name = "recorder"
    events: ClassVar[list] = []

    def run_started(self, event: RunStarted) -> None:
        self.events.append(event)

    def epoch_ended(self, event: EpochEnded) -> None:
        self.events.append(event)

    def validated(self, event: Validated) -> None:
        self.events.append(event)

    def checkpoint_saved(self, event: CheckpointSaved) -> None:
        self.events.append(event)

    def run_ended(self, event: RunEnded) -> None:
        self.events.append(event)


class Failing(TrainingLogger):
    """Raises at the second epoch's end."""

    name = "failing"
    calls: ClassVar[list[int]] = []

    def epoch_ended(self, event: EpochEnded) -> None:
        self.calls.append(event.step)
        if len(self.calls) == 2:
            raise ConnectionError("the tracking server is down")


class NotStarting(TrainingLogger):
    name = "not-starting"

    def __init__(self, run_dir: Path) -> None:
        raise RuntimeError("no credentials")


class Refused(TrainingLogger):
    name = "refused"

    def run_started(self, event: RunStarted) -> None:
        raise PermissionError("the server refuses the credentials")


class LoggerPlugin:
    @hookimpl
    def ifan_loggers(self) -> list[type[TrainingLogger]]:
        return [Recorder, Failing, NotStarting, Refused]


def _registry() -> PluginRegistry:
    registry = load_registry(allow=None)
    registry.manager.register(LoggerPlugin(), name="test:loggers")
    return registry


@pytest.mark.slow
def test_a_plugin_logger_gets_every_event_in_order(faces, tmp_path):
    registry = _registry()
    assert {"csv", "tensorboard", "recorder"} <= set(loggers(registry).names)
    Recorder.events.clear()
    run = trainer(faces, tmp_path / "run", 'train.loggers=["recorder"]', registry=registry)
    run.fit()
    kinds = [type(event).__name__ for event in Recorder.events]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunEnded"
    assert kinds[1:4] == ["EpochEnded", "Validated", "CheckpointSaved"]  # parsing's stage 1
    assert kinds.count("EpochEnded") == 5 and kinds.count("Validated") == 3 + 2 * 3
    started, ended = Recorder.events[0], Recorder.events[-1]
    assert started.step == 0 and started.tasks == ("parsing", "landmarks", "emotion")
    assert ended == RunEnded(22, stopped_early=False)
    last_epoch = [e for e in Recorder.events if isinstance(e, EpochEnded)][-1]
    assert last_epoch.stage == 2 and set(last_epoch.losses) == set(last_epoch.weights)
    saved = [e for e in Recorder.events if isinstance(e, CheckpointSaved)]
    assert [e.step for e in saved] == [2, 5, 10, 16, 22]
    assert saved[-1].path == checkpoint_path(tmp_path / "run", 22) and saved[-1].path.exists()


@pytest.mark.slow
def test_a_failing_logger_is_reported_once_and_dropped_and_training_goes_on(faces, tmp_path):
    Failing.calls.clear()
    registry = _registry()
    run = trainer(faces, tmp_path / "run", 'train.loggers=["failing", "csv"]', registry=registry)
    with pytest.warns(UserWarning, match="the tracking server is down") as warned:
        run.fit()
    dropped = [w for w in warned if "dropped" in str(w.message)]
    assert len(dropped) == 1 and "'failing' of" in str(dropped[0].message)
    assert len(Failing.calls) == 2  # not called again
    assert run.progress.step == 22
    assert len(_rows(tmp_path / "run", "epochs")) == 3 + 2 * 3  # the other logger kept on


@pytest.mark.parametrize(
    ("name", "why"), [("not-starting", "no credentials"), ("refused", "refuses the credentials")]
)
def test_a_logger_that_cannot_start_stops_the_run_before_it_begins(faces, tmp_path, name, why):
    chosen = f'train.loggers=["{name}"]'
    with pytest.raises(IfanError, match=rf"'{name}' of .*cannot start: .*{why}"):
        trainer(faces, tmp_path / "run", chosen, registry=_registry())
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_only_the_first_process_logs(faces, tmp_path, monkeypatch):
    monkeypatch.setattr(Processes, "main", property(lambda self: False))  # as on rank 1
    Recorder.events.clear()
    run = trainer(
        faces, tmp_path / "run", 'train.loggers=["csv", "recorder"]', registry=_registry()
    )
    run.fit(stop_after=STAGE_1)
    assert Recorder.events == [] and not (tmp_path / "run" / "csv").exists()


def test_a_run_whose_logger_is_not_installed_still_loads_for_use(tmp_path):
    """Evaluating and predicting need the run's tasks, not the plugins it trained with."""
    data = write_data(tmp_path / "data")
    manifest = load_manifest(data / "manifest.toml", ["model.iterations=1"])
    meta = run_meta(manifest, {"step": 1})
    meta["manifest"]["train"] = {"loggers": ["mlflow"], "balancer": {"name": "elsewhere"}}
    run = tmp_path / "run"
    save_checkpoint(checkpoint_path(run, 1), build_model(manifest).state_dict(), None, meta)
    assert load(run, device="cpu").manifest.loggers == ()
    with pytest.raises(ManifestError, match=r"unknown training logger 'mlflow'"):
        manifest_from_meta(meta)
