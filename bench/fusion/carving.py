"""UTKFace's test split, carved by file: a file is a test file when the SHA-256 of its name falls
in the first ``TEST_FRACTION``, so its side depends on its name alone; the three UTKFace tasks
read folders of symbolic links to the carved files, ``WORK/<scale>/utkface/{train,test}``."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from bench.fusion.design import TEST_FRACTION, Scale


def unit_hash(name: str) -> float:
    """A number in [0, 1) drawn from a file name alone (SHA-256), so a file's split does not
    depend on which other files there are."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:12], 16) / 16**12


def carve(names: list[str], fraction: float, limit: int | None) -> tuple[list[str], list[str]]:
    """``(train, test)`` of file ``names``: test is every name whose :func:`unit_hash` is below
    ``fraction``, at most the ``limit`` of them with the smallest (a quick scale's subset of the
    full test split); train is every other name, so it never holds a test file of any scale."""
    held = sorted((n for n in names if unit_hash(n) < fraction), key=unit_hash)
    test = sorted(held[:limit] if limit is not None else held)
    train = sorted(set(names) - set(held))
    return train, test


def utkface_split(data: Path, scale: Scale) -> dict[str, Any]:
    """The carving of ``crop_part1``: its train and test file names and a digest of them."""
    from ifan.data.utkface import utkface_images

    source = data / "utkface" / "crop_part1"
    train, test = carve([p.name for p in utkface_images(source)], TEST_FRACTION, scale.test_files)
    digest = hashlib.sha256("\n".join(["train", *train, "test", *test]).encode()).hexdigest()
    return {"source": str(source.resolve()), "train": train, "test": test, "digest": digest[:16]}


def make_utkface_folders(split: dict[str, Any], folder: Path) -> dict[str, Path]:
    """Folders of symbolic links to the carved files, ``folder/train`` and ``folder/test``
    (made again only when the carving changed); the two folders, by split name."""
    record = folder / "carving.json"
    summary = {"source": split["source"], "digest": split["digest"]}
    paths = {name: folder / name for name in ("train", "test")}
    if record.exists() and json.loads(record.read_text()) == summary:
        return paths
    if folder.exists():
        shutil.rmtree(folder)
    for name, path in paths.items():
        path.mkdir(parents=True)
        for file in split[name]:
            (path / file).symlink_to(Path(split["source"]) / file)
    record.write_text(json.dumps(summary))
    return paths
