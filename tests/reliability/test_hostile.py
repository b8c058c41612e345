"""Hostile files: what ifan refuses to read, and that refusing runs nothing.

Guarantees tested here:

- a checkpoint carrying a pickled payload, in every disguise in :data:`CHECKPOINTS` (torch.save
  files, pickles of every protocol, zips holding a pickle, safetensors files with a forged,
  absurd or booby-trapped header or metadata), is refused by ``ifan.load``, ``ifan eval``,
  ``ifan predict`` and ``ifan train --resume`` with an ``error:`` line and exit 2, never a
  traceback, and the payload never runs (the file it would create never appears);
- a YAML manifest with a tag that would construct an object, in every form in
  :data:`YAML_TAGS`, or that would blow up through aliases or nesting (:data:`YAML_BOMBS`), is
  refused naming the file and the line, at once, and runs nothing; anchors, aliases and merge
  keys that stay small still work;
- an absurd value (:data:`ABSURD`), written in a manifest or given with ``--set``, is refused by
  ``ifan validate`` (exit 2) with a message that states the limit.

The module-level tables count the cases (hostile files refused) for the documentation.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import save

import ifan
from ifan.cli.main import main
from ifan.errors import IfanError, ManifestError
from ifan.manifest import load_manifest
from ifan.manifest.document import MAX_YAML_VALUES
from ifan.runs.checkpoint import CheckpointError, load_checkpoint
from ifan.runs.meta import run_meta
from ifan_tasks.synthetic.writer import manifest_text


class _Payload:
    """Unpickling this creates ``marker``: the kind of code a malicious file runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


# ---------------------------------------------------------------------------------------------
# Checkpoints


def _pickled(marker: Path, protocol: int) -> bytes:
    return pickle.dumps({"model": _Payload(marker)}, protocol=protocol)


def _torch_saved(marker: Path, zipped: bool = True) -> bytes:
    buffer = io.BytesIO()
    torch.save({"model": _Payload(marker)}, buffer, _use_new_zipfile_serialization=zipped)
    return buffer.getvalue()


