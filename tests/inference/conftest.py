"""What the tests of a finished run share: tiny datasets and a run folder holding one checkpoint
of an untrained network, as the trainer would leave it (module-scoped: one per test module; a
module that needs another run or data defines its own fixture of the same name)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ifan
from tests.inference.tiny_run import untrained_run, write_data


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def run_dir(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder with one checkpoint of an untrained network."""
    return untrained_run(data, tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def predictor(run_dir: Path):
    return ifan.load(run_dir, device="cpu")
