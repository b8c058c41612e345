"""The cross-dataset scheduler and trainer: stage order and updates per task counted, only the
parameters of Algorithm 1 trained, learning-rate decay, resume equal to an uninterrupted run."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest
import torch

from ifan.cli.main import main
from ifan.errors import IfanError
from ifan.manifest import load_manifest
from ifan.network import precision
from ifan.runs.checkpoint import load_checkpoint
from ifan.runs.layout import latest_checkpoint
from ifan.training.resume import resume_manifest
from ifan.training.scheduler import TaskStream, schedule
from ifan.training.trainer import Trainer
from tests.training.short_run import SMALL, TASKS, trainer, write_faces


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    return write_faces(tmp_path_factory.mktemp("faces"))


def test_schedule_pretrains_each_task_then_alternates_equally():
    plan = list(schedule(["a", "b", "c"], {"a": 2, "b": 5, "c": 1}, 2, 3, 4))
    stage1 = [u.task for u in plan if u.stage == 1]
    assert stage1 == ["a"] * 4 + ["b"] * 10 + ["c"] * 2  # each task in turn, its own epochs
    stage2 = [u.task for u in plan if u.stage == 2]
    assert stage2 == ["a", "b", "c"] * 12  # one batch of every task per round, 4 rounds x 3
    assert Counter(stage2) == {"a": 12, "b": 12, "c": 12}
    ends = [(u.stage, u.task, u.epoch) for u in plan if u.ends_epoch]
    assert ends[:3] == [(1, "a", 1), (1, "a", 2), (1, "b", 1)]
    assert ends[-3:] == [(2, "c", 1), (2, "c", 2), (2, "c", 3)]


def test_streams_cycle_small_sets_and_reshuffle_every_pass():
    stream = TaskStream(size=5, batch_size=2, seed=0, task_index=1)
    assert stream.per_pass == 2  # the odd sample out is left to the next pass's order
    first = [i for k in range(2) for i, _ in stream.batch(k)]
    second = [i for k in range(2, 4) for i, _ in stream.batch(k)]
    assert len(set(first)) == 4 and len(set(second)) == 4
    orders = {
        tuple(i for k in range(2 * p, 2 * p + 2) for i, _ in stream.batch(k)) for p in range(6)
    }
    assert len(orders) > 1  # never a fixed order
    assert stream.batch(7) == TaskStream(5, 2, 0, 1).batch(7)  # a pure function of k
    seeds = [s for k in range(6) for _, s in stream.batch(k)]
    assert len(set(seeds)) == len(seeds)


def test_an_oversampled_task_trains_on_its_weighted_faces_more_often(faces, tmp_path):
    oversample = "tasks.emotion.data.oversample={label={0=20.0}}"
    run = trainer(faces, tmp_path / "run", oversample, "train.checkpoint_every=1")
    train = run.data["emotion"].datasets["train"]
    labels = [int(train[i][1]["label"]) for i in range(len(train))]
    rare = labels.count(0)
    assert 0 < rare < len(labels) / 2
    assert run.streams["emotion"].weights.tolist() == [20.0 if y == 0 else 1.0 for y in labels]
    drawn = [labels[i] for k in range(100) for i, _ in run.streams["emotion"].batch(k)]
    expected = 20 * rare / (20 * rare + len(labels) - rare)
    assert abs(drawn.count(0) / len(drawn) - expected) < 0.08
    assert run.passes["emotion"] == len(labels) // 4  # a pass keeps its length
    assert run.streams["landmarks"].weights is None
    # a checkpoint's manifest keeps the weights, and a resumed run may not change them
    run.fit(stop_after=1)
    meta = load_checkpoint(latest_checkpoint(tmp_path / "run")).meta
    assert resume_manifest(meta, []).tasks["emotion"].data.oversample == {"label": {0: 20.0}}
    with pytest.raises(IfanError, match=r"tasks\.emotion\.data\.oversample"):
        resume_manifest(meta, ["tasks.emotion.data.oversample={label={0=5.0}}"])


@pytest.fixture(scope="module")
def plain(faces, tmp_path_factory) -> tuple[Trainer, Path]:
    """The short run with its defaults, trained once: the trainer after ``fit`` and its folder."""
    folder = tmp_path_factory.mktemp("plain") / "run"
    run = trainer(faces, folder)
    run.fit()
    return run, folder


@pytest.mark.slow
def test_the_trainer_follows_algorithm_1_counted(plain):
    run, folder = plain
    stages = [(stage, task) for stage, task, _, _ in run.trained]
    # stage 1: 8 // 4 = 2, 12 // 4 = 3 and 20 // 4 = 5 updates, each task in turn
    assert stages[:10] == [(1, "parsing")] * 2 + [(1, "landmarks")] * 3 + [(1, "emotion")] * 5
    # stage 2: 2 epochs x 2 rounds, every round one batch of each task in turn
    assert stages[10:] == [(2, t) for t in TASKS] * 4
    assert all(samples == 4 for _, _, samples, _ in run.trained)
    rates = [lr for stage, _, _, lr in run.trained]
    assert rates[:10] == [1e-3] * 10  # stage 1: lr_pretrain
    assert rates[10] == pytest.approx(1e-3) and rates[-1] == pytest.approx(1e-6)
    assert all(a > b for a, b in itertools.pairwise(rates[10:]))  # decaying
    records = (folder / "metrics.jsonl").read_text().splitlines()
    assert len(records) == 3 * 2 + 2 * 6  # stage 1: loss + val per task; stage 2: 3+3 per epoch
    assert (folder / "curves.png").stat().st_size > 10_000
    assert isinstance(run.optimizer, torch.optim.RMSprop)


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The module's parameters (batch-norm running statistics of other tasks' copies still move
    when another task's forward pass runs through them, as they should)."""
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def _changed(before: dict, module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[k], v) for k, v in module.named_parameters())