def _zip_with_data_pkl(marker: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", _pickled(marker, 2))
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def _raw_header(header: bytes, rest: bytes = b"", size: int | None = None) -> bytes:
    """A safetensors-shaped file: the header's length (or ``size``), the header, then ``rest``."""
    return struct.pack("<Q", len(header) if size is None else size) + header + rest


def _safetensors(metadata: dict[str, str], tensors: dict | None = None) -> bytes:
    return save(tensors or {"model/w": torch.ones(2)}, metadata)


def _ifan_metadata(meta: str, optimizer: str = "null") -> dict[str, str]:
    return {"ifan.format_version": "1", "ifan.meta": meta, "ifan.optimizer": optimizer}


def _run_meta(marker: Path, manifest: dict | None = None) -> dict:
    """The metadata of a real run (the synthetic faces' manifest, validated)."""
    path = marker.parent / "manifest.toml"
    path.write_text(manifest_text(0, 32), encoding="utf-8")
    meta = run_meta(load_manifest(path), {"step": 1, "consumed": {}})
    if manifest is not None:
        meta["manifest"] = manifest
    return meta


PICKLE = "is a pickle-based torch checkpoint (torch.save) or a pickle; ifan refuses to load it"
NOT_SAFETENSORS = "is not a safetensors file (truncated or corrupt?)"
CORRUPT = "is truncated or corrupt"

CHECKPOINTS: dict[str, tuple[Callable[[Path], bytes], str | None, str]] = {
    # disguise: (the file's bytes given the marker its payload creates,
    #            what load_checkpoint says (None: it loads, the payload inert),
    #            what ifan.load and the commands say)
    "torch.save zip renamed .safetensors": (_torch_saved, PICKLE, PICKLE),
    "torch.save legacy format": (lambda m: _torch_saved(m, zipped=False), PICKLE, PICKLE),
    **{
        f"pickle protocol {p}": ((lambda m, p=p: _pickled(m, p)), PICKLE, PICKLE)
        for p in range(pickle.HIGHEST_PROTOCOL + 1)
    },
    "zip holding data.pkl": (_zip_with_data_pkl, PICKLE, PICKLE),
    "header length 2**62, then a pickle": (
        lambda m: _raw_header(b'{"a":1}', _pickled(m, 2), size=2**62),
        NOT_SAFETENSORS,
        NOT_SAFETENSORS,
    ),
    "header length past the end of the file": (
        lambda m: _raw_header(b"{}", _pickled(m, 2), size=10**6),
        NOT_SAFETENSORS,
        NOT_SAFETENSORS,
    ),
    "header not JSON, then a pickle": (
        lambda m: _raw_header(b"{ not json " + _pickled(m, 0)),
        CORRUPT,
        CORRUPT,
    ),
    "header nested 100000 deep": (
        lambda m: _raw_header(b'{"__metadata__":{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}}"),
        CORRUPT,
        CORRUPT,
    ),
    "tensor said to reach past the end of the file": (
        lambda m: _raw_header(
            json.dumps(
                {"model/w": {"dtype": "F32", "shape": [10**6], "data_offsets": [0, 4 * 10**6]}}
            ).encode(),
            _pickled(m, 2),
        ),
        CORRUPT,
        CORRUPT,
    ),
    "tensor of 2**40 x 2**40 values": (
        lambda m: _raw_header(
            json.dumps(
                {"model/w": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 8]}}
            ).encode(),
            bytes(8),
        ),
        CORRUPT,
        CORRUPT,
    ),
    "a pickle after the tensors": (
        lambda m: _safetensors(_ifan_metadata("{}")) + _pickled(m, 2),
        CORRUPT,
        CORRUPT,
    ),
    "metadata that is a pickle": (
        lambda m: _safetensors(_ifan_metadata(_pickled(m, 0).decode("latin-1"))),
        "has inconsistent metadata",
        "has inconsistent metadata",
    ),
    "metadata nested 100000 deep": (
        lambda m: _safetensors(_ifan_metadata("[" * 100_000 + "]" * 100_000)),
        "has metadata nested too deeply to read",
        "has metadata nested too deeply to read",
    ),
    "optimizer state naming a tensor the file lacks": (
        lambda m: _safetensors(_ifan_metadata("{}", json.dumps({"__tensor__": "../../" + str(m)}))),
        "has inconsistent metadata",
        "has inconsistent metadata",
    ),
    "metadata carrying a __reduce__ recipe": (
        lambda m: _safetensors(
            _ifan_metadata(json.dumps({"__reduce__": ["builtins.open", [str(m), "w"]]}))
        ),
        None,
        "was not written by `ifan train`: its metadata has no manifest (dict)",
    ),
    "manifest carrying a __reduce__ recipe": (
        lambda m: _safetensors(
            _ifan_metadata(
                json.dumps(_run_meta(m, {"__reduce__": ["builtins.open", [str(m), "w"]]}))
            )
        ),
        None,
        "__reduce__: unknown key",
    ),
    "manifest carrying a pickle as a string": (
        lambda m: _safetensors(
            _ifan_metadata(
                json.dumps(_run_meta(m, {"model": {"backbone": _pickled(m, 0).decode("latin-1")}}))
            )
        ),
        None,
        "model.backbone = ",
    ),
    "a pickle as a uint8 tensor": (
        lambda m: _safetensors(
            _ifan_metadata(json.dumps(_run_meta(m))),
            {"model/payload": torch.frombuffer(bytearray(_pickled(m, 2)), dtype=torch.uint8)},
        ),
        None,
        "its weights do not fit the network its manifest describes",
    ),
}
"""Every disguise of a hostile checkpoint (named after what it is)."""


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """The file a payload would create if it ran."""
    return tmp_path / "pwned"


