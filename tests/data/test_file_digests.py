"""File digests: a file is read once while it is unchanged, again when its bytes may have changed;
the keys built on them (prepared copies) survive a dataset laid out afresh."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from ifan.data import file_digests as digests_module
from ifan.data.file_digests import file_digests
from ifan.data.preparation import records_digest


@pytest.fixture
def reads(monkeypatch):
    """The files whose bytes were read."""
    seen: list[str] = []
    real = digests_module._read_digest

    def counting(path: Path) -> str:
        seen.append(path.name)
        return real(path)

    monkeypatch.setattr(digests_module, "_read_digest", counting)
    return seen


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_digests_are_the_sha256_of_the_bytes_and_read_once(tmp_path, reads):
    a = write(tmp_path / "a.jpg", b"first")
    b = write(tmp_path / "b.jpg", b"second" * 300_000)  # more than one read block
    table = tmp_path / "digests.sqlite"
    expected = [
        hashlib.sha256(b"first").hexdigest(),
        hashlib.sha256(b"second" * 300_000).hexdigest(),
    ]
    assert file_digests([a, b], table) == expected
    assert file_digests([b, a, a], table) == [expected[1], expected[0], expected[0]]
    assert reads == ["a.jpg", "b.jpg"]  # the second call read nothing
    assert file_digests([], tmp_path / "unopened.sqlite") == []
    assert not (tmp_path / "unopened.sqlite").exists()


def test_a_changed_stamp_reads_the_file_again(tmp_path, reads):
    a = write(tmp_path / "a.jpg", b"first")
    table = tmp_path / "digests.sqlite"
    file_digests([a], table)
    stat = a.stat()
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert file_digests([a], table) == [hashlib.sha256(b"first").hexdigest()]
    write(a, b"other")
    assert file_digests([a], table) == [hashlib.sha256(b"other").hexdigest()]
    assert reads == ["a.jpg", "a.jpg", "a.jpg"]


def test_a_missing_file_raises_and_a_damaged_memo_starts_afresh(tmp_path):
    table = write(tmp_path / "digests.sqlite", b"not a database" * 100)
    with pytest.raises(FileNotFoundError):
        file_digests([tmp_path / "gone.jpg"], tmp_path / "fresh.sqlite")
    a = write(tmp_path / "a.jpg", b"first")
    with pytest.warns(UserWarning, match=r"the cache of file digests cannot be read"):
        assert file_digests([a], table) == [hashlib.sha256(b"first").hexdigest()]


def test_a_split_laid_out_afresh_keeps_its_key_and_changed_bytes_change_it(tmp_path):
    """What decides whether a prepared copy is rebuilt: new times (the same folder copied in
    again) keep it, a changed byte does not, and a missing file is part of the key too."""
    source = tmp_path / "data"
    paths = [write(source / f"{i}.jpg", bytes([i]) * 100) for i in range(3)]
    records = [(path, i) for i, path in enumerate(paths)]
    before = records_digest(records)
    copy = tmp_path / "copy"
    shutil.copytree(source, copy, copy_function=shutil.copy)  # new inodes and times
    shutil.rmtree(source)
    copy.rename(source)
    assert records_digest(records) == before
    write(paths[1], b"changed")
    changed = records_digest(records)
    assert changed != before
    paths[2].unlink()
    assert records_digest(records) not in (before, changed)
