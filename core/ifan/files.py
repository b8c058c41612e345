"""Writing files so that nothing is lost: a whole new file or the old one, never a part.

Checkpoints, the metrics log and exported models are written through :func:`write_atomically`;
:func:`write_failure` turns the operating system's refusal into a message that says what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path


def fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable; POSIX only, and best effort (the file itself is
    synced before the rename)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, sync it, then rename it onto ``path``.

    A process killed at any moment leaves either the old ``path`` or the new one; it may leave the
    temporary file (``.<name>.tmp-<pid>``), which no reader takes for the real one. An
    ``OSError`` (a full disk, say) removes the temporary file and is raised as it is.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_folder(path.parent)


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MiB" if count >= 2**20 else f"{count} bytes"


_NO_SPACE = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file is larger than this process may write (the file-size limit, ulimit -f)",
}


def write_failure(what: str, path: Path, size: int, exc: Exception, kept: str = "") -> str:
    """Why writing ``what`` (``"checkpoint"``, ...) to ``path``, ``size`` bytes, failed, what is
    still there (``kept``, a sentence) and what to do about it."""
    if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
        reason = _NO_SPACE[exc.errno]
        if exc.errno == errno.EFBIG:
            advice = f" Raise the limit to at least {_size(size)} and write it again."
        else:
            advice = f" Free at least {_size(size)} on that disk and write it again."
    else:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        advice = ""
    return f"cannot write {what} {path}: {reason}.{' ' + kept if kept else ''}{advice}"


def cache_folder() -> Path:
    """Where ifan keeps what it can always compute again (detected faces, prepared datasets):
    ``$IFAN_CACHE``, else ``$XDG_CACHE_HOME/ifan``, else ``~/.cache/ifan``. Deleting it is safe."""
    if os.environ.get("IFAN_CACHE"):
        return Path(os.environ["IFAN_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "ifan"
