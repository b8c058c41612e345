"""ifan's conformance suite run on the three tasks, through each of their formats."""

from __future__ import annotations

from pathlib import Path

import pytest
from ifan.testing import Check, Fixture, task_checks

from ifan_task_people.attributes import GenderTask, RaceTask
from ifan_task_people.identity import IdentityTask
from people_fixtures import PEOPLE, write_mtfl, write_people, write_utkface

SMALL = {"hidden": 16}
"""Task options that keep the networks of the checks small."""


def utkface_fixture(folder: Path) -> Fixture:
    """A few UTKFace-named faces."""
    return Fixture(format="utkface", path=write_utkface(folder / "utk"), task_options=SMALL)


def mtfl_fixture(folder: Path) -> Fixture:
    """Three faces of an MTFL list file, read for their gender."""
    return Fixture(format="mtfl", path=write_mtfl(folder), task_options=SMALL)


def people_fixture(folder: Path) -> Fixture:
    """Three people's photos, one of each held out for val (so train reads the rest)."""
    options = {"people": sorted(PEOPLE), "val_per_person": 1}
    return Fixture(format="folder", path=write_people(folder / "lfw"), options=options)


@pytest.mark.parametrize("check", task_checks(GenderTask, utkface_fixture), ids=str)
def test_gender_utkface(check: Check, tmp_path: Path) -> None:
    check(tmp_path)


@pytest.mark.parametrize("check", task_checks(GenderTask, mtfl_fixture, sizes=(32,)), ids=str)
def test_gender_mtfl(check: Check, tmp_path: Path) -> None:
    check(tmp_path)


@pytest.mark.parametrize("check", task_checks(RaceTask, utkface_fixture, sizes=(32,)), ids=str)
def test_race_utkface(check: Check, tmp_path: Path) -> None:
    check(tmp_path)


@pytest.mark.parametrize("check", task_checks(IdentityTask, people_fixture), ids=str)
def test_identity_folder(check: Check, tmp_path: Path) -> None:
    check(tmp_path)
