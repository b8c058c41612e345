"""The example plugin of docs/plugins.md must conform to the task contract and really work.

The Python blocks whose first line is ``# ifan_task_age/<module>.py`` are written into a package,
the ``pyproject.toml`` block gives the distribution name and entry point, and the package is
installed as a fake distribution (a ``.dist-info`` folder on ``sys.path``), so that ifan discovers
it exactly as it would discover the plugin installed with pip.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from ifan.contract import BuildContext, FeatureSpec, OpenContext
from ifan.contract_checks import task_problems
from ifan.data.bad_samples import BadSamples
from ifan.data.errors import DatasetError
from ifan.metrics.base import Metric
from ifan.plugins import load_registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PLUGINS_MD = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
PACKAGE = "ifan_task_age"
FIX = "docs/plugins.md: fix the example plugin so that it conforms"


def _blocks(language: str) -> list[str]:
    text = PLUGINS_MD.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.M | re.S)


def _example_modules() -> dict[str, str]:
    """``{"task": source, "plugin": source}`` from the blocks headed ``# ifan_task_age/x.py``."""
    modules = {}
    for block in _blocks("python"):
        first = block.splitlines()[0]
        if match := re.fullmatch(rf"# {PACKAGE}/(\w+)\.py", first.strip()):
            modules[match.group(1)] = block
    return modules


def _example_pyproject() -> dict:
    for block in _blocks("toml"):
        data = tomllib.loads(block)
        if "project" in data:
            return data
    raise AssertionError("docs/plugins.md has no pyproject.toml block with a [project] table")


@pytest.fixture
def age_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Install the example as a distribution; yield its name."""
    modules = _example_modules()
    assert {"task", "plugin"} <= set(modules), f"{FIX}: task.py and plugin.py blocks are missing"
    project = _example_pyproject()["project"]
    distribution, version = project["name"], project["version"]
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    for name, source in modules.items():
        (package / f"{name}.py").write_text(source, encoding="utf-8")
    info = tmp_path / f"{distribution.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n", encoding="utf-8"
    )
    entry_points = "".join(f"{k} = {v}\n" for k, v in project["entry-points"]["ifan"].items())
    (info / "entry_points.txt").write_text(f"[ifan]\n{entry_points}", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield distribution
    for module in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[module]


def test_example_task_conforms(age_plugin: str) -> None:
    from ifan_task_age.plugin import ifan_tasks
    from ifan_task_age.task import AgeTask

    assert task_problems(AgeTask) == [], FIX
    assert ifan_tasks() == [AgeTask]


def test_example_plugin_is_discovered_through_its_entry_point(age_plugin: str) -> None:
    registry = load_registry(strict=True, allow={"ifan", age_plugin})
    entry = registry.tasks["age"]
    assert entry.distribution == age_plugin
    assert {"age", "parsing", "landmarks", "emotion"} <= set(registry.tasks)


def test_example_task_works_on_random_tensors(age_plugin: str) -> None:
    from ifan_task_age.task import AgeTask

    task = AgeTask()
    ctx = BuildContext(input_size=128, norm=nn.BatchNorm2d)
    decoder = task.build_decoder(FeatureSpec(16, 4, 4), ctx)
    prediction = decoder(torch.randn(3, 16, 4, 4))
    levels = [FeatureSpec(8, 128, 128), FeatureSpec(8, 4, 4)]
    features = task.build_reencoder(levels, ctx)(prediction)
    assert [tuple(f.shape) for f in features] == [(3, 8, 128, 128), (3, 8, 4, 4)]
    maps = task.prediction_maps(prediction, 32, 32)
    assert tuple(maps.shape) == (3, task.prediction_channels, 32, 32)

    target = {"age": torch.tensor([20.0, 35.0, 60.0])}
    loss = task.loss(prediction, target)
    assert loss.ndim == 0
    loss.backward()
    metric = task.new_metric()
    assert isinstance(metric, Metric)
    metric.update(prediction, target)
    assert metric.main in metric.compute()

    one = prediction[0]
    assert isinstance(task.to_json(one)["age"], float)
    overlay = task.draw_overlay(Image.new("RGB", (64, 64)), one, {"age": target["age"][0]})
    assert overlay.size == (64, 64)


def test_example_format_reads_utkface_names(age_plugin: str, tmp_path: Path) -> None:
    from ifan_task_age.task import AgeTask

    folder = tmp_path / "utkface"
    folder.mkdir()
    for name in ("23_0_1_20170116.jpg.chip.jpg", "7_1_0_20170109.jpg.chip.jpg", "bad_name.jpg"):
        Image.new("RGB", (200, 200), "gray").save(folder / name)
    fmt = AgeTask.format("utkface")
    with pytest.raises(DatasetError, match=r"bad_name\.jpg: no age"):
        fmt.open(folder, "train", fmt.Options(), OpenContext(64))
    skipping = OpenContext(64, BadSamples("skip"))
    dataset = fmt.open(folder, "train", fmt.Options(), skipping)
    assert len(dataset) == 2 and skipping.bad.count == 1
    images, targets = AgeTask().collate([dataset[0], dataset[1]])
    assert tuple(images.shape) == (2, 3, 64, 64)
    assert sorted(targets["age"].tolist()) == [7.0, 23.0]
