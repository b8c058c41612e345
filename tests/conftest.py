"""Suite-wide fixtures.

ifan's cache (detected faces, prepared datasets) in a folder of this run, so that tests neither
read nor leave anything in the user's cache, and the ``TMPDIR`` of the commands they start there
too; the user's plugin selection (``IFAN_PLUGINS``,
``IFAN_STRICT_PLUGINS``) left out of every test, which sets its own where it needs one; one
torch thread in each of pytest-xdist's workers; and fake
plugin distributions installed for real: a module plus a ``.dist-info`` folder with ``METADATA``
and ``entry_points.txt`` on ``sys.path``, discovered by importlib.metadata exactly as a
pip-installed plugin would be (no monkeypatching of the discovery code)."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """In a pytest-xdist worker (``make test`` runs one per logical CPU), torch and the ``ifan``
    commands the tests start use one thread: the workers already fill the cores, and torch's
    threads competing for them slow every test down. A thread count the user set is kept."""
    if os.environ.get("PYTEST_XDIST_WORKER") and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = "1"
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    patch = pytest.MonkeyPatch()
    patch.setenv("IFAN_CACHE", str(tmp_path_factory.mktemp("ifan-cache")))
    yield
    patch.undo()


@pytest.fixture(autouse=True, scope="session")
def _private_tmpdir(tmp_path_factory: pytest.TempPathFactory):
    """The temporary folder of the commands the tests start (``TMPDIR``) in this run's folder:
    torchrun leaves a ``torchelastic_*`` folder in it per start, which pytest's own clean-up of
    old runs then removes, instead of gathering in the machine's /tmp."""
    patch = pytest.MonkeyPatch()
    patch.setenv("TMPDIR", str(tmp_path_factory.mktemp("tmp")))
    yield
    patch.undo()


@pytest.fixture(autouse=True, scope="session")
def _no_plugin_env():
    """For the whole session, so that module-scoped fixtures (runs built once per file) see it
    too; a test's own ``monkeypatch.setenv`` still wins within that test."""
    patch = pytest.MonkeyPatch()
    patch.delenv("IFAN_PLUGINS", raising=False)
    patch.delenv("IFAN_STRICT_PLUGINS", raising=False)
    yield
    patch.undo()


# A complete, conforming task whose module can be written into a fake distribution.
TOY_TASK_SOURCE = """
import torch
from torch import nn

from ifan import hookimpl
from ifan.contract import DatasetFormat, FormatOptions, LabelSchema, Task, TaskOptions
from ifan.metrics.base import Metric


class ToyFormat(DatasetFormat):
    name = "toy-folder"
    description = "a folder"

    def open(self, path, split, options, ctx):
        return []


class ToyOptions(TaskOptions):
    strength: float = 1.0


class ToyMetric(Metric):
    main = "accuracy"

    def initial_state(self):
        return {"correct": torch.zeros(()), "count": torch.zeros(())}

    def update(self, prediction, target):
        self.state["correct"] += (prediction.argmax(1) == target).sum()
        self.state["count"] += len(target)

    def compute(self):
        return {"accuracy": float(self.state["correct"] / self.state["count"].clamp(min=1))}


class __CLS__(Task):
    name = "__TASK__"
    contract_version = "__CONTRACT__"
    Options = ToyOptions
    labels = LabelSchema(kind="class", names=("a", "b"))
    formats = (ToyFormat(),)
    default_tap = "down5"

    def build_decoder(self, tap, ctx):
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(tap.channels, 2))

    def build_reencoder(self, levels, ctx):
        return nn.ModuleList()

    def prediction_maps(self, prediction, height, width):
        return prediction.softmax(1)[:, :, None, None].expand(-1, -1, height, width)

    def loss(self, prediction, target):
        return nn.functional.cross_entropy(prediction, target)

    def new_metric(self):
        return ToyMetric()

    def to_json(self, prediction):
        return {"label": int(prediction.argmax())}

    def draw_overlay(self, image, prediction, target=None):
        return image


@hookimpl
def ifan_tasks():
    return [__CLS__]
"""


def toy_task_module(task: str = "toy", contract: str = "1.0", cls: str = "ToyTask") -> str:
    """Source of a plugin module providing one conforming task."""
    return (
        TOY_TASK_SOURCE.replace("__TASK__", task)
        .replace("__CONTRACT__", contract)
        .replace("__CLS__", cls)
    )


InstallPlugin = Callable[..., Path]


@pytest.fixture
def toy_source() -> Callable[..., str]:
    """``toy_source(task=..., contract=..., cls=...)``: source of a conforming plugin module."""
    return toy_task_module


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InstallPlugin]:
    """Install a fake distribution: ``install_plugin(dist, version, {module: src}, {ep: obj})``."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    written: list[str] = []

    def install(
        distribution: str,
        version: str,
        modules: dict[str, str],
        entry_points: dict[str, str],
    ) -> Path:
        for module, source in modules.items():
            (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
            written.append(module)
        info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n",
            encoding="utf-8",
        )
        lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[ifan]\n{lines}", encoding="utf-8")
        importlib.invalidate_caches()
        return site

    yield install
    for module in written:
        sys.modules.pop(module, None)
