"""Checkpoints: exact round trips, atomic writes, refusal of pickles, a run's checkpoint files."""

from __future__ import annotations

import errno
import io
import json
import math
import os
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from ifan import files
from ifan.errors import IfanError
from ifan.runs import checkpoint as ckpt
from ifan.runs.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ifan.runs.layout import checkpoint_path, latest_checkpoint, prune_checkpoints
from ifan.training.rng import rng_state, set_rng_state


def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def _rmsprop(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(
        model.parameters(), lr=0.01, momentum=0.9, centered=True, weight_decay=1e-4
    )


def _step(model: nn.Module, opt: torch.optim.Optimizer, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(6, 4, generator=gen)
    y = torch.randint(0, 3, (6,), generator=gen)
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _save_simple(path: Path, value: float, step: int = 0) -> None:
    save_checkpoint(path, {"w": torch.full((3,), value)}, None, {"step": step})


def test_model_and_rmsprop_round_trip_and_continue_bit_identically(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _net()
    opt = _rmsprop(model)
    for seed in range(3):
        _step(model, opt, seed)
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, model.state_dict(), opt.state_dict(), {"step": 3})

    loaded = load_checkpoint(path)
    assert loaded.path == path
    assert loaded.meta == {"step": 3}
    assert loaded.model.keys() == model.state_dict().keys()
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.model[name], tensor), name
        assert loaded.model[name].dtype == tensor.dtype
    original = opt.state_dict()
    assert loaded.optimizer is not None
    assert loaded.optimizer["param_groups"] == original["param_groups"]
    assert loaded.optimizer["state"].keys() == original["state"].keys()
    for index, state in original["state"].items():
        assert loaded.optimizer["state"][index].keys() == state.keys()
        for name, value in state.items():
            restored = loaded.optimizer["state"][index][name]
            assert type(restored) is type(value)
            assert torch.equal(restored, value)
            assert restored.dtype == value.dtype and restored.shape == value.shape

    model2 = _net()
    opt2 = _rmsprop(model2)
    model2.load_state_dict(loaded.model)
    opt2.load_state_dict(loaded.optimizer)
    _step(model, opt, 99)
    _step(model2, opt2, 99)
    for (name, a), b in zip(model.state_dict().items(), model2.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_optimizer_scalars_and_containers_keep_their_types(tmp_path: Path) -> None:
    state = {
        "state": {
            0: {"step": 3.0, "buf": torch.ones(2)},
            1: {"step": torch.tensor(7.0), "count": 4},
        },
        "param_groups": [
            {"lr": 0.1, "betas": (0.9, 0.999), "foreach": None, "fused": False, "params": [0, 1]}
        ],
    }
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, {}, state, {})
    restored = load_checkpoint(path).optimizer
    assert restored is not None
    assert list(restored["state"]) == [0, 1]
    assert type(restored["state"][0]["step"]) is float and restored["state"][0]["step"] == 3.0
    assert type(restored["state"][1]["count"]) is int and restored["state"][1]["count"] == 4
    step = restored["state"][1]["step"]
    assert isinstance(step, torch.Tensor) and step.dim() == 0 and step.dtype == torch.float32
    assert step.item() == 7.0
    assert torch.equal(restored["state"][0]["buf"], torch.ones(2))
    assert restored["param_groups"] == state["param_groups"]
    assert type(restored["param_groups"][0]["betas"]) is tuple


def test_tied_and_non_contiguous_weights(tmp_path: Path) -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(5, 3)
            self.out = nn.Linear(3, 5, bias=False)
            self.out.weight = self.embed.weight

    torch.manual_seed(1)
    model = Tied()
    base = torch.arange(12.0).reshape(3, 4)
    weights = {**model.state_dict(), "t": base.T, "left": base[:, :2], "row": base[1]}
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, weights, None, {})

    loaded = load_checkpoint(path).model
    for name, tensor in weights.items():
        assert torch.equal(loaded[name], tensor), name
    fresh = Tied()
    fresh.load_state_dict({k: loaded[k] for k in model.state_dict()})
    assert torch.equal(fresh.embed.weight, model.embed.weight)
    assert fresh.out.weight is fresh.embed.weight


def test_meta_round_trip(tmp_path: Path) -> None:
    sched_opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(sched_opt, step_size=2, gamma=0.5)
    for _ in range(3):
        sched_opt.step()
        sched.step()
    meta = {
        "step": 1234,
        "loss": 0.1 + 0.2,
        "best": -math.inf,
        "ratio": 1e-300,
        "flag": True,
        "nothing": None,
        "name": "visage — ÿ",
        "plugins": {"ifan-parsing": "1.2.3", "ifan-emotion": "0.1.0"},
        "manifest": {"tasks": [{"name": "parsing", "weight": 1.0}], "size": (256, 256)},
        "per_task_step": {0: 10, 1: 20},
        "scheduler": sched.state_dict(),
    }
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, {}, None, meta)
    restored = load_checkpoint(path).meta
    assert restored == meta
    assert type(restored["manifest"]["size"]) is tuple
    assert list(restored["per_task_step"]) == [0, 1]
    assert type(restored["loss"]) is float and type(restored["step"]) is int
    sched2 = torch.optim.lr_scheduler.StepLR(
        torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1), step_size=2, gamma=0.5
    )
    sched2.load_state_dict(restored["scheduler"])
    assert sched2.get_last_lr() == sched.get_last_lr()


