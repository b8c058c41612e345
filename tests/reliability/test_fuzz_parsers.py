"""Property-based fuzzing (hypothesis) of the manifest loader and of every text format parser.

What this guarantees: whatever text, bytes or structure they are given, these either succeed or
raise one of the project's own errors (an ``IfanError`` subclass) with a message that names the
file at fault; no ``KeyError``, ``ValueError``, ``UnicodeDecodeError``, ``csv.Error`` or other
bare exception escapes:

* the manifest loader: random TOML and YAML text, random bytes, random manifest-shaped data
  written as TOML or YAML, any data handed to ``validate_document``, and random ``--set``
  overrides on a valid manifest;
* the dataset text parsers, through their formats' ``open`` (and every sample they accept is
  loaded): MTFL list lines, ``.pts`` files, landmark CSV, fer2013.csv, Helen and CelebAMask-HQ
  list files, and the shared list-file reader on raw bytes;
* the image reader on corrupted PNG, JPEG, BMP and GIF bytes.

Runs are reproducible (``derandomize=True``) and bounded by :data:`EXAMPLES` per property
(``IFAN_FUZZ_EXAMPLES`` in the environment raises it for a longer hunt).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from ifan.contract import OpenContext
from ifan.data.bad_samples import BadSamples
from ifan.data.errors import DatasetError
from ifan.data.images import image_size, open_image
from ifan.data.lists import read_lines
from ifan.errors import IfanError, ManifestError
from ifan.manifest import load_manifest, validate_document
from ifan.manifest.document import Document
from ifan.plugins import load_registry
from ifan_tasks.emotion.task import EmotionTask
from ifan_tasks.landmarks.task import LandmarksTask
from ifan_tasks.parsing.task import ParsingTask
from tests.reliability.reader_fixtures import helen_sample, index_mask, noise, save

EXAMPLES = int(os.environ.get("IFAN_FUZZ_EXAMPLES", "200"))
"""Examples per property; set ``IFAN_FUZZ_EXAMPLES`` higher for a longer hunt."""
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def outcome(call: Callable[[], Any], names: str) -> Any:
    """``call()``, or the ``IfanError`` it raised, checked to have a message naming ``names``;
    any other exception fails the test."""
    try:
        result = call()
    except IfanError as error:
        message = str(error)
        assert message.strip(), f"{type(error).__name__} without a message"
        assert names in message, f"{names!r} not named in {message!r}"
        event(type(error).__name__)  # the outcomes, in --hypothesis-show-statistics
        return error
    event("accepted")
    return result


# ---- the manifest loader -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry():
    return load_registry(allow={"ifan"}, strict=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the examples of one module write into (each overwrites what it needs)."""
    return tmp_path_factory.mktemp("fuzz")


TASK_NAMES = ["landmarks", "parsing", "emotion", "Landmarks", "landmark", "ages", "1x", ""]
FORMAT_NAMES = ["mtfl", "pts", "csv", "helen", "fasseg", "celebamask", "mask-folder", "folder"]
FORMAT_NAMES += ["fer2013-csv", "MTFL", "json", ""]
MODEL_KEYS = ["backbone", "backbone_checkpoint", "input_size", "iterations", "batchnorm"]
MODEL_KEYS += ["reencoder", "feedback_channels"]
TRAIN_KEYS = ["pretrain_epochs", "finetune_epochs", "optimizer", "lr_pretrain", "lr_finetune"]
TRAIN_KEYS += ["lr_finetune_end", "weight_decay", "seed", "finetune_rounds", "workers", "device"]
TRAIN_KEYS += ["checkpoint_every", "keep_checkpoints", "bf16", "out_dir"]
TASK_KEYS = ["batch_size", "loss_weight", "tap", "on_bad_sample", "augment", "heatmap_radius"]
TASK_KEYS += ["failure_threshold", "hidden", "label_smoothing", "class_weights"]
DATA_KEYS = ["train", "val", "test", "val_fraction", "crop", "margin", "points", "names", "eyes"]
DATA_KEYS += ["mirror", "one_based", "size_mismatch", "classes", "groups", "usage"]
AUGMENT_KEYS = ["enabled", "flip", "rotate", "scale", "crop", "colour"]
WORDS = ["fc-densenet", "resnet18", "per-task", "shared", "learned", "resize", "skip", "error"]
WORDS += ["image", "points", "down4", "up0", "adam", "cpu", "auto", "data/x.txt", "../x"]
WORDS += ["~/x", "~nobody-here/x", "/abs/path", "a\x00b", "", " ", "train", "left_eye"]