def _hostile(case: str, folder: Path, marker: Path) -> Path:
    path = folder / "evil.safetensors"
    path.write_bytes(CHECKPOINTS[case][0](marker))
    return path


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photo") / "face.png"
    Image.new("RGB", (40, 40), (200, 160, 140)).save(path)
    return path


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_the_payloads_are_live(tmp_path: Path, marker: Path, protocol: int) -> None:
    """Control: unpickled, the payloads do run (so their markers staying absent means something)."""
    pickle.loads(_pickled(marker, protocol))["model"].close()
    assert marker.exists()
    marker.unlink()
    torch.load(io.BytesIO(_torch_saved(marker)), weights_only=False)["model"].close()
    assert marker.exists()


@pytest.mark.parametrize("case", CHECKPOINTS)
def test_a_hostile_checkpoint_is_refused_by_load_checkpoint(
    tmp_path: Path, marker: Path, case: str
) -> None:
    path = _hostile(case, tmp_path, marker)
    refusal = CHECKPOINTS[case][1]
    if refusal is None:
        loaded = load_checkpoint(path)  # plain data: the payload is text, and stays text
        assert isinstance(loaded.meta, dict)
    else:
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        assert str(path) in str(info.value) and refusal in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("case", CHECKPOINTS)
def test_a_hostile_checkpoint_is_refused_by_ifan_load_and_every_command(
    tmp_path: Path, marker: Path, photo: Path, capsys: pytest.CaptureFixture, case: str
) -> None:
    path = _hostile(case, tmp_path, marker)
    refusal = CHECKPOINTS[case][2]
    with pytest.raises(IfanError) as info:
        ifan.load(path, device="cpu")
    assert refusal in str(info.value)
    out = tmp_path / "out"
    commands = {
        "eval": ["eval", str(path), "--device", "cpu"],
        "predict": ["predict", str(path), str(photo), "--out", str(out), "--no-detect"],
    }
    for command, args in commands.items():
        assert main(args) == 2, command
        error = capsys.readouterr().err
        assert error.startswith("error: ") and refusal in error, (command, error)
        assert "Traceback" not in error
    assert not out.exists() or not any(out.iterdir())  # nothing predicted
    # As the latest checkpoint of a run folder: skipped when unreadable, else refused on use.
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    path.rename(run / "checkpoints" / "step-00000001.safetensors")
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "Traceback" not in error
    if CHECKPOINTS[case][1] is not None and "metadata" not in CHECKPOINTS[case][1]:
        assert error == f"error: {run}: the run folder has no checkpoint yet" + (
            " (checkpoints/*.safetensors)\n"
        )  # its header does not read: never taken for a checkpoint
    assert not marker.exists()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["pickle protocol 2", "torch.save zip renamed .safetensors"])
