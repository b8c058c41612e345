"""``ifan train --device --seed --threads``: each reaches the manifest's ``train`` table (as
``--set`` would); ``train.device`` takes one GPU by index, refused clearly where there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

from ifan.cli.main import main
from ifan.errors import IfanError
from ifan.manifest import Manifest, load_manifest
from ifan.training import trainer
from ifan.training.processes import start_processes
from tests.training.short_run import write_faces


class Started(Exception):
    """Raised by the stand-in trainer: the manifest it was given is all the test needs."""

    def __init__(self, manifest: Manifest):
        self.manifest = manifest


def _stand_in(manifest: Manifest, *args, **kwargs) -> None:
    raise Started(manifest)


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    return write_faces(tmp_path_factory.mktemp("faces"))


def test_device_seed_and_threads_reach_the_train_table(faces, tmp_path, monkeypatch):
    monkeypatch.setattr(trainer, "Trainer", _stand_in)
    args = ["--device", "cuda:1", "--seed", "7", "--threads", "3", "--set", "train.workers=2"]
    with pytest.raises(Started) as started:
        main(["train", str(faces), "--out", str(tmp_path / "run"), *args])
    config = started.value.manifest.train
    assert (config.device, config.seed, config.threads, config.workers) == ("cuda:1", 7, 3, 2)
    assert started.value.manifest.data["train"]["device"] == "cuda:1"  # recorded with the run


def test_a_device_flag_is_checked_like_the_manifest_key(faces, tmp_path, capsys):
    args = ["train", str(faces), "--out", str(tmp_path / "run"), "--device", "gpu"]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "train.device = 'gpu'" in error
    assert "expected 'auto', 'cpu', 'cuda' or one GPU by its index, 'cuda:1'" in error


@pytest.mark.parametrize("value", ["true", "false", '"auto"'])
def test_bf16_takes_true_false_or_auto(faces, tmp_path, monkeypatch, value):
    monkeypatch.setattr(trainer, "Trainer", _stand_in)
    with pytest.raises(Started) as started:
        main(["train", str(faces), "--out", str(tmp_path / "run"), f"--set=train.bf16={value}"])
    assert started.value.manifest.train.bf16 == {"true": True, "false": False}.get(value, "auto")


@pytest.mark.parametrize("value", ["maybe", "1", '"yes"'])
def test_bf16_refuses_anything_else_saying_what_it_takes(faces, tmp_path, capsys, value):
    args = ["train", str(faces), "--out", str(tmp_path / "run"), f"--set=train.bf16={value}"]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "1 problem" in error and "train.bf16 = " in error
    assert 'expected true, false or "auto"' in error


def test_threads_must_be_positive():
    with pytest.raises(SystemExit) as exit_:
        main(["train", "m.toml", "--threads", "0"])
    assert exit_.value.code == 2


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_train_device_takes_a_gpu_by_index(faces, device):
    assert load_manifest(faces, [f"train.device={device!r}"]).train.device == device


def test_a_gpu_that_is_not_there_is_refused_by_name(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(IfanError, match=r"train\.device = 'cuda:1' but torch sees no GPU"):
        start_processes("cuda:1")
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setattr("torch.cuda.device_count", lambda: 1)
    with pytest.raises(IfanError, match=r"torch sees 1 GPU\(s\): cuda:0 to cuda:0"):
        start_processes("cuda:1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(IfanError, match="names one GPU, but torchrun started 2 processes"):
        start_processes("cuda:0")
