"""A key-value table in one SQLite file that many processes share: the caches of detected faces
(:mod:`ifan.data.face_boxes`) and of file digests (:mod:`ifan.data.file_digests`).

The ranks of a torchrun start open it at once: every access holds an exclusive lock on a file
beside it, so that no process ever meets a locked database. A file that is not a database (damaged,
or something else's) is started afresh with a warning: what it held can always be computed again.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

CHUNK = 500
"""Keys per query (SQLite limits a statement's parameters)."""


STALE_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'items'"
"""Tables an earlier ifan left in the file (the detections keyed by path and modification time,
before they were keyed by content): nothing reads them, so opening the file drops them."""


class SharedTable:
    """``key -> value`` strings in the SQLite file ``path``; ``what`` names it in the warning
    when the file cannot be read, and ``then`` says what that costs."""

    def __init__(self, path: Path, what: str, then: str):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = self.path.with_name(self.path.name + ".lock")
        with self.locked():
            try:
                self.db = self._connect()
            except sqlite3.DatabaseError as error:
                warnings.warn(
                    f"{self.path}: {what} cannot be read ({error}); it is started afresh ({then})",
                    stacklevel=3,
                )
                self.path.unlink()
                self.db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60)
        try:
            with db:
                db.execute("CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, value TEXT)")
                db.execute("SELECT count(*) FROM items").fetchone()
                stale = db.execute(STALE_TABLES).fetchall()
                for (name,) in stale:
                    db.execute(f'DROP TABLE "{name}"')
            if stale:
                db.execute("VACUUM")  # give their space back, once
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Held around every access."""
        with flock(self.lock):
            yield

    def get(self, keys: Sequence[str]) -> dict[str, str]:
        """The stored values of those ``keys`` that are stored."""
        found: dict[str, str] = {}
        with self.locked():
            for start in range(0, len(keys), CHUNK):
                chunk = list(keys[start : start + CHUNK])
                marks = ",".join("?" * len(chunk))
                query = f"SELECT key, value FROM items WHERE key IN ({marks})"
                found.update(self.db.execute(query, chunk))
        return found

    def put(self, items: dict[str, str]) -> None:
        """Store these values (replacing what was there)."""
        with self.locked(), self.db:
            self.db.executemany("INSERT OR REPLACE INTO items VALUES (?, ?)", items.items())

    def close(self) -> None:
        self.db.close()


@contextlib.contextmanager
def flock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if need be) across processes."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