floats = st.floats(allow_nan=True, allow_infinity=True)
scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 2, 3, 5, 32, 68, 128, -1, 4097, 2**32]),
    floats,
    st.sampled_from([0.0, 0.5, 1.0, 1e-4, -0.1, 2.0]),
    st.text(max_size=12),
    st.sampled_from(WORDS + FORMAT_NAMES + TASK_NAMES),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


def table(keys: list[str], extra: dict[str, st.SearchStrategy] | None = None):
    """A table of some of ``keys`` (and now and then a stray key) with random values."""
    known = st.dictionaries(st.sampled_from(keys), values, max_size=4)
    stray = st.dictionaries(st.text(max_size=8), values, max_size=1)
    fixed = st.fixed_dictionaries({}, optional=extra or {})
    return st.tuples(fixed, known, stray).map(lambda parts: {**parts[2], **parts[1], **parts[0]})


data_tables = (
    table(
        DATA_KEYS,
        {"format": st.sampled_from(FORMAT_NAMES) | st.text(max_size=6) | values},
    )
    | values
)
task_tables = (
    table(TASK_KEYS, {"data": data_tables, "augment": table(AUGMENT_KEYS) | values}) | values
)
manifests = st.fixed_dictionaries(
    {},
    optional={
        "model": table(MODEL_KEYS) | values,
        "train": table(TRAIN_KEYS) | values,
        "tasks": st.dictionaries(st.sampled_from(TASK_NAMES) | st.text(max_size=6), task_tables)
        | values,
        "extra": values,
    },
)
"""Manifest-shaped data: the real tables and keys, with random values and the odd stray key."""


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (control characters escaped)."""
    escaped = "".join(
        f"\\u{ord(c):04x}" if ord(c) < 0x20 or c in '"\\\x7f' else c
        for c in text.encode("utf-16", "surrogatepass").decode("utf-16")
    )
    return f'"{escaped}"'


def toml_value(value: Any) -> str | None:
    """``value`` as a TOML value (inline tables for mappings); None where TOML has none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        items = [toml_value(v) for v in value]
        return "[" + ", ".join(i for i in items if i is not None) + "]"
    if isinstance(value, dict):
        pairs = [(k, toml_value(v)) for k, v in value.items()]
        return "{" + ", ".join(f"{toml_string(k)} = {v}" for k, v in pairs if v is not None) + "}"
    return None


