"""The readers: UTKFace's gender and race, MTFL's gender column, and person folders with photos
held out per person; bad samples reported with their file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ifan.contract import OpenContext
from ifan.data.bad_samples import BadSamples
from ifan.data.errors import DatasetError
from ifan.testing.datasets import write_face
from pydantic import ValidationError

from ifan_task_people.attributes import GenderTask, RaceTask
from ifan_task_people.identity import IdentityTask
from ifan_task_people.people import held_out_split, main
from people_fixtures import (
    GOOD_UTKFACE,
    MALFORMED_UTKFACE,
    PEOPLE,
    write_mtfl,
    write_people,
    write_utkface,
)

SIZE = 16
SPLITS = ("train", "val", "test")


def open_split(task, format_name, path, split="train", policy="error", **options):
    """The split ``split`` of ``path`` in the task's format, and its bad samples."""
    fmt = task.format(format_name)
    bad = BadSamples(policy)
    data = fmt.open(Path(path), split, fmt.Options(**options), OpenContext(SIZE, bad))
    return data, bad


def named_labels(task, data) -> dict[str, str]:
    """Each sample's file name and its class name."""
    names = task.labels.names
    return {
        record.name: names[int(data[i][1]["label"])]
        for i, ((record, _), _) in enumerate(data.records)
    }


@pytest.mark.parametrize(("task", "field"), [(GenderTask, 0), (RaceTask, 1)])
def test_utkface_gives_the_gender_and_race_in_each_name(task, field, tmp_path: Path) -> None:
    folder = write_utkface(tmp_path / "utk")
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    data, _ = open_split(task, "utkface", folder)
    assert named_labels(task, data) == {
        name: labels[field] for name, labels in GOOD_UTKFACE.items()
    }
    assert data[0][0].shape == (3, SIZE, SIZE)
    assert task.format("utkface").labels(task.format("utkface").Options()) == task.labels


def test_utkface_skips_and_reports_the_two_malformed_names(tmp_path: Path) -> None:
    folder = write_utkface(tmp_path / "utk", {**GOOD_UTKFACE, **MALFORMED_UTKFACE})
    data, bad = open_split(GenderTask, "utkface", folder, policy="skip")
    assert len(data) == len(GOOD_UTKFACE) and bad.count == 2
    for name, why in MALFORMED_UTKFACE.items():
        (reason,) = [r for r in bad.reasons if name in r]
        assert "<age>_<gender>_<race>_<datetime>" in reason and why in reason
    with pytest.raises(DatasetError, match=re.escape("14_0_0_2017011022340900.jpg.chip.jpg: malf")):
        open_split(RaceTask, "utkface", folder)  # on_bad_sample = "error", the default


def test_utkface_split_must_be_a_folder_of_usable_names(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not a folder; a utkface split is a folder"):
        open_split(GenderTask, "utkface", tmp_path / "missing")
    write_face(tmp_path / "only" / "not_a_utkface_name.jpg")
    with pytest.raises(DatasetError, match="no usable UTKFace images"):
        open_split(GenderTask, "utkface", tmp_path / "only", policy="skip")


def test_mtfl_gender_column_codes_1_and_2_are_male_and_female(tmp_path: Path) -> None:
    data, _ = open_split(GenderTask, "mtfl", write_mtfl(tmp_path, genders=(2, 1, 2, 1)))
    assert [int(data[i][1]["label"]) for i in range(len(data))] == [1, 0, 1, 0]
    mtfl = GenderTask.format("mtfl")
    assert mtfl.labels(mtfl.Options()).names == GenderTask.labels.names == ("male", "female")


def test_person_folders_are_classes_in_the_order_of_people(tmp_path: Path) -> None:
    folder = write_people(tmp_path / "lfw")
    people = ["Grace_Hopper", "Ada_Lovelace", "Alan_Turing"]
    data, _ = open_split(IdentityTask, "folder", folder, people=people)
    labels = [int(data[i][1]["label"]) for i in range(len(data))]
    assert labels == [1] * 4 + [2] * 3 + [0] * 5  # folders read in name order
    fmt = IdentityTask.format("folder")
    assert fmt.labels(fmt.Options(people=people)).names == tuple(people)
    lr = fmt.labels(fmt.Options(people=["jo_l_smith", "jo_r_smith"]))
    assert lr.mirror_pairs() == ()  # people whose names differ by L and R are not mirrored
    from_folder = fmt.Options(people=str(folder))
    assert from_folder.names == tuple(sorted(PEOPLE))  # the sub-folders, sorted


def test_a_person_not_in_people_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    folder = write_people(tmp_path / "lfw")
    with pytest.raises(DatasetError, match=r"Grace_Hopper: folder 'Grace_Hopper' is not a class"):
        open_split(IdentityTask, "folder", folder, people=["Ada_Lovelace", "Alan_Turing"])
    data, bad = open_split(
        IdentityTask,
        "folder",
        folder,
        people=["Ada_Lovelace", "Alan_Turing"],
        leave_out=["Grace_Hopper"],
    )
    assert len(data) == 7 and bad.left_out == {"Grace_Hopper": 5}
    fmt = IdentityTask.format("folder")
    assert fmt.Options(people=str(folder), leave_out=["Ada_Lovelace"]).names == (
        "Alan_Turing",
        "Grace_Hopper",
    )


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"people": ["Ada"]}, "people lists 1 person, need at least 2"),
        ({"people": ["Ada", "Alan", "Ada"]}, "people names Ada twice"),
        ({"people": ["Ada", "Alan"], "leave_out": ["Ada"]}, "leave_out names Ada"),
        ({"people": "/no/such/folder"}, "no such folder"),
        ({"people": ["Ada", "Alan"], "val_per_person": -1}, "greater than or equal to 0"),
        ({}, "people\n  Field required"),
    ],
)
def test_people_options_are_checked(options: dict, why: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(why)):
        IdentityTask.format("folder").Options(**options)