@pytest.mark.parametrize(
    ("meta", "where"),
    [
        ({"a": {"b": object()}}, "meta/a/b"),
        ({"weights": torch.ones(2)}, "meta/weights"),
        ({"x": [1, np.float32(2.0)]}, "meta/x/1"),
        ({"d": {1: "a", "b": 2}}, "meta/d"),
        ({"d": {"__tuple__": [1]}}, "meta/d"),
    ],
)
def test_non_json_meta_is_refused(tmp_path: Path, meta: dict, where: str) -> None:
    path = tmp_path / "ck.safetensors"
    with pytest.raises(TypeError, match=where):
        save_checkpoint(path, {"w": torch.ones(1)}, None, meta)
    assert not tmp_path.joinpath("ck.safetensors").exists()


def test_rng_state_restores_identical_draws(tmp_path: Path) -> None:
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    torch.rand(3), np.random.rand(3), random.random(), random.gauss(0, 1)

    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, {}, None, {"rng": rng_state()})
    json.dumps(rng_state())  # plain JSON as well
    first = (torch.randn(5), np.random.randn(5), [random.random() for _ in range(5)])
    first_gauss = random.gauss(0, 1)

    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    set_rng_state(load_checkpoint(path).meta["rng"])
    again = (torch.randn(5), np.random.randn(5), [random.random() for _ in range(5)])
    assert torch.equal(first[0], again[0])
    assert np.array_equal(first[1], again[1])
    assert first[2] == again[2]
    assert random.gauss(0, 1) == first_gauss


def test_failed_write_keeps_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ck.safetensors"
    _save_simple(path, 1.0, step=1)

    def broken_replace(src: str, dst: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(ckpt.os, "replace", broken_replace)
    with pytest.raises(CheckpointError) as info:
        _save_simple(path, 2.0, step=2)
    monkeypatch.undo()
    message = str(info.value)
    assert str(path) in message and "Permission denied" in message and "intact" in message
    assert _files(tmp_path) == ["ck.safetensors"]
    old = load_checkpoint(path)
    assert torch.equal(old.model["w"], torch.full((3,), 1.0)) and old.meta == {"step": 1}


def test_full_disk_gives_a_clear_error_and_keeps_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ck.safetensors"
    _save_simple(path, 1.0, step=1)

    class FullDisk(io.FileIO):
        def write(self, data: bytes) -> int:  # type: ignore[override]
            super().write(bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "open", lambda p, mode: FullDisk(p, mode), raising=False)
    with pytest.raises(CheckpointError) as info:
        _save_simple(path, 2.0, step=2)
    monkeypatch.undo()
    assert isinstance(info.value, IfanError)
    message = str(info.value)
    assert "the disk is full" in message and str(path) in message and "intact" in message
    assert _files(tmp_path) == ["ck.safetensors"]
    old = load_checkpoint(path)
    assert torch.equal(old.model["w"], torch.full((3,), 1.0)) and old.meta == {"step": 1}


class _Payload:
    """Unpickling this creates ``marker``: the kind of code a malicious checkpoint runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
def test_pickled_payload_is_refused_without_running(tmp_path: Path, kind: str) -> None:
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_Payload(control))).close()
    assert control.exists()  # the payload does run when unpickled

    marker = tmp_path / "pwned"
    path = tmp_path / "evil.safetensors"
    if kind == "pickle":
        path.write_bytes(pickle.dumps({"model": _Payload(marker)}, protocol=2))
    else:
        torch.save({"model": _Payload(marker)}, path)
    with pytest.raises(CheckpointError, match="pickle") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value) and "arbitrary code" in str(info.value)
    assert not marker.exists()
    assert latest_checkpoint(tmp_path) is None


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_truncated_file_is_refused(tmp_path: Path, keep: float) -> None:
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, {"w": torch.ones(100)}, None, {"step": 1})
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_missing_foreign_and_future_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.safetensors")
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.ones(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not an ifan checkpoint"):
        load_checkpoint(foreign)
    future = tmp_path / "future.safetensors"
    save_file({"w": torch.ones(2)}, str(future), metadata={"ifan.format_version": "99"})
    with pytest.raises(CheckpointError, match="format version '99'"):
        load_checkpoint(future)


def test_checkpoint_path_and_latest_checkpoint(tmp_path: Path) -> None:
    assert latest_checkpoint(tmp_path) is None
    assert checkpoint_path(tmp_path, 12) == tmp_path / "checkpoints" / "step-00000012.safetensors"
    for step in (5, 10):
        _save_simple(checkpoint_path(tmp_path, step), float(step), step)
    folder = tmp_path / "checkpoints"
    (folder / f".{checkpoint_path(tmp_path, 15).name}.tmp-4242").write_bytes(b"half")
    good = checkpoint_path(tmp_path, 10).read_bytes()
    checkpoint_path(tmp_path, 20).write_bytes(good[: len(good) // 2])
    assert latest_checkpoint(tmp_path) == checkpoint_path(tmp_path, 10)
    assert load_checkpoint(latest_checkpoint(tmp_path)).meta == {"step": 10}


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    for step in range(1, 6):
        _save_simple(checkpoint_path(tmp_path, step), float(step), step)
    folder = tmp_path / "checkpoints"
    stale = folder / ".step-00000006.safetensors.tmp-4242"
    stale.write_bytes(b"left by a crash")
    if os.getpid() == 4242:
        pytest.skip("the stale file's pid is ours")
    removed = prune_checkpoints(tmp_path, keep=2)
    assert sorted(p.name for p in removed) == sorted(
        [stale.name] + [checkpoint_path(tmp_path, s).name for s in (1, 2, 3)]
    )
    assert _files(folder) == ["step-00000004.safetensors", "step-00000005.safetensors"]
    prune_checkpoints(tmp_path, keep=0)
    assert _files(folder) == ["step-00000005.safetensors"]
    assert latest_checkpoint(tmp_path) == checkpoint_path(tmp_path, 5)
