"""Every built-in dataset reader fed one bad input at a time, under both bad-sample policies.

What this guarantees, for each ``(reader, kind)`` pair of :data:`CASES` (the 9 formats times the
kinds of defect that apply to each), on a dataset of three good samples plus exactly one defect:

* ``on_bad_sample = "error"``: a :class:`~ifan.data.errors.DatasetError` (an ``IfanError``)
  whose message names the defective file, the list line for per-line defects, and the reason;
  defects that only show when an image is decoded are raised when that sample is loaded;
* ``"skip"``: exactly one sample is skipped, its reason recorded (``BadSamples.reasons`` when the
  split is opened, the one warning and ``RecordDataset.check`` when it is loaded), and the three
  good samples are still read, unchanged and in order;
* defects of a whole split (empty, missing, an unknown class folder) are raised under either
  policy, since a split without its samples is an error whatever the policy; so is a split
  whose every sample turns out broken when decoded, naming one of them;
* through ``ifan data``: exit status 2 and ``error: ...`` on stderr, or a counted skip, and never
  a traceback (also with a file name that is not UTF-8 and a strict UTF-8 stdout).

The per-reader counts are those of :data:`CASES` (see :func:`counts`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
import torch

from ifan.cli.main import main
from ifan.contract import OpenContext
from ifan.data.bad_samples import BadSamples
from ifan.data.errors import DatasetError
from ifan.errors import IfanError
from ifan_tasks.emotion.task import EmotionTask
from ifan_tasks.landmarks.task import LandmarksTask
from ifan_tasks.parsing.task import ParsingTask
from tests.reliability.reader_fixtures import (
    BAD_AT,
    GOOD,
    SPLIT,
    TASK_OF,
    Built,
    build,
    corrupt,
    manifest,
    truncate,
)

SIZE = 16
TASKS = {"parsing": ParsingTask, "landmarks": LandmarksTask, "emotion": EmotionTask}
Stage = Literal["open", "load", "split"]


@dataclass(frozen=True)
class Case:
    """One reader fed one kind of defect.

    ``stage``: ``open`` (a bad sample found when the split is opened), ``load`` (found only when
    the sample's image is decoded) or ``split`` (the whole split is unusable: raised under either
    policy). ``reason``: a regular expression the message must match.
    """

    reader: str
    kind: str
    stage: Stage
    reason: str

    def __str__(self) -> str:
        return f"{self.reader}-{self.kind}"


UNREADABLE = r"is not a readable image \(cannot identify image file"
TRUNCATED = r": not a readable image \(image file is truncated"
WRONG_SIZE = r"label image is 5x5 but its photo .*s1x\.png is 12x10"


def _case(reader: str, kind: str, stage: Stage, reason: str) -> Case:
    return Case(reader, kind, stage, reason)


CASES: list[Case] = [
    # ---- parsing: Helen (list file of 'index , name'; 11 maps a face) ----
    _case("helen", "truncated_image", "load", TRUNCATED),
    _case("helen", "corrupt_image", "open", UNREADABLE),
    _case("helen", "truncated_label", "load", TRUNCATED),
    _case("helen", "corrupt_label", "open", UNREADABLE),
    _case("helen", "label_wrong_size", "open", WRONG_SIZE),
    _case("helen", "malformed_line", "open", r"expected 'index , name' or 'name', got"),
    _case("helen", "non_utf8_bytes", "open", r"not UTF-8 text \(byte 0xff at column 7\)"),
    _case("helen", "missing_image", "open", r"no image s1x\.jpg \(or \.png\) in"),
    _case("helen", "missing_label", "open", r"no label maps for s1x: .* not found"),
    _case("helen", "empty_split", "split", r"the list names no usable images"),
    _case("helen", "missing_split", "split", r"Helen list file not found"),
    # ---- parsing: FASSEG (photo folder, colour-coded labels beside it) ----
    _case("fasseg", "truncated_image", "load", TRUNCATED),
    _case("fasseg", "corrupt_image", "open", UNREADABLE),
    _case("fasseg", "truncated_label", "load", TRUNCATED),
    _case("fasseg", "corrupt_label", "open", UNREADABLE),
    _case("fasseg", "label_wrong_size", "open", WRONG_SIZE),
    _case("fasseg", "missing_label", "open", r"no label image s1x in .*Train_Labels"),
    _case("fasseg", "empty_split", "split", r"no usable images found"),
    _case("fasseg", "missing_split", "split", r"not a folder"),
    # ---- parsing: CelebAMask-HQ (list file of photo names; index masks) ----
    _case("celebamask", "truncated_image", "load", TRUNCATED),
    _case("celebamask", "corrupt_image", "open", UNREADABLE),
    _case("celebamask", "truncated_label", "load", TRUNCATED),
    _case("celebamask", "corrupt_label", "open", UNREADABLE),
    _case("celebamask", "label_wrong_size", "open", WRONG_SIZE),
    _case("celebamask", "out_of_range_value", "load", r"value 42 is not a class index \(0 to 18\)"),
    _case("celebamask", "non_utf8_bytes", "open", r"not UTF-8 text \(byte 0xff at column 3\)"),
    _case("celebamask", "missing_image", "open", r"no photo 's1x' in .*CelebA-HQ-img"),
    _case("celebamask", "missing_label", "open", r"no mask s1x\.png in .*CelebAMask-HQ-mask"),
    _case("celebamask", "empty_split", "split", r"the list names no usable photos"),
    _case("celebamask", "missing_split", "split", r"CelebAMask-HQ list file not found"),
    # ---- parsing: mask folder (images/ and masks/ of class indices) ----
    _case("mask-folder", "truncated_image", "load", TRUNCATED),
    _case("mask-folder", "corrupt_image", "open", UNREADABLE),
    _case("mask-folder", "truncated_label", "load", TRUNCATED),
    _case("mask-folder", "corrupt_label", "open", UNREADABLE),
    _case("mask-folder", "label_wrong_size", "open", WRONG_SIZE),
    _case("mask-folder", "out_of_range_value", "load", r"value 7 is not a class index \(0 to 4\)"),
    _case("mask-folder", "missing_label", "open", r"no mask s1x\.png in .*masks"),
    _case("mask-folder", "empty_split", "split", r"no usable photos found"),
    _case("mask-folder", "missing_split", "split", r"images: photo folder not found"),
    # ---- landmarks: MTFL (list lines: path, 5 x, 5 y, 4 attributes) ----
    _case("mtfl", "truncated_image", "load", TRUNCATED),
    _case("mtfl", "corrupt_image", "open", UNREADABLE),
    _case("mtfl", "nan_coordinate", "open", r"x1\.\.x5 y1\.\.y5: 'nan' is not a finite number"),
    _case("mtfl", "inf_coordinate", "open", r"x1\.\.x5 y1\.\.y5: 'inf' is not a finite number"),
    _case("mtfl", "out_of_range_coordinate", "open", r"points outside the 12x10 image"),
    _case("mtfl", "out_of_range_value", "open", r"pose must be an integer from 1 to 5, got 7"),
    _case("mtfl", "non_finite_value", "open", r"glasses pose: 'nan' is not a finite number"),
    _case("mtfl", "malformed_line", "open", r"expected 15 fields \(path, .*\), got 14"),
    _case("mtfl", "non_numeric_field", "open", r"expected x1\.\.x5 y1\.\.y5 as numbers, got"),
    _case("mtfl", "non_utf8_bytes", "open", r"not UTF-8 text \(byte 0xff at column 9\)"),
    _case("mtfl", "missing_image", "open", r"image .*s1x\.png not found"),
    _case("mtfl", "empty_split", "split", r"the list file has no usable faces"),
    _case("mtfl", "missing_split", "split", r"MTFL list file not found"),
    # ---- landmarks: .pts files beside their images ----
    _case("pts", "truncated_image", "load", TRUNCATED),
    _case("pts", "corrupt_image", "open", UNREADABLE),
    _case("pts", "nan_coordinate", "open", r"x y: 'nan' is not a finite number"),
    _case("pts", "inf_coordinate", "open", r"x y: 'inf' is not a finite number"),
    _case("pts", "out_of_range_coordinate", "open", r"points outside the 12x10 image"),
    _case("pts", "malformed_line", "open", r"expected 'x y', got '7 6 4'"),
    _case("pts", "non_numeric_field", "open", r"expected x y as numbers, got 'three 4'"),
    _case("pts", "non_utf8_bytes", "open", r"not UTF-8 text \(byte 0xff at column 5\)"),
    _case("pts", "missing_image", "open", r"no image named s1x beside it"),
    _case("pts", "empty_split", "split", r"no usable \.pts files found"),
    _case("pts", "missing_split", "split", r"not a folder"),
    # ---- landmarks: CSV (image,x0,y0,... with a header) ----
    _case("csv", "truncated_image", "load", TRUNCATED),
    _case("csv", "corrupt_image", "open", UNREADABLE),
    _case("csv", "nan_coordinate", "open", r"x,y pairs: 'nan' is not a finite number"),
    _case("csv", "inf_coordinate", "open", r"x,y pairs: 'inf' is not a finite number"),
    _case("csv", "out_of_range_coordinate", "open", r"points outside the 12x10 image"),
    _case("csv", "malformed_line", "open", r"x,y for 5 points \(11 fields\), got 9"),
    _case("csv", "non_numeric_field", "open", r"expected x,y pairs as numbers, got"),
    _case("csv", "non_utf8_bytes", "open", r"not UTF-8 text \(byte 0xff at column 7\)"),
    _case("csv", "missing_image", "open", r"image .*s1x\.png not found"),
    _case("csv", "empty_split", "split", r"the CSV file has no usable faces"),
    _case("csv", "missing_split", "split", r"landmark CSV file not found"),
    # ---- emotion: one folder per class ----
    _case("folder", "truncated_image", "load", TRUNCATED),
    _case("folder", "corrupt_image", "open", UNREADABLE),
    _case("folder", "unknown_class_folder", "split", r"folder 'joy' is not a class"),
    _case("folder", "empty_split", "split", r"no usable images in class folders"),
    _case("folder", "missing_split", "split", r"not a folder"),
    # ---- emotion: fer2013.csv (emotion,pixels,Usage) ----
    _case("fer2013-csv", "malformed_line", "open", r"expected 3 fields, got 4"),
    _case("fer2013-csv", "non_numeric_field", "open", r"pixels must be space-separated integers"),
    _case("fer2013-csv", "out_of_range_value", "open", r"integers \(grey values 0 to 255\)"),
    _case("fer2013-csv", "non_utf8_bytes", "open", r"not UTF-8 text \(byte 0xff at column 22\)"),
    _case("fer2013-csv", "empty_split", "split", r"no rows with Usage 'PrivateTest' \(found: none"),
    _case("fer2013-csv", "missing_split", "split", r"cannot read the FER2013 CSV"),
]


def counts() -> dict[str, int]:
    """Bad-input cases per reader (each run under both policies)."""
    return dict(Counter(case.reader for case in CASES))


def test_the_table_covers_every_reader_once_per_kind():
    assert counts() == {
        "helen": 11,
        "fasseg": 8,
        "celebamask": 11,
        "mask-folder": 9,
        "mtfl": 13,
        "pts": 11,
        "csv": 11,
        "folder": 5,
        "fer2013-csv": 6,
    }
    assert len({(case.reader, case.kind) for case in CASES}) == len(CASES)
    formats = {fmt.name for task in TASKS.values() for fmt in task.formats}
    assert set(counts()) == formats


# ---- opening and loading -------------------------------------------------------------------------


def open_split(reader: str, built: Built, policy: str) -> tuple[Any, BadSamples]:
    """The split as ``open_splits`` would open it, and its bad-sample record."""
    fmt = TASKS[TASK_OF[reader]].format(reader)
    ctx = OpenContext(SIZE, BadSamples(policy))  # type: ignore[arg-type]
    dataset = fmt.open(built.split, SPLIT, fmt.Options.model_validate(built.options), ctx)
    return dataset, ctx.bad


def same(a: Any, b: Any) -> bool:
    """Samples (tensors in tuples, lists and dicts) equal in every value."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory):
    """``clean(reader)``: the three good samples of ``reader``'s fixture, read without a defect."""
    cache: dict[str, list] = {}

    def samples(reader: str) -> list:
        if reader not in cache:
            built = build(reader, tmp_path_factory.mktemp(reader), None)
            dataset, bad = open_split(reader, built, "error")
            cache[reader] = [dataset[i] for i in range(len(dataset))]
            assert len(cache[reader]) == len(GOOD) and bad.count == 0
        return cache[reader]

    return samples


