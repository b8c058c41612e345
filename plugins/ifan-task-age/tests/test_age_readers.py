"""The utkface and csv readers: labels, bad samples reported with their file (and line)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from ifan.contract import OpenContext
from ifan.data.bad_samples import BadSamples
from ifan.data.errors import DatasetError
from ifan.testing.datasets import write_face

from age_fixtures import GOOD_UTKFACE, MALFORMED_UTKFACE, write_utkface
from ifan_task_age.formats import AgeCsvFormat, UtkFaceFormat
from ifan_task_age.readers import read_age_csv, read_utkface, utkface_age


def _ages(records) -> dict[str, float]:
    return {record.image.name: record.age for record in records}


def test_utkface_reads_the_age_from_each_name(tmp_path: Path) -> None:
    folder = write_utkface(tmp_path / "utk")
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    write_face(folder / ".hidden_1_0_0_20170104204347174.jpg")
    assert _ages(read_utkface(folder, BadSamples())) == GOOD_UTKFACE


def test_utkface_skips_and_reports_the_malformed_names(tmp_path: Path) -> None:
    folder = write_utkface(tmp_path / "utk", {**GOOD_UTKFACE, **MALFORMED_UTKFACE})
    bad = BadSamples("skip")
    assert _ages(read_utkface(folder, bad)) == GOOD_UTKFACE
    assert bad.count == 2
    for name, why in MALFORMED_UTKFACE.items():
        (reason,) = [r for r in bad.reasons if name in r]
        assert "<age>_<gender>_<race>_<datetime>" in reason and why in reason


def test_utkface_malformed_name_is_an_error_by_default(tmp_path: Path) -> None:
    folder = write_utkface(tmp_path / "utk", {**GOOD_UTKFACE, **MALFORMED_UTKFACE})
    bad_name = "14_0_0_2017011022340900.jpg.chip.jpg: malformed"
    with pytest.raises(DatasetError, match=re.escape(bad_name)):
        read_utkface(folder, BadSamples("error"))


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("121_0_0_20170104204347174.jpg", "age 121 is outside 0 to 120"),
        ("x_0_0_20170104204347174.jpg", "age must be a whole number"),
        ("30_2_0_20170104204347174.jpg", "gender must be 0 (male) or 1 (female), got '2'"),
        ("30_0_5_20170104204347174.jpg", "race must be 0 to 4, got '5'"),
    ],
)
def test_utkface_name_fields_are_checked(name: str, why: str) -> None:
    with pytest.raises(DatasetError, match=re.escape(why)):
        utkface_age(Path(name))


def test_utkface_unreadable_image_is_a_bad_sample(tmp_path: Path) -> None:
    folder = write_utkface(tmp_path / "utk")
    (folder / "5_0_0_20170104204347174.jpg.chip.jpg").write_bytes(b"not a jpeg")
    bad = BadSamples("skip")
    assert len(read_utkface(folder, bad)) == len(GOOD_UTKFACE)
    assert "5_0_0_20170104204347174.jpg.chip.jpg" in bad.reasons[0]


def test_utkface_split_problems_are_raised(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not a folder"):
        read_utkface(tmp_path / "missing", BadSamples("skip"))
    write_face(tmp_path / "empty" / "face.jpg")
    with pytest.raises(DatasetError, match="no usable UTKFace images"):
        read_utkface(tmp_path / "empty", BadSamples("skip"))


def test_utkface_format_opens_letterboxed_faces_with_age_targets(tmp_path: Path) -> None:
    folder = write_utkface(tmp_path / "utk")
    write_face(folder / "sub" / "50_0_1_20170104204347174.jpg.chip.jpg", size=30)
    fmt = UtkFaceFormat()
    dataset = fmt.open(folder, "train", fmt.Options(), OpenContext(16))
    assert len(dataset) == len(GOOD_UTKFACE) + 1
    image, target = dataset[0]
    assert image.shape == (3, 16, 16) and image.dtype == torch.float32
    assert float(image.min()) >= 0 and float(image.max()) <= 1
    assert target["age"].dtype == torch.float32
    assert sorted(float(dataset[i][1]["age"]) for i in range(len(dataset))) == [
        1.0,
        26.0,
        39.0,
        50.0,
        100.0,
    ]


def _csv(tmp_path: Path, text: str) -> Path:
    write_face(tmp_path / "faces" / "a.png")
    write_face(tmp_path / "faces" / "b.png")
    path = tmp_path / "ages.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_reads_paths_relative_to_the_file_with_or_without_header(tmp_path: Path) -> None:
    rows = "faces/a.png,31\nfaces/b.png, 7.5\n"
    for text in (rows, "image,age\n" + rows):
        records = read_age_csv(_csv(tmp_path, text), BadSamples())
        assert [(r.image, r.age) for r in records] == [
            (tmp_path / "faces" / "a.png", 31.0),
            (tmp_path / "faces" / "b.png", 7.5),
        ]


def test_csv_malformed_first_line_is_not_taken_for_a_header(tmp_path: Path) -> None:
    bad = BadSamples("skip")
    records = read_age_csv(_csv(tmp_path, "faces/a.png,31,\nfaces/b.png,12\n"), bad)
    assert [r.age for r in records] == [12.0]
    assert "ages.csv:1: expected 2 fields" in bad.reasons[0]


def test_csv_bad_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    text = (
        "image,age\n"
        "faces/a.png,31\n"
        "faces/b.png,old\n"
        "faces/b.png,20,extra\n"
        "faces/missing.png,40\n"
        "faces/b.png,-1\n"
        "faces/b.png,12\n"
    )
    path = _csv(tmp_path, text)
    bad = BadSamples("skip")
    assert [r.age for r in read_age_csv(path, bad)] == [31.0, 12.0]
    assert bad.count == 4
    assert f"{path}:3: expected the age as numbers, got 'old'" in bad.reasons[0]
    assert f"{path}:4: expected 2 fields, image,age; got 3" in bad.reasons[1]
    assert f"{path}:5: " in bad.reasons[2] and "missing.png not found" in bad.reasons[2]
    assert f"{path}:6: age -1 is outside 0 to 120 years" in bad.reasons[3]
    with pytest.raises(DatasetError, match=f"{path}:3:"):
        read_age_csv(path, BadSamples("error"))


def test_csv_format_opens_faces(tmp_path: Path) -> None:
    fmt = AgeCsvFormat()
    dataset = fmt.open(_csv(tmp_path, "faces/a.png,31\n"), "val", fmt.Options(), OpenContext(8))
    image, target = dataset[0]
    assert image.shape == (3, 8, 8) and float(target["age"]) == 31.0


def test_csv_split_problems_are_raised(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        read_age_csv(tmp_path / "missing.csv", BadSamples("skip"))
    with pytest.raises(DatasetError, match="no usable faces"):
        read_age_csv(_csv(tmp_path, "image,age\nfaces/a.png,200\n"), BadSamples("skip"))
