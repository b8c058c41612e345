"""ifan's conformance suite run on the age task, through both of its formats."""

from __future__ import annotations

from pathlib import Path

import pytest
from ifan.testing import Check, Fixture, task_checks
from ifan.testing.datasets import write_face

from age_fixtures import write_utkface
from ifan_task_age.task import AgeTask


def utkface_fixture(folder: Path) -> Fixture:
    """A few UTKFace-named faces."""
    return Fixture(format="utkface", path=write_utkface(folder / "utk"))


def csv_fixture(folder: Path) -> Fixture:
    """Two faces listed in a CSV file with a header, with small task options."""
    write_face(folder / "a.png", size=40)
    write_face(folder / "b.jpg", size=25, shade=30)
    (folder / "ages.csv").write_text("image,age\na.png,31\nb.jpg,4.5\n", encoding="utf-8")
    options = {"bins": 21, "max_age": 100, "hidden": 16}
    return Fixture(format="csv", path=folder / "ages.csv", task_options=options)


@pytest.mark.parametrize("check", task_checks(AgeTask, utkface_fixture), ids=str)
def test_conformance(check: Check, tmp_path: Path) -> None:
    check(tmp_path)


@pytest.mark.parametrize("check", task_checks(AgeTask, csv_fixture, sizes=(32,)), ids=str)
def test_conformance_csv(check: Check, tmp_path: Path) -> None:
    check(tmp_path)