def assert_names(message: str, case: Case, built: Built, prefix: str = "") -> None:
    """``message`` starts with ``prefix``, then (for a per-line defect found when the split is
    opened) with the list file and line, and it names the defective file and the reason."""
    assert built.file is not None
    assert message.startswith(prefix), message
    if built.where is not None and case.stage == "open":
        assert message.startswith(f"{prefix}{built.where}: "), message
    assert str(built.file) in message, message
    assert re.search(case.reason, message), f"{case.reason!r} not in {message!r}"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_error_policy_raises_naming_file_line_and_reason(case: Case, tmp_path: Path):
    built = build(case.reader, tmp_path, case.kind)
    if case.stage == "load":
        dataset, bad = open_split(case.reader, built, "error")
        assert (len(dataset), bad.count) == (len(GOOD) + 1, 0)
        for index in range(len(dataset)):
            if index != BAD_AT:
                dataset[index]
        with pytest.raises(IfanError) as info:
            dataset[BAD_AT]
    else:
        with pytest.raises(IfanError) as info:
            open_split(case.reader, built, "error")
    assert type(info.value) is DatasetError
    assert_names(str(info.value), case, built)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_skip_policy_counts_the_defect_and_keeps_the_good_samples(
    case: Case, tmp_path: Path, clean
):
    built = build(case.reader, tmp_path, case.kind)
    if case.stage == "split":
        with pytest.raises(DatasetError) as info:
            open_split(case.reader, built, "skip")
        assert_names(str(info.value), case, built)
        return
    dataset, bad = open_split(case.reader, built, "skip")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        samples = [dataset[i] for i in range(len(dataset))]
    if case.stage == "open":
        assert bad.count == 1 and not caught
        (reason,) = bad.reasons
    else:  # found on decoding: warned about once, replaced by the next sample
        assert bad.count == 0 and len(caught) == 1
        reason = str(caught[0].message).removeprefix("skipped a bad sample: ")
        scanned = [dataset.check(i) for i in range(len(dataset))]
        assert [i for i, why in enumerate(scanned) if why is not None] == [BAD_AT]
        assert scanned[BAD_AT] == reason
        assert same(samples.pop(BAD_AT), samples[BAD_AT])
    assert_names(reason, case, built)
    assert same(samples, clean(case.reader))