def toml_document(data: dict[str, Any]) -> str:
    """``data`` as a TOML document: a ``[table]`` for each mapping at the top, keys inside."""
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"[{toml_string(key)}]")
            lines += [f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()]
        else:
            lines.insert(0, f"{toml_string(key)} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def load(folder: Path, name: str, content: str | bytes, registry, overrides=()) -> Any:
    path = folder / name
    path.write_bytes(
        content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    )
    return outcome(lambda: load_manifest(path, list(overrides), registry), str(path))


TOML_TOKENS = ["[model]", "[train]", "[tasks.landmarks]", "[tasks.landmarks.data]", "[[x]]"]
TOML_TOKENS += ["iterations", "input_size", "format", "train", " = ", "=", '"mtfl"', "'x'"]
TOML_TOKENS += ["1", "-1", "nan", "inf", "1e999", "true", "[1, 2]", "{a = 1}", "\n", "#", '"""']
TOML_TOKENS += ["tasks.landmarks.data.format", ".", "\\u0000", '"\\x"', "2024-01-01", "[", "]"]
YAML_TOKENS = ["model:", "tasks:", "landmarks:", "data:", "format: mtfl", "train: a.txt", "\n"]
YAML_TOKENS += ["  ", "- ", "? ", ": ", "&a ", "*a", "<<: *a", "!!python/object:os.system"]
YAML_TOKENS += ["!!binary aGk=", "!!set {a}", "{", "}", "[", "]", ",", "null", "~", "1", ".nan"]
YAML_TOKENS += ["2024-01-01", "'", '"', "|", ">", "---", "...", "%YAML 1.1", "!x", "yes", "@"]


def token_text(tokens: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(tokens) | st.text(max_size=4), max_size=30).map("".join)


@FUZZ
@given(text=st.text() | token_text(TOML_TOKENS))
def test_toml_text(folder, registry, text):
    load(folder, "m.toml", text, registry)


@FUZZ
@given(text=st.text() | token_text(YAML_TOKENS))
@example(text="\x1f")  # found: a yaml.reader.ReaderError escaped
def test_yaml_text(folder, registry, text):
    load(folder, "m.yaml", text, registry)


@FUZZ
@given(content=st.binary(), suffix=st.sampled_from([".toml", ".yaml"]))
@example(content=b"model: 1\x00", suffix=".yaml")
def test_manifest_bytes(folder, registry, content, suffix):
    load(folder, f"b{suffix}", content, registry)


@FUZZ
@given(data=manifests)
def test_manifest_data_as_toml(folder, registry, data):
    result = load(folder, "d.toml", toml_document(data), registry)
    assert not isinstance(result, ManifestError) or result.problems, "a ManifestError lists why"


@FUZZ
@given(data=manifests, keys=st.lists(st.integers() | st.none() | st.booleans(), max_size=2))
@example(data={}, keys=[1])  # found: a TypeError on an int key
def test_manifest_data_as_yaml(folder, registry, data, keys):
    data = {**data, **dict.fromkeys(keys, 1)}  # YAML can write keys that are not text
    load(folder, "d.yaml", yaml.safe_dump(data, allow_unicode=True), registry)


@FUZZ
@given(data=manifests, odd=st.dictionaries(st.integers() | st.none(), values, max_size=2))
@example(data={"tasks": {}}, odd={1: {}})
def test_validate_document_on_any_data(folder, registry, data, odd):
    if isinstance(data.get("tasks"), dict):
        data["tasks"].update(odd)
    document = Document(folder / "v.toml", {**data, **odd})
    outcome(lambda: validate_document(document, (), registry), str(folder / "v.toml"))


VALID = """
[model]
input_size = 32

[tasks.landmarks.data]
format = "mtfl"
train = "data/training.txt"
"""
KEY_PATHS = ["model.iterations", "model.input_size", "model", "train.seed", "train.out_dir"]
KEY_PATHS += ["tasks", "tasks.landmarks", "tasks.landmarks.batch_size", "tasks.landmarks.data"]
KEY_PATHS += ["tasks.landmarks.data.format", "tasks.landmarks.data.train", "tasks.nope.x"]
KEY_PATHS += ["tasks.landmarks.augment.flip", "tasks.landmarks.data.val_fraction", "a..b", ""]
LITERALS = ["1", "-1", "0", "nan", "inf", "1e400", "true", '"x"', "'~nobody-here/x'", "[1, 2]"]
LITERALS += ["{a = 1}", '"pts"', "", "=", "1\nx = 2", '"\\u0000"', "2024-01-01", "[[1]]"]
overrides = st.lists(
    st.text(max_size=20)
    | st.tuples(st.sampled_from(KEY_PATHS), st.sampled_from(LITERALS) | st.text(max_size=8)).map(
        "=".join
    ),
    max_size=4,
)


@FUZZ
@given(sets=overrides)
@example(sets=["train.out_dir=~nobody-here/x"])  # found: RuntimeError from expanduser
def test_set_overrides(folder, registry, sets):
    path = folder / "base.toml"
    path.write_text(VALID)
    try:
        load_manifest(path, sets, registry)
    except ManifestError as error:
        assert str(error).strip() and error.problems
        assert error.source in (str(path), "--set"), error.source


# ---- dataset text parsers ------------------------------------------------------------------------

SIZE = 16
NUMBERS = ["0", "1", "2", "3", "5", "7", "11", "-1", "0.5", "1e3", "1e999", "nan", "inf", "-inf"]
NUMBERS += ["NaN", "1_0", "0x10", "²", "٣", "99999999999999999999", "", "abc", "1,5", "+2"]
JUNK = ["\x00", "\t", "\ufeff", "\u2028", "\x85", "\x0b", '"', "'", "#", ",", " , ", "\\", "é"]
NEWLINES = st.sampled_from(["\n", "\r\n", "\r"])


def lines_of(line: st.SearchStrategy[str], max_size: int = 5) -> st.SearchStrategy[str]:
    """Lines from ``line`` joined by any line ending, with the odd raw line mixed in."""
    mixed = st.one_of(line, line, line, st.text(max_size=20))  # mostly records
    return st.tuples(st.lists(mixed, max_size=max_size), NEWLINES).map(
        lambda parts: parts[1].join(parts[0])
    )


def spoil(text: str, extra: bytes) -> bytes:
    """``text`` as UTF-8 with ``extra`` (any bytes, often none) spliced into its middle."""
    data = text.encode("utf-8", "surrogatepass")
    middle = len(data) // 2
    return data[:middle] + extra + data[middle:]


raw = st.one_of(st.just(b""), st.just(b""), st.just(b""), st.binary(min_size=1, max_size=3))
"""Bytes spliced into a file: none three times in four, else any (often not UTF-8)."""
number = st.sampled_from(NUMBERS) | st.floats(allow_nan=True).map(str) | st.text(max_size=4)
HUGE = "7" * 140_000  # beyond the csv module's field size limit


def huge(text: str) -> str:
    """``text``, or :data:`HUGE` for ``"<huge>"`` (so that failures print the short name)."""
    return HUGE if text == "<huge>" else text


def edited(good: list[str], edits: list[tuple[int, str, str]]) -> list[str]:
    """``good`` with each edit ``(where, "set" | "drop" | "add", token)`` applied."""
    out = list(good)
    for at, op, token in edits:
        where = at % (len(out) + 1)
        if op == "add" or not out:
            out.insert(where, huge(token))
        elif op == "drop":
            del out[min(where, len(out) - 1)]
        else:
            out[min(where, len(out) - 1)] = huge(token)
    return out


def mutated(good: list[str], tokens: list[str]) -> st.SearchStrategy[list[str]]:
    """``good`` (a well-formed record's fields or a file's lines) with up to two fields set,
    dropped or added: most records get past the first checks and reach the later ones."""
    token = st.sampled_from(tokens + NUMBERS + JUNK + ["<huge>"]) | number
    edit = st.tuples(st.integers(0, 40), st.sampled_from(["set", "drop", "add"]), token)
    edits = st.just([]) | st.lists(edit, min_size=1, max_size=2)  # half are left well-formed
    return edits.map(lambda chosen: edited(good, chosen))


def fmt_open(task: type, name: str, split: Path, options: dict, policy: str) -> Any:
    fmt = task.format(name)
    ctx = OpenContext(SIZE, BadSamples(policy))  # type: ignore[arg-type]
    dataset = fmt.open(split, "test", fmt.Options.model_validate(options), ctx)
    samples = [dataset[i] for i in range(len(dataset))]
    assert len(samples) == len(dataset) > 0
    return dataset


policies = st.sampled_from(["error", "skip"])


@pytest.fixture(scope="module")
def photos(folder: Path) -> Path:
    """A 12 x 10 photo ``a.png`` (the images the fuzzed lines may name)."""
    save(noise(0), folder / "img" / "a.png")
    return folder / "img"


MTFL_PATHS = ["img\\a.png"] * 4 + ["img/a.png", "img/none.png", "", "a b", "img", "/", "<huge>"]
COORDINATES = ["3", "9", "6", "4", "8", "3", "3", "5", "7", "7"]  # x1..x5 y1..y5 in 12 x 10
mtfl_lines = st.tuples(
    st.sampled_from(MTFL_PATHS),
    mutated(COORDINATES, ["4", "6", "40", "-3", "nan", "inf"]),
    mutated(["1", "2", "2", "3"], ["nan", "inf", "7", "0", "1.5", "x"]),
).map(lambda parts: " ".join([huge(parts[0]), *parts[1], *parts[2]]))


@FUZZ
@given(text=lines_of(mtfl_lines), extra=raw, policy=policies)
@example(text="img\\a.png 3 9 6 4 8 3 3 5 7 7 nan 2 2 3", extra=b"", policy="error")
def test_mtfl_list(folder, photos, text, extra, policy):
    path = folder / "training.txt"
    path.write_bytes(spoil(text, extra))
    outcome(lambda: fmt_open(LandmarksTask, "mtfl", path, {}, policy), str(folder))


PTS_GOOD = ["version: 1", "n_points: 5", "{", "4 4", "10 4", "7 6", "5 8", "9 8", "}"]
PTS_TOKENS = ["version: 2", "n_points: 4", "n_points: ²", "n_points: " + "9" * 5000, "{", "}"]
PTS_TOKENS += ["nan 4", "4 inf", "4", "4 4 4", "40 4", "0 0", "n_points:", "version:1", "1e999 4"]
pts_slots = st.tuples(
    st.sampled_from(["version: 1", "version:1", "version: 1", "version: 2", "", "n_points: 5"]),
    st.sampled_from(["5", "4", "²", "68", "-5", "5.0", "", "9" * 5000, "05", " 5 ", "٣"]),
    st.sampled_from(["{", "{ ", "", "}", "["]),
    st.lists(st.tuples(number, number).map(" ".join) | st.text(max_size=12), max_size=7),
    st.sampled_from(["}", "", "{", "} x"]),
).map(lambda p: "\n".join([p[0], f"n_points: {p[1]}", p[2], *p[3], p[4]]))
pts_files = mutated(PTS_GOOD, PTS_TOKENS).map("\n".join) | pts_slots


@FUZZ
@given(
    text=pts_files,
    extra=raw,
    policy=policies,
    crop=st.sampled_from(["face", "points"]),
    one_based=st.booleans(),
)
@example(
    text="version: 1\nn_points: ²\n{\n}", extra=b"", policy="skip", crop="face", one_based=True
)  # found: int("²") raised a ValueError
def test_pts_file(folder, text, extra, policy, crop, one_based):
    split = folder / "pts"
    save(noise(0), split / "a.png")
    (split / "a.pts").write_bytes(spoil(text, extra))
    options = {"points": 5, "eyes": [[0], [1]], "crop": crop, "one_based": one_based}
    outcome(lambda: fmt_open(LandmarksTask, "pts", split, options, policy), str(split))


CSV_PATHS = ["img/a.png"] * 4 + ['"img/a.png"', "img/none.png", "", '"img/a', "image", "<huge>"]
csv_lines = st.tuples(
    st.sampled_from(CSV_PATHS), mutated(COORDINATES, ['"3"', '"', '""', "40", "nan", "x0"])
).map(lambda parts: ",".join([huge(parts[0]), *parts[1]]))


@FUZZ
@given(
    header=st.sampled_from(["", "image,x0,y0\n", "a\n", '"\n', "image," + "x," * 9 + "y\n"]),
    text=lines_of(csv_lines),
    extra=raw,
    policy=policies,
)
@example(header="", text="img/a.png," + HUGE, extra=b"", policy="skip")  # found: csv.Error
def test_landmark_csv(folder, photos, header, text, extra, policy):
    path = folder / "points.csv"
    path.write_bytes(spoil(header + text, extra))
    options = {"points": 5, "eyes": [[0], [1]]}
    outcome(lambda: fmt_open(LandmarksTask, "csv", path, options, policy), str(folder))


FER_HEADERS = ["emotion,pixels,Usage"] * 3 + ["Usage,pixels,emotion", "emotion,pixels", ""]
GREY = ["0", "128", "255", "256", "-1", "3.5", "99999999999999999999", "1e3", "", "٣"]
FER_TOKENS = ["0", "6", "7", "-1", "3.0", " 3", "PrivateTest ", '"PrivateTest"', "Training"]
fer_rows = (
    st.tuples(
        st.sampled_from(["3", "0", "6", "7", "-1", "", "x"]),
        mutated(["1", "2", "3", "4"], GREY).map(" ".join),
        st.sampled_from(["PrivateTest", "PrivateTest", "Training", "", "<huge>"]),
    )
    .flatmap(lambda row: mutated(list(row), FER_TOKENS))
    .map(lambda fields: ",".join(huge(field) for field in fields))
)


@FUZZ
@given(
    header=st.sampled_from(FER_HEADERS),
    text=lines_of(fer_rows),
    extra=raw,
    policy=policies,
)
@example(
    header="emotion,pixels,Usage",
    text="3,1 2 99999999999999999999 4,PrivateTest",
    extra=b"",
    policy="error",
)  # found: OverflowError
@example(
    header="emotion,pixels,Usage", text="3,1 2 3 4,Training", extra=b"\xff", policy="skip"
)  # found: UnicodeDecodeError
@example(
    header="emotion,pixels,Usage", text="3,1 2 3 4," + HUGE, extra=b"", policy="skip"
)  # found: csv.Error
def test_fer2013_csv(folder, header, text, extra, policy):
    path = folder / "fer2013.csv"
    path.write_bytes(spoil(header + "\n" + text, extra))
    outcome(lambda: fmt_open(EmotionTask, "fer2013-csv", path, {}, policy), str(path))


@pytest.fixture(scope="module")
def helen_root(folder: Path) -> Path:
    """A Helen root with the face ``s0`` and a CelebAMask-HQ root with the photo ``s0``."""
    helen_sample(folder / "helen", "s0", 0)
    save(noise(0), folder / "celeba" / "CelebA-HQ-img" / "s0.png")
    save(index_mask(), folder / "celeba" / "CelebAMask-HQ-mask" / "s0.png")
    return folder / "helen"


HELEN_LINES = ["1 , s0", "s0", "1,s0", "x , s0", "² , s0", "1 , s0 , 2", "1 , ", " , s0"]
HELEN_LINES += ["../helen/s0", "s0 s0", "none", "/s0", "s0\x00", "1 , images", "s0.png", ". ", ".."]
helen_lines = st.sampled_from(HELEN_LINES)


@FUZZ
@given(text=lines_of(helen_lines | token_text(JUNK)), extra=raw, policy=policies)
def test_helen_list(helen_root, text, extra, policy):
    path = helen_root / "list.txt"
    path.write_bytes(spoil(text, extra))
    outcome(lambda: fmt_open(ParsingTask, "helen", path, {}, policy), str(helen_root))


celeba_lines = st.sampled_from(
    ["s0", "s0.png", "s0.jpg", "s0.PNG", "s0.txt", "none", "/", ".png", "../celeba/s0", "s 0"]
)


@FUZZ
@given(text=lines_of(celeba_lines | token_text(JUNK)), extra=raw, policy=policies)
def test_celebamask_list(folder, helen_root, text, extra, policy):
    path = folder / "celeba" / "list.txt"
    path.write_bytes(spoil(text, extra))
    outcome(lambda: fmt_open(ParsingTask, "celebamask", path, {}, policy), str(path.parent))


@FUZZ
@given(content=st.binary(max_size=200) | st.text().map(lambda t: t.encode()), policy=policies)
@example(content=b"a\n\xff\nb", policy="skip")
def test_read_lines_on_raw_bytes(folder, content, policy):
    path = folder / "raw.txt"
    path.write_bytes(content)
    bad = BadSamples(policy)  # type: ignore[arg-type]
    lines = outcome(lambda: read_lines(path, "list", bad), str(path))
    if isinstance(lines, DatasetError):
        assert policy == "error" and "not UTF-8" in str(lines)
        return
    numbers = [line.number for line in lines]
    assert numbers == sorted(set(numbers))
    assert all(line.text == line.text.strip() and line.text for line in lines)
    assert all("\n" not in line.text and "\r" not in line.text for line in lines)
    text = content.decode("utf-8", "replace")
    assert len(lines) + bad.count <= text.count("\n") + text.count("\r") + 1
    assert all(str(path) in reason and "not UTF-8" in reason for reason in bad.reasons)


# ---- images ----------------------------------------------------------------------------------


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    noise(1).save(buffer, format=fmt)
    return buffer.getvalue()


IMAGES = {fmt: image_bytes(fmt) for fmt in ("PNG", "JPEG", "BMP", "GIF")}


@FUZZ
@given(
    fmt=st.sampled_from(sorted(IMAGES)),
    changes=st.lists(
        st.tuples(st.integers(0, 40) | st.integers(0, 10_000), st.integers(0, 255)), max_size=6
    ),
    cut=st.integers(0, 10_000) | st.none(),
)
@example(fmt="PNG", changes=[(35, 0)], cut=None)  # found: SyntaxError("broken PNG file")
@example(fmt="BMP", changes=[(21, 127)], cut=None)  # found: a DecompressionBombError
def test_corrupted_image_bytes(folder, fmt, changes, cut):
    data = bytearray(IMAGES[fmt])
    for at, value in changes:
        data[at % len(data)] = value
    path = folder / f"corrupt.{fmt.lower()}"
    path.write_bytes(bytes(data[:cut]))
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 1 << 20  # a header spoiled to claim a huge image is no bomb here
    try:
        outcome(lambda: image_size(path), str(path))
        outcome(lambda: open_image(path), str(path))
    finally:
        Image.MAX_IMAGE_PIXELS = limit
