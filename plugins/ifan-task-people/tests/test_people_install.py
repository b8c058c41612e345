"""The distribution installed with pip: ifan lists its three tasks, and a manifest that uses them
validates and opens its splits (the identity's val and test held out per person)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ifan.testing.install import install_plugin, run_python

from people_fixtures import MALFORMED_UTKFACE, PEOPLE, write_people, write_utkface

PROJECT = Path(__file__).resolve().parents[1]
MANIFEST = """\
[model]
input_size = 32
iterations = 1

[model.crop]
detector = "none"

[tasks.gender]
on_bad_sample = "skip"

[tasks.gender.data]
format = "utkface"
train = "utk"
val_fraction = 0.2

[tasks.race]
on_bad_sample = "skip"

[tasks.race.data]
format = "utkface"
train = "utk"
val_fraction = 0.2

[tasks.identity.data]
format = "folder"
people = "lfw"
train = "lfw"
val = "lfw"
test = "lfw"
val_per_person = 1
test_per_person = 1
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin installed with pip into a folder of its own (put on PYTHONPATH to use it)."""
    return install_plugin(PROJECT, tmp_path_factory.mktemp("install"))


@pytest.mark.slow
def test_ifan_tasks_lists_the_three_tasks_of_the_distribution(site: Path, tmp_path: Path) -> None:
    listed = run_python("-m", "ifan", "tasks", "--json", cwd=tmp_path, pythonpath=site)
    assert listed.returncode == 0, listed.stderr
    rows = {t["task"]: t for t in json.loads(listed.stdout)["tasks"]}
    for name in ("gender", "race", "identity"):
        row = rows[name]
        assert (row["distribution"], row["version"], row["status"]) == (
            "ifan-task-people",
            "0.1.0",
            "ok",
        )


@pytest.mark.slow
def test_a_manifest_of_the_three_tasks_opens_its_splits(site: Path, tmp_path: Path) -> None:
    names = [f"{20 + i}_{i % 2}_{i % 5}_2017010422282397{i}.jpg.chip.jpg" for i in range(10)]
    write_utkface(tmp_path / "utk", {**dict.fromkeys(names), **MALFORMED_UTKFACE})
    write_people(tmp_path / "lfw")
    (tmp_path / "people.toml").write_text(MANIFEST, encoding="utf-8")
    report = tmp_path / "data.json"
    done = run_python(
        "-m", "ifan", "data", "people.toml", "--json", str(report), cwd=tmp_path, pythonpath=site
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tasks = json.loads(report.read_text(encoding="utf-8"))
    for name in ("gender", "race"):  # 10 good names, 2 malformed ones skipped and reported
        splits = tasks[name]["splits"]
        assert (splits["train"]["samples"], splits["val"]["samples"]) == (8, 2)
        assert splits["train"]["skipped"] == 2
        assert all("malformed UTKFace name" in r for r in splits["train"]["reasons"])
    assert tasks["race"]["labels"]["names"] == ["white", "black", "asian", "indian", "others"]
    identity = tasks["identity"]
    assert identity["labels"]["names"] == sorted(PEOPLE)  # the folder's people, in name order
    samples = {split: data["samples"] for split, data in identity["splits"].items()}
    assert samples == {"train": 12 - 3 - 3, "val": 3, "test": 3}  # one photo of each person