def test_skip_policy_when_every_sample_is_broken_inside_names_one(tmp_path: Path):
    built = build("folder", tmp_path, None)
    broken = sorted(built.split.rglob("*.png"))
    for path in broken:
        truncate(path, "L")
    dataset, bad = open_split("folder", built, "skip")
    assert (len(dataset), bad.count) == (len(GOOD), 0)  # headers read: found only on decoding
    with pytest.warns(UserWarning) as caught, pytest.raises(DatasetError) as info:
        dataset[0]
    assert len(caught) == len(GOOD)
    message = str(info.value)
    assert message.startswith(f"every one of the {len(GOOD)} samples failed to load; the last: ")
    assert re.search(TRUNCATED, message) and any(str(path) in message for path in broken)


# ---- through the command line --------------------------------------------------------------------

CLI_CASES = [
    ("mtfl", "non_finite_value"),
    ("pts", "malformed_line"),
    ("helen", "corrupt_image"),
    ("folder", "truncated_image"),
    ("fer2013-csv", "non_utf8_bytes"),
    ("csv", "missing_split"),
]
BY_NAME = {(case.reader, case.kind): case for case in CASES}


@pytest.mark.parametrize("reader,kind", CLI_CASES, ids=lambda v: str(v))
def test_ifan_data_reports_an_error_without_a_traceback(reader, kind, tmp_path, capsys):
    case = BY_NAME[reader, kind]
    built = build(reader, tmp_path / "data", kind)
    status = main(["data", str(manifest(tmp_path, reader, built, "error")), "--scan"])
    out, err = capsys.readouterr()
    assert status == 2
    assert "Traceback" not in out + err
    (error,) = [line for line in err.splitlines() if line.startswith("error: ")]
    # every error names the task's split, whether found on opening or by --scan
    split = f"tasks.{TASK_OF[reader]}.data.{SPLIT}: "
    assert_names(error, case, built, prefix=f"error: {split}")


