"""Which prepared copy a split reads (:mod:`ifan.data.prepared` stores and checks it): its folder
in the cache, and the key that says when it must be rebuilt.

The folder is named by the task, the split, the split's path, the crop size, the room and the
records it holds, so one setting keeps one copy, and two readings of one split (a training
split at its room, the validation faces carved out of it without room, all of it for
``ifan eval``) keep theirs side by side instead of rebuilding each other's. The key holds
everything the samples depend on: the format and its options, the versions of ifan and of the
task's plugin, the crop size and room, and a digest of the reader's records (with each face's
crop box, so a change of crop rule shows) and of the bytes of every file they name (not their
modification times: a dataset laid out afresh keeps its copy). Any change rebuilds the copy; a
stale one is never read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

import ifan
from ifan.contract import Split
from ifan.data.file_digests import file_digests
from ifan.data.prepared import prepare
from ifan.files import cache_folder
from ifan.manifest.loader import TaskConfig


def prepared_split(
    dataset: Dataset, config: TaskConfig, split: Split, size: int, room: float, progress: bool
) -> Dataset:
    """The prepared copy of ``dataset`` (built now if missing or stale); ``dataset`` itself when
    its reader keeps no records to identify its samples by (it is then read as it is)."""
    records = getattr(dataset, "records", None)
    if records is None:
        return dataset
    source = str(config.data.splits[split])
    held = hashlib.sha256(pickle.dumps(records, protocol=4)).hexdigest()
    name = f"{config.name}-{split}-{_digest(f'{source} {size} {room} {held}')[:12]}"
    key = {
        "task": config.name,
        "format": config.data.format,
        "options": config.data.options.model_dump(mode="json"),
        "source": source,
        "size": size,
        "room": room,
        "ifan": ifan.__version__,
        "plugin": f"{config.entry.distribution} {config.entry.version}",
        "records": records_digest(records),
    }
    label = f"preparing {config.name} {split}" if progress else None
    return prepare(dataset, cache_folder() / "prepared" / name, key, progress=label)


def records_digest(records: Any) -> str:
    """A digest of ``records`` and of the bytes of every file they name
    (:mod:`ifan.data.file_digests`): a dataset laid out afresh, with new modification times and
    the same bytes, keeps its prepared copy."""
    digest = hashlib.sha256(pickle.dumps(records, protocol=4))
    paths = sorted(set(_paths(records)))
    present = [path for path in paths if path.is_file()]
    contents = dict(zip(present, file_digests(present), strict=True))
    for path in paths:
        digest.update(f"{path} {contents.get(path, 'missing')}\n".encode())
    return digest.hexdigest()


def _paths(value: Any):
    """Every :class:`~pathlib.Path` in a structure of tuples, lists, dicts and dataclasses."""
    if isinstance(value, Path):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _paths(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _paths(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _paths(getattr(value, f.name))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
