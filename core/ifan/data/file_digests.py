"""What a data file holds, as a digest of its bytes, read once per change of the file.

A dataset laid out afresh (a cluster job's copy on its scratch disk, an archive unpacked again, a
shared folder mounted anew) gets new modification times, though not one byte changed. The caches
that would then be stale in a key of path, size and time (detected faces, prepared copies) are
keyed by these digests instead, so such a copy costs reading the files once, not finding the faces
and preparing the data again.

A file's digest is remembered in ``<cache>/digests.sqlite`` (:func:`ifan.files.cache_folder`)
with its path, size, modification time and inode: while those stay the same the file is not read
again, so opening a split costs a ``stat`` and a look-up per file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from ifan.data.shared_table import SharedTable
from ifan.files import cache_folder


def _stamp(stat: os.stat_result) -> str:
    return f"{stat.st_size} {stat.st_mtime_ns} {stat.st_ino}"


def _read_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def file_digests(paths: Sequence[Path], table: Path | None = None) -> list[str]:
    """The SHA-256 of each file's bytes (the memo ``table``: ``<cache>/digests.sqlite``). A file
    that cannot be read raises its ``OSError``."""
    if not paths:  # pixels held in memory only: no memo to open
        return []
    memo = SharedTable(
        table or cache_folder() / "digests.sqlite",
        "the cache of file digests",
        "the files are read again",
    )
    try:
        resolved = [str(Path(path).resolve()) for path in paths]
        stamps = {name: _stamp(os.stat(name)) for name in resolved}
        known = memo.get(sorted(stamps))
        digests: dict[str, str] = {}
        fresh: dict[str, str] = {}
        for name, stamp in stamps.items():
            held_stamp, _, digest = known.get(name, "").rpartition(" ")
            if held_stamp != stamp:
                digest = _read_digest(Path(name))
                fresh[name] = f"{stamp} {digest}"
            digests[name] = digest
        if fresh:
            memo.put(fresh)
        return [digests[name] for name in resolved]
    finally:
        memo.close()