@pytest.mark.parametrize("reader,kind", CLI_CASES[:-1], ids=lambda v: str(v))
def test_ifan_data_counts_a_skipped_sample(reader, kind, tmp_path, capsys):
    case = BY_NAME[reader, kind]
    built = build(reader, tmp_path / "data", kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # --scan checks samples without loading them twice
        status = main(["data", str(manifest(tmp_path, reader, built, "skip")), "--scan"])
    out, err = capsys.readouterr()
    assert status == 0, err
    row = next(line.split() for line in out.splitlines() if line.startswith(TASK_OF[reader]))
    opened = len(GOOD)  # a sample found bad inside by the scan is not counted
    assert row[:5] == [TASK_OF[reader], reader, SPLIT, str(opened), "1"]
    assert f"  {SPLIT}: skipped 1 bad sample, e.g." in out
    reason = out.split("skipped 1 bad sample, e.g.\n", 1)[1].splitlines()[0].strip()
    assert_names(reason, case, built)
    assert "Traceback" not in out + err


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8_is_reported_on_a_strict_utf8_stdout(tmp_path):
    """The name's bad byte is shown escaped (``\\xff``) in the reason, so that printing it cannot
    fail however strict the terminal's encoding is."""
    built = build("folder", tmp_path / "data", None)
    corrupt(Path(os.fsdecode(bytes(built.split / "happy") + b"/s1\xffx.png")))
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "OMP_NUM_THREADS": "1"}
    for policy, status in (("skip", 0), ("error", 2)):
        path = manifest(tmp_path, "folder", built, policy)
        run = subprocess.run(
            [sys.executable, "-m", "ifan.cli.main", "data", str(path)],
            capture_output=True,
            env=env,
            timeout=300,
        )
        out, err = run.stdout.decode(), run.stderr.decode()
        assert run.returncode == status, err
        assert "Traceback" not in out + err
        shown = f"{built.split / 'happy'}/s1\\xffx.png is not a readable image"
        assert shown in (out if policy == "skip" else err)