def test_an_update_trains_only_what_algorithm_1_names(faces, tmp_path):
    run = trainer(faces, tmp_path / "run")
    updates = list(run.updates())
    model = run.model
    parts = {
        **{f"decoder {t}": model.decoders[t] for t in TASKS},
        "integrator": model.integrator,
    }
    before = {name: _snapshot(module) for name, module in parts.items()}
    run.step(updates[0])  # stage 1, parsing
    changed = {name for name, module in parts.items() if _changed(before[name], module)}
    assert changed == {"decoder parsing"}
    stage2 = next(u for u in updates if u.stage == 2 and u.task == "landmarks")
    run._start_finetuning()
    before = {name: _snapshot(module) for name, module in parts.items()}
    backbone = _snapshot(model.backbone)
    run.step(stage2)
    changed = {name for name, module in parts.items() if _changed(before[name], module)}
    assert changed == {"decoder landmarks", "integrator"}
    moved = [k for k, v in model.backbone.named_parameters() if not torch.equal(backbone[k], v)]
    assert moved and all(".norms.parsing." not in k and ".norms.emotion." not in k for k in moved)


@pytest.mark.slow
def test_a_resumed_run_ends_where_an_uninterrupted_run_ends(faces, plain, tmp_path):
    whole, whole_folder = plain
    cut = trainer(faces, tmp_path / "cut", "train.checkpoint_every=1")
    cut.fit(stop_after=13)  # "killed" in stage 2, after a checkpoint at update 13
    del cut
    checkpoint = load_checkpoint(latest_checkpoint(tmp_path / "cut"))
    assert checkpoint.meta["progress"]["step"] == 13
    manifest = load_manifest(faces, [*SMALL, "train.checkpoint_every=1"])
    resumed = Trainer(manifest, tmp_path / "cut", checkpoint, progress_bars=False)
    resumed.fit()
    assert resumed.progress.step == whole.progress.step == 22
    for key, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    steps = [r for r in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert len(steps) == len((whole_folder / "metrics.jsonl").read_text().splitlines())


def test_memory_layout_and_bf16_compute_the_same_update(faces, tmp_path):
    runs = {
        name: trainer(faces, tmp_path / name, *extra)
        for name, extra in {
            "nchw": ["train.channels_last=false"],
            "channels_last": ["train.channels_last=true"],
            "bf16": ["train.bf16=true", "train.channels_last=false"],
        }.items()
    }
    conv = next(p for p in runs["channels_last"].model.parameters() if p.dim() == 4)
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    first = next(iter(runs["nchw"].updates()))
    losses = {name: run.step(first) for name, run in runs.items()}

    def gradient(run: Trainer) -> torch.Tensor:
        return torch.cat([p.grad.flatten() for p in run.model.parameters() if p.grad is not None])

    reference = gradient(runs["nchw"])
    # Same model and batch: float32 rounding apart, the same loss and gradient (compared on the
    # scale of the whole gradient: a bias before batch norm has a gradient of pure rounding).
    assert losses["channels_last"] == pytest.approx(losses["nchw"], rel=1e-5)
    assert (gradient(runs["channels_last"]) - reference).abs().max() < 1e-3 * reference.abs().max()
    # bfloat16 keeps 8 bits of mantissa: close, not equal.
    assert losses["bf16"] == pytest.approx(losses["nchw"], rel=0.02)
    assert losses["bf16"] != losses["nchw"]
    cosine = torch.nn.functional.cosine_similarity(gradient(runs["bf16"]), reference, dim=0)
    assert cosine > 0.99


def test_bf16_auto_trains_in_bf16_only_where_the_cpu_computes_it(faces, tmp_path, monkeypatch):
    monkeypatch.setattr(precision.platform, "machine", lambda: "x86_64")
    runs = {}
    for native in (False, True):
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda n=native: n, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
        runs[native] = trainer(faces, tmp_path / str(native), "train.bf16=auto")
    runs["float32"] = trainer(faces, tmp_path / "float32", "train.bf16=false")
    runs["bf16"] = trainer(faces, tmp_path / "bf16", "train.bf16=true")
    chosen = [runs[key].bf16 for key in (False, True, "float32", "bf16")]
    assert chosen == [False, True, False, True]
    first = next(iter(runs["float32"].updates()))
    losses = {key: run.step(first) for key, run in runs.items()}
    assert losses[False] == losses["float32"] and losses[True] == losses["bf16"]
    assert losses["bf16"] != losses["float32"]


def test_a_non_finite_loss_stops_with_the_task_and_update_named(faces, tmp_path, monkeypatch):
    run = trainer(faces, tmp_path / "run")
    task = run.model.tasks["parsing"]
    monkeypatch.setattr(task, "loss", lambda prediction, target: prediction.sum() * float("nan"))
    with pytest.raises(
        IfanError, match=r"the parsing loss is nan at update 1 \(stage 1, epoch 1\)"
    ):
        run.fit()


@pytest.mark.slow
def test_ifan_train_and_resume_from_the_command_line(faces, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    args = [f"--set={s}" for s in SMALL]
    assert main(["train", str(faces), "--out", str(out), "--quiet", *args]) == 0
    assert "done: 22 updates" in capsys.readouterr().out
    assert main(["train", "--resume", str(out), "--quiet"]) == 0  # nothing left to do
    assert "resuming at update 22" in capsys.readouterr().out
    monkeypatch.setattr(precision.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    assert main(["train", "--resume", str(out), "--quiet", "--set", "train.bf16=auto"]) == 0
    said = capsys.readouterr().out
    assert "precision: float32 (train.bf16 = auto: this CPU has no native" in said
    assert main(["train", "--resume", str(out), str(faces)]) == 2


def test_ifan_train_tasks_trains_only_the_named_tasks_and_resume_keeps_them(
    faces, tmp_path, capsys
):
    out = tmp_path / "single"
    args = [f"--set={s}" for s in [*SMALL, "model.iterations=0"]]
    assert (
        main(["train", str(faces), "--tasks", "landmarks", "--out", str(out), "--quiet", *args])
        == 0
    )
    assert "training: landmarks -> " in capsys.readouterr().out
    checkpoint = load_checkpoint(latest_checkpoint(out))
    assert list(checkpoint.meta["manifest"]["tasks"]) == ["landmarks"]
    assert {key.split(".")[1] for key in checkpoint.model if key.startswith("decoders.")} == {
        "landmarks"
    }
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    assert "resuming at update" in capsys.readouterr().out
    assert main(["train", "--resume", str(out), "--tasks", "landmarks"]) == 2
    assert (
        main(["train", str(faces), "--tasks", "landmarks,age", "--out", str(tmp_path / "x")]) == 2
    )
    assert "has no task 'age'; its tasks are parsing, landmarks, emotion" in capsys.readouterr().err