def test_the_real_commands_refuse_a_pickle_without_a_traceback(
    tmp_path: Path, marker: Path, photo: Path, case: str
) -> None:
    path = _hostile(case, tmp_path, marker)
    command = "eval" if case.startswith("pickle") else "predict"
    args = [str(path), "--device", "cpu"]
    if command == "predict":
        args += [str(photo), "--out", str(tmp_path / "out"), "--no-detect"]
    done = subprocess.run(
        [sys.executable, "-m", "ifan", command, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: checkpoint {path} {PICKLE}")
    assert "Traceback" not in done.stderr + done.stdout
    assert not marker.exists()


NOT_REGULAR = ("fifo", "link to /dev/zero", "folder")
"""Paths named like a checkpoint that are no regular file (reading some would never end)."""


@pytest.mark.parametrize("kind", NOT_REGULAR)
def test_what_is_not_a_regular_file_is_never_read_as_a_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture, kind: str
) -> None:
    run = tmp_path / "run"
    path = run / "checkpoints" / "step-00000001.safetensors"
    path.parent.mkdir(parents=True)
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        os.mkfifo(path)  # reading it would block forever
    elif kind == "folder":
        path.mkdir()
    else:
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero here")
        path.symlink_to("/dev/zero")  # reading it would never end
    assert main(["eval", str(run), "--device", "cpu"]) == 2
    assert "the run folder has no checkpoint yet" in capsys.readouterr().err
    assert main(["eval", str(path), "--device", "cpu"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "Traceback" not in error


# ---------------------------------------------------------------------------------------------
# YAML manifests

_TAIL = "tasks:\n  emotion:\n    data: {format: folder, train: emotion/train}\n"

YAML_TAGS: dict[str, tuple[str, int]] = {
    # form: (the manifest, {marker} standing for the payload's file; the line to blame)
    "python/object/apply (builtins.open)": (
        'model:\n  backbone: !!python/object/apply:builtins.open ["{marker}", "w"]\n',
        2,
    ),
    "python/object/apply (os.system)": (
        'train:\n  seed: !!python/object/apply:os.system ["touch {marker}"]\n',
        2,
    ),
    "python/object/apply (subprocess)": (
        'model: !!python/object/apply:subprocess.call [["touch", "{marker}"]]\n',
        1,
    ),
    "python/object/new": ("model: !!python/object/new:argparse.Namespace {{}}\n", 1),
    "python/object": ("model: !!python/object:argparse.Namespace {{x: 1}}\n", 1),
    "python/name": ("model:\n  backbone: !!python/name:os.system\n", 2),
    "python/module": ("model:\n  backbone: !!python/module:os\n", 2),
    "python/str and friends": ("model:\n  backbone: !!python/unicode fc-densenet\n", 2),
    "verbatim tag": (
        'model: !<tag:yaml.org,2002:python/object/apply:os.system> ["touch {marker}"]\n',
        1,
    ),
    "a custom tag": ("model: !ifan/evil {{x: 1}}\n", 1),
    "a tag deep in nested lists": (
        "tasks:\n  emotion:\n    data:\n      format: folder\n      classes:\n"
        '        - [a, [b, [c, !!python/object/apply:os.system ["touch {marker}"]]]]\n',
        6,
    ),
    "a tag on a key": (
        'model:\n  ? !!python/object/apply:os.system ["touch {marker}"]\n  : 1\n',
        2,
    ),
    "a tag behind an alias": (
        'train:\n  seed: &evil !!python/object/apply:os.system ["touch {marker}"]\n'
        "  workers: *evil\n",
        2,
    ),
    "a tag in a merged mapping": (
        "model:\n  <<:\n    backbone: !!python/name:os.system\n  iterations: 1\n",
        3,
    ),
    "!!binary": ("model:\n  backbone: !!binary aWZhbg==\n", 2),
    "!!set": ("model:\n  backbone: !!set {{a, b}}\n", 2),
    "!!omap": ("model: !!omap [{{iterations: 1}}]\n", 1),
    "!!pairs": ("model: !!pairs [{{iterations: 1}}]\n", 1),
    "!!timestamp": ("train:\n  seed: !!timestamp 2001-12-14t21:59:43.10-05:00\n", 2),
}
"""Every form of a YAML tag that would construct an object (all refused, file and line named)."""

_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
_MERGE_BOMB = "l0: &l0 {k0: 1, k1: 2}\n" + "".join(
    f"l{i + 1}: &l{i + 1}\n  <<: [{', '.join([f'*l{i}'] * 9)}]\n  k{i + 2}: 1\n" for i in range(8)
)

YAML_BOMBS: dict[str, tuple[str, str, str, int | None]] = {
    # bomb: (file name, its text, what the refusal says, the line to blame or None)
    "billion laughs": (
        "m.yaml",
        _LAUGHS,
        f"values through aliases (the whole document to 490329064); a manifest may expand to "
        f"at most {MAX_YAML_VALUES} values",
        6,
    ),
    "merge-key bomb": (
        "m.yaml",
        _MERGE_BOMB,
        f"a manifest may expand to at most {MAX_YAML_VALUES} values",
        15,
    ),
    "a list that contains itself": (
        "m.yaml",
        "model: &m [1, *m]\n",
        "this value contains itself through an alias",
        1,
    ),
    "a mapping that contains itself": (
        "m.yaml",
        "model: &m {iterations: 1, again: *m}\n",
        "this value contains itself through an alias",
        1,
    ),
    "YAML nested 10000 deep": (
        "m.yaml",
        "model: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "values are nested too deeply to read",
        None,
    ),
    "TOML nested 10000 deep": (
        "m.toml",
        "x = " + "[" * 10_000 + "]" * 10_000 + "\n",
        "values are nested too deeply to read",
        None,
    ),
}
"""Small files that would become huge, cyclic or too deep once read (all refused at once)."""


def _problem(path: Path, capsys: pytest.CaptureFixture) -> str:
    """The one problem ``ifan validate`` reports (exit 2), without the ``error:`` heading."""
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    heading, *problems = error.rstrip("\n").split("\n")
    assert heading == f"error: {path}: 1 problem", error
    assert len(problems) == 1 and problems[0].startswith("  - "), error
    return problems[0].removeprefix("  - ")


@pytest.mark.parametrize("form", YAML_TAGS)
def test_a_yaml_tag_that_constructs_an_object_is_refused_with_the_file_and_line(
    tmp_path: Path, marker: Path, capsys: pytest.CaptureFixture, form: str
) -> None:
    text, line = YAML_TAGS[form]
    path = tmp_path / "m.yaml"
    path.write_text(text.format(marker=marker), encoding="utf-8")
    problem = _problem(path, capsys)
    assert problem.startswith(f"{path}:{line}: could not determine a constructor for the tag ")
    assert problem.endswith(
        "manifests are plain data, and YAML tags that construct objects are refused"
    )
    with pytest.raises(ManifestError):
        load_manifest(path)
    assert not marker.exists()


def test_the_yaml_payloads_are_live(tmp_path: Path, marker: Path) -> None:
    """Control: an unsafe YAML loader does run them."""
    text, _ = YAML_TAGS["python/object/apply (builtins.open)"]
    yaml.unsafe_load(text.format(marker=marker))["model"]["backbone"].close()
    assert marker.exists()


@pytest.mark.parametrize("bomb", YAML_BOMBS)
def test_a_manifest_that_would_blow_up_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture, bomb: str
) -> None:
    name, text, says, line = YAML_BOMBS[bomb]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    problem = _problem(path, capsys)
    assert says in problem
    if line is not None:
        assert problem.startswith(f"{path}:{line}: ")


def test_small_anchors_aliases_and_merge_keys_still_work(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "tasks:\n"
        "  emotion: &common\n"
        "    batch_size: 8\n"
        "    data: {format: folder, train: emotion/train}\n"
        "  landmarks:\n"
        "    <<: *common\n"
        "    data: {format: csv, train: l.csv, points: 5, eyes: [[0], [1]]}\n"
        "train:\n"
        "  out_dir: 2024-01-01\n",  # a date stays a string
        encoding="utf-8",
    )
    manifest = load_manifest(path)
    assert manifest.tasks["landmarks"].batch_size == manifest.tasks["emotion"].batch_size == 8
    assert manifest.tasks["landmarks"].data.format == "csv"
    assert manifest.train.out_dir == tmp_path / "2024-01-01"


# ---------------------------------------------------------------------------------------------
# Absurd values

ABSURD: list[tuple[str, object, str]] = [
    # (key, value, what the refusal says: the limit)
    ("model.input_size", 1_000_000, "less than or equal to 1024"),
    ("model.input_size", 10**100, "less than or equal to 1024"),
    ("model.input_size", 0, "greater than or equal to 32"),
    ("model.input_size", -64, "greater than or equal to 32"),
    ("model.iterations", 10_000, "less than or equal to 8"),
    ("model.iterations", -1, "greater than or equal to 0"),
    ("model.feedback_channels", 1_000_000, "less than or equal to 256"),
    ("model.feedback_channels", 0, "greater than or equal to 1"),
    ("tasks.emotion.batch_size", -1, "greater than or equal to 1"),
    ("tasks.emotion.batch_size", 0, "greater than or equal to 1"),
    ("tasks.emotion.batch_size", 10**9, "less than or equal to 4096"),
    ("train.pretrain_epochs", 10**9, "less than or equal to 100000"),
    ("train.finetune_epochs", 10**9, "less than or equal to 100000"),
    ("train.finetune_epochs", -1, "greater than or equal to 0"),
    ("train.finetune_rounds", 10**12, "less than or equal to 10000000"),
    ("train.finetune_rounds", 0, "greater than or equal to 1"),
    ("train.checkpoint_every", 10**12, "less than or equal to 10000000"),
    ("train.checkpoint_every", -1, "greater than or equal to 0"),
    ("train.keep_checkpoints", 0, "greater than or equal to 1"),
    ("train.keep_checkpoints", 10**9, "less than or equal to 1000"),
    ("train.workers", 10**6, "less than or equal to 64"),
    ("train.seed", -1, "greater than or equal to 0"),
    ("train.seed", 2**64, "less than or equal to 4294967295"),
    ("train.lr_pretrain", -1e-3, "greater than 0"),
    ("train.lr_pretrain", 0.0, "greater than 0"),
    ("train.lr_pretrain", 1e9, "less than or equal to 10"),
    ("train.lr_pretrain", math.nan, "a finite number"),
    ("train.lr_finetune", math.inf, "a finite number"),
    ("train.lr_finetune_end", -math.inf, "a finite number"),
    ("train.weight_decay", math.nan, "a finite number"),
    ("train.weight_decay", 2.0, "less than or equal to 1"),
    ("tasks.emotion.loss_weight", math.nan, "a finite number"),
    ("tasks.emotion.loss_weight", 1e300, "less than or equal to 1000000"),
    ("tasks.emotion.loss_weight", -1.0, "greater than or equal to 0"),
    ("tasks.emotion.data.val_fraction", 0.0, "greater than 0"),
    ("tasks.emotion.data.val_fraction", 1.0, "less than 1"),
    ("tasks.emotion.data.val_fraction", math.nan, "a finite number"),
]
"""Absurd values and the limit each refusal must state."""

_TABLES = ("model", "train", "tasks.emotion", "tasks.emotion.data")
_BASE = {
    "model": {"input_size": 32},
    "train": {"pretrain_epochs": 1},
    "tasks.emotion": {"batch_size": 8},
    "tasks.emotion.data": {"format": "folder", "train": "emotion/train"},
}


def _toml(value: object) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return json.dumps(value)


def _absurd_manifest(path: Path, key: str, value: object) -> int:
    """Write the base manifest with ``key = value``; the line of that key."""
    table, _, name = key.rpartition(".")
    lines: list[str] = []
    at = 0
    for header in _TABLES:
        lines.append(f"[{header}]")
        for k, v in _BASE[header].items():
            if not (header == table and k == name):
                lines.append(f"{k} = {_toml(v)}")
        if header == table:
            lines.append(f"{name} = {_toml(value)}")
            at = len(lines)
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return at


@pytest.mark.parametrize(("key", "value", "limit"), ABSURD, ids=lambda v: str(v)[:24])
def test_an_absurd_value_is_refused_stating_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture, key: str, value: object, limit: str
) -> None:
    path = tmp_path / "m.toml"
    line = _absurd_manifest(path, key, value)
    assert _problem(path, capsys) == f"{path}:{line}: {key} = {value!r}: Input should be {limit}"
    # The same value from the command line, on a valid manifest.
    _absurd_manifest(path, "model.iterations", 1)
    assert main(["validate", str(path)]) == 0
    capsys.readouterr()
    given = f"{key}={_toml(value)}"
    assert main(["validate", str(path), "--set", given]) == 2
    error = capsys.readouterr().err
    assert f": {key} = {value!r} (from --set {given}): " in error
    assert error.rstrip("\n").endswith(limit)
