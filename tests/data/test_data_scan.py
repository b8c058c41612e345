"""``ifan data --scan``: per split, how many samples were decoded, how many were bad and how many
are left; every problem it finds starts like those found when a split is opened (the
annotation's file and line), and one it raises names the task's split first, as they do."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ifan.cli.main import main
from ifan_tasks.synthetic.writer import write_datasets

COUNTS = {task: {"train": 4, "val": 3, "test": 2} for task in ("parsing", "landmarks", "emotion")}
NO_DETECTOR = "--set=model.crop.detector='none'"  # so that only decoding finds a cut image
SKIP = "--set=tasks.landmarks.on_bad_sample='skip'"


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic faces whose landmarks images train 00001 and val 00002 are cut short."""
    root = tmp_path_factory.mktemp("scan")
    write_datasets(root, seed=0, size=32, counts=COUNTS)
    for split, name in (("train", "00001"), ("val", "00002")):
        cut(root / "landmarks" / split / "images" / f"{name}.png")
    return root


def cut(path: Path) -> None:
    """Make ``path`` a noise PNG of the same size whose header reads but whose pixels are cut off:
    opening a split (which reads headers) takes it, decoding it fails."""
    width, height = Image.open(path).size
    noise = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, format="PNG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def data(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["data", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows(out: str) -> dict[str, list[str]]:
    """The table's rows by split: samples, skipped, scanned, detected, fallback."""
    table = out.split("\n\n")[0].splitlines()
    return {line.split()[2]: line.split()[3:8] for line in table[1:]}


def test_scan_counts_the_samples_decoded_the_bad_and_the_good_per_split(faces, tmp_path, capsys):
    report = tmp_path / "report.json"
    manifest = str(faces / "manifest.toml")
    argv = [manifest, "--tasks", "landmarks", "--scan", "--json", str(report), NO_DETECTOR, SKIP]
    code, out, _ = data(capsys, *argv)
    assert code == 0
    assert out.splitlines()[0].split() == [
        "TASK",
        "FORMAT",
        "SPLIT",
        "SAMPLES",
        "SKIPPED",
        "SCANNED",
        "DETECTED",
        "FALLBACK",
        "FROM",
    ]
    assert rows(out) == {
        "train": ["3", "1", "4", "0", "4"],
        "val": ["2", "1", "3", "0", "3"],
        "test": ["2", "0", "2", "0", "2"],
    }
    splits = json.loads(report.read_text())["landmarks"]["splits"]
    counts = {
        split: [info[k] for k in ("samples", "skipped", "scanned")]
        for split, info in splits.items()
    }
    assert counts == {"train": [3, 1, 4], "val": [2, 1, 3], "test": [2, 0, 2]}
    for split, line in (("train", 3), ("val", 4)):  # line 1 of each list is its header
        (reason,) = splits[split]["reasons"]
        image = faces / "landmarks" / split / "images" / f"0000{line - 2}.png"
        assert reason.startswith(f"{faces / 'landmarks' / f'{split}.csv'}:{line}: {image}: ")
        assert "not a readable image" in reason
        assert f"  {split}: skipped 1 bad sample, e.g.\n    {reason}\n" in out
    code, out, _ = data(capsys, manifest, "--tasks", "landmarks", NO_DETECTOR, SKIP)
    assert code == 0 and "SCANNED" not in out  # without --scan: a cut image is not found yet
    assert [row[:2] for row in rows(out).values()] == [["4", "0"], ["3", "0"], ["2", "0"]]


def test_a_bad_sample_found_by_the_scan_stops_it_naming_split_annotation_and_file(
    faces, capsys
) -> None:
    code, out, err = data(
        capsys, str(faces / "manifest.toml"), "--tasks", "landmarks", "--scan", NO_DETECTOR
    )
    assert code == 2 and out == ""
    csv, image = faces / "landmarks" / "train.csv", faces / "landmarks/train/images/00001.png"
    assert err.startswith(f"error: tasks.landmarks.data.train: {csv}:3: {image}: not a readable")
    assert err.count("\n") == 1


def test_a_carved_split_shares_the_crop_counts_of_the_split_it_was_carved_from(
    faces, tmp_path, capsys
) -> None:
    manifest = tmp_path / "carved.toml"
    manifest.write_text(
        '[model]\ninput_size = 32\n[model.crop]\ndetector = "none"\n'
        "[tasks.landmarks.augment]\nenabled = false\n"
        '[tasks.landmarks.data]\nformat = "csv"\npoints = 5\neyes = [[0], [1]]\n'
        f'train = "{faces / "landmarks" / "test.csv"}"\nval_fraction = 0.5\n'
    )
    report = tmp_path / "report.json"
    code, out, _ = data(capsys, str(manifest), "--json", str(report))
    assert code == 0
    table = out.split("\n\n")[0].splitlines()
    assert [line.split()[2:7] for line in table[1:]] == [
        ["train", "1", "0", "0", "2"],  # the fallback rule took both faces read, 1 of them val's
        ["val", "1", "0", "-", "-"],
    ]
    assert out.count("faces cropped by the fallback rule") == 1
    splits = json.loads(report.read_text())["landmarks"]["splits"]
    assert splits["val"]["crops"] == {"counted_with": "train"}
    assert splits["train"]["crops"]["fallback"] == 2
    assert splits["train"]["scanned"] is None