def _files(data) -> set[str]:
    return {record.name for (record, _), _ in data.records}


def test_val_and_test_are_held_out_of_each_persons_photos(tmp_path: Path) -> None:
    folder = write_people(tmp_path / "lfw")
    options = {"people": sorted(PEOPLE), "val_per_person": 1, "test_per_person": 1}
    splits = {s: open_split(IdentityTask, "folder", folder, s, **options)[0] for s in SPLITS}
    sizes = {split: len(data) for split, data in splits.items()}
    assert sizes == {"train": 2 + 1 + 3, "val": 3, "test": 3}
    files = [_files(data) for data in splits.values()]
    assert set.union(*files) == {p.name for p in folder.rglob("*.jpg")}
    assert sum(map(len, files)) == 12  # disjoint
    for split in ("val", "test"):  # one photo of every person
        people = sorted(name.rsplit("_", 1)[0] for name in _files(splits[split]))
        assert people == sorted(PEOPLE)
    again = open_split(IdentityTask, "folder", folder, "test", **options)[0]
    assert _files(again) == _files(splits["test"])  # the same seed, the same photos


def test_a_person_with_too_few_photos_stays_in_train(tmp_path: Path) -> None:
    folder = write_people(tmp_path / "lfw")
    options = {"people": sorted(PEOPLE), "val_per_person": 2, "test_per_person": 1}
    train, val, test = (open_split(IdentityTask, "folder", folder, s, **options)[0] for s in SPLITS)
    assert (len(train), len(val), len(test)) == (1 + 3 + 2, 2 + 2, 1 + 1)
    assert {n for n in _files(train) if n.startswith("Alan")} == {
        f"Alan_Turing_000{i}.jpg" for i in (1, 2, 3)
    }
    with pytest.raises(DatasetError, match="no photos for val: no person has more than 13"):
        open_split(IdentityTask, "folder", folder, "val", people=sorted(PEOPLE), val_per_person=13)


def test_a_split_with_nothing_held_out_reads_its_folder_whole(tmp_path: Path) -> None:
    folder = write_people(tmp_path / "lfw")
    options = {"people": sorted(PEOPLE), "test_per_person": 2}
    assert len(open_split(IdentityTask, "folder", folder, "val", **options)[0]) == 12
    assert len(open_split(IdentityTask, "folder", folder, "test", **options)[0]) == 6


def test_a_persons_draw_depends_on_the_seed_and_its_name_only() -> None:
    records = [(Path(f"{p}/{i}.jpg"), label) for label, p in enumerate("ab") for i in range(6)]
    alone = [(Path(f"b/{i}.jpg"), 0) for i in range(6)]
    test = held_out_split(records, ["a", "b"], "test", 0, 2, seed=0)
    assert len(test) == 4
    b_only = held_out_split(alone, ["b"], "test", 0, 2, seed=0)
    assert [p for p, _ in test if p.parent.name == "b"] == [p for p, _ in b_only]
    draws = {tuple(held_out_split(records, ["a", "b"], "test", 0, 2, seed)) for seed in range(5)}
    assert len(draws) > 1


def test_main_prints_the_people_line_of_a_folder(tmp_path: Path, capsys) -> None:
    write_people(tmp_path / "lfw")
    (tmp_path / "lfw" / ".hidden").mkdir()
    assert main([str(tmp_path / "lfw")]) == 0
    assert capsys.readouterr().out == ('people = ["Ada_Lovelace", "Alan_Turing", "Grace_Hopper"]\n')
    assert main([str(tmp_path / "missing")]) == 1
    assert "no such folder" in capsys.readouterr().err
    assert main([]) == 2
