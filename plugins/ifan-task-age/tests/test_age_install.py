"""The distribution: its entry point, and ifan finding the task only when it is installed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from ifan.testing.datasets import write_face
from ifan.testing.install import install_plugin, run_python

import ifan_task_age.plugin
from age_fixtures import write_utkface
from ifan_task_age.task import AgeTask

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROJECT = Path(__file__).resolve().parents[1]
MANIFEST = """\
[model]
input_size = 32
iterations = 1

[tasks.age]
on_bad_sample = "skip"

[tasks.age.data]
format = "utkface"
train = "utk"
val_fraction = 0.25

[tasks.landmarks.data]
format = "csv"
points = 2
eyes = [[0], [1]]
train = "points.csv"
"""


def test_pyproject_declares_the_entry_point() -> None:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "ifan-task-age"
    assert any(dep.startswith("ifan") for dep in project["dependencies"])
    assert project["entry-points"]["ifan"] == {"age": "ifan_task_age.plugin"}
    assert ifan_task_age.plugin.ifan_tasks() == [AgeTask]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin installed with pip into a folder of its own (put on PYTHONPATH to use it)."""
    return install_plugin(PROJECT, tmp_path_factory.mktemp("install"))


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """A manifest with age and landmarks on tiny datasets."""
    write_utkface(tmp_path / "utk")
    write_face(tmp_path / "face.png")
    (tmp_path / "points.csv").write_text("face.png,5,8,14,8\n", encoding="utf-8")
    (tmp_path / "age.toml").write_text(MANIFEST, encoding="utf-8")
    return tmp_path / "age.toml"


@pytest.mark.slow
def test_ifan_tasks_lists_age_with_its_distribution(site: Path, tmp_path: Path) -> None:
    listed = run_python("-m", "ifan", "tasks", "--json", cwd=tmp_path, pythonpath=site)
    assert listed.returncode == 0, listed.stderr
    (age,) = [t for t in json.loads(listed.stdout)["tasks"] if t["task"] == "age"]
    assert (age["distribution"], age["version"], age["status"]) == ("ifan-task-age", "0.1.0", "ok")


@pytest.mark.slow
def test_manifest_with_age_validates_when_installed(site: Path, manifest: Path) -> None:
    valid = run_python(
        "-m", "ifan", "validate", manifest.name, cwd=manifest.parent, pythonpath=site
    )
    assert valid.returncode == 0, valid.stderr
    assert "task age: format utkface (train)" in valid.stdout


@pytest.mark.slow
def test_manifest_with_age_names_the_pip_command_when_not_installed(manifest: Path) -> None:
    probe = "import importlib.metadata as m; m.distribution('ifan-task-age')"
    if run_python("-c", probe, cwd=manifest.parent, pythonpath=None).returncode == 0:
        pytest.skip("ifan-task-age is installed in this environment itself")
    missing = run_python(
        "-m", "ifan", "validate", manifest.name, cwd=manifest.parent, pythonpath=None
    )
    assert missing.returncode == 2
    assert "unknown task 'age'" in missing.stderr
    assert "pip install ifan-task-age" in missing.stderr
