"""Prepared datasets: a split's face crops computed once and read back from a memory-mapped cache.

A task's reader decodes a full photo, crops the face and resizes it, for every sample on every
pass. :func:`prepare` runs the reader once per split and stores what it returned in one folder::

    header.json        format version, the caller's key, N, P, per-key dtype and shape, the byte
                       size of every file, the bad samples skipped and an id of this build
    images.u8          N x P x P x 3 uint8 (height, width, channel), raw, C order
    source_index.i64   N int64: the index in the source dataset each stored sample came from
    <key>.bin          one per target key: N x shape raw values when every sample's value has
                       the same shape, else (a mask of each photo's own size) the values one
                       after the other, with each sample's offset and shape in the header

Why raw pixels and an index rather than JPEG shards (FFCV's raw-pixel mode): reading a sample
is a slice of a memory map, with no decoding at all, and at 64-128 px a face is only 12-48 KB,
so the page cache holds a whole split. The cache is never used stale: when the header's key (the
source files with their sizes and times, the crop rule, the size, the reader's version; the
caller computes it) differs, or a file is missing or of the wrong size, the folder is rebuilt.
A build writes a temporary sibling folder and renames it into place, so a killed build leaves
the old cache or none, and a lock file beside the folder makes concurrent ranks build it once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import json
import math
import os
import re
import shutil
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ifan.data.errors import DatasetError
from ifan.files import fsync_folder, write_failure
from ifan.progress import bar

FORMAT_VERSION = 1

HEADER = "header.json"
IMAGES = "images.u8"
SOURCE_INDEX = "source_index.i64"

_KEY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_BUFFER = 1 << 20
# The errors of writing the copy itself, told apart from an OSError of the source's reader.
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class PreparedDataset(Dataset):
    """``(image uint8 tensor 3 x P x P, target dict[str, Tensor])`` from a prepared folder.

    The arrays are memory-mapped on first access in each process, and the maps are dropped when
    pickled, so the dataset goes to data-loader workers as a path and a header. The image is a
    permuted (not contiguous) view of a copied HWC slice; scale it to float in the model's
    input step. ``source_index[i]`` is the index in the source dataset that sample ``i`` came
    from (bad samples are left out), ``skipped`` the messages of those left out.
    """

    def __init__(self, folder: Path, header: dict[str, Any] | None = None):
        self.folder = Path(folder)
        if header is None:
            try:
                header = _inspect(self.folder)
            except _Stale as stale:
                raise DatasetError(
                    f"{self.folder}: not a usable prepared dataset: {stale.reason}; "
                    "prepare it again"
                ) from None
        self.header = header
        self.size = int(header["size"])
        self.skipped: list[str] = list(header["skipped"])
        self._count = int(header["count"])
        self._arrays: dict[str, np.ndarray] | None = None
        self._ragged = {
            name: (np.asarray(info["offsets"], dtype=np.int64), [tuple(s) for s in info["shapes"]])
            for name, info in header["targets"].items()
            if info["ragged"]
        }

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        arrays = self._open()
        i = self._position(index)
        image = torch.from_numpy(np.array(arrays[IMAGES][i])).permute(2, 0, 1)
        target = {}
        for name in self.header["targets"]:
            values = arrays[name]
            if name in self._ragged:
                offsets, shapes = self._ragged[name]
                value = np.array(values[offsets[i] : offsets[i + 1]]).reshape(shapes[i])
            else:
                value = np.array(values[i])
            target[name] = torch.from_numpy(value)
        return image, target

    def batch(
        self, indices: Sequence[int]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor | list[torch.Tensor]]]:
        """Samples ``indices`` read with one fancy index per array: images B x 3 x P x P uint8,
        targets stacked (a ragged key's values as a list); faster than B ``__getitem__`` calls."""
        arrays = self._open()
        at = np.asarray(indices, dtype=np.int64).reshape(-1)
        if at.size and (at.min() < -self._count or at.max() >= self._count):
            bad = at[(at < -self._count) | (at >= self._count)][0]
            raise IndexError(f"index {bad} is out of range for {self._count} prepared samples")
        at = np.where(at < 0, at + self._count, at)
        images = torch.from_numpy(arrays[IMAGES][at]).permute(0, 3, 1, 2)
        target: dict[str, torch.Tensor | list[torch.Tensor]] = {}
        for name in self.header["targets"]:
            values = arrays[name]
            if name in self._ragged:
                offsets, shapes = self._ragged[name]
                target[name] = [
                    torch.from_numpy(np.array(values[offsets[i] : offsets[i + 1]])).reshape(
                        shapes[i]
                    )
                    for i in at
                ]
            else:
                target[name] = torch.from_numpy(np.asarray(values[at]))
        return images, target

    @property
    def images(self) -> np.ndarray:
        """All images, N x P x P x 3 uint8, memory-mapped (read-only) for whole-batch reads."""
        return self._open()[IMAGES]

    @property
    def source_index(self) -> np.ndarray:
        """For each stored sample, the index in the source dataset it came from (int64, N)."""
        return np.asarray(self._open()[SOURCE_INDEX])

    def target_column(self, key: str) -> np.ndarray | None:
        """Every sample's target ``key`` stacked (N x its shape), read from its column alone with
        no image read; None when the samples have no such target or its shape varies."""
        info = self.header["targets"].get(key)
        if info is None or info["ragged"]:
            return None
        return np.asarray(self._open()[key])

    @property
    def build_id(self) -> str:
        """An id unique to the build that wrote this folder."""
        return str(self.header["build"]["id"])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_arrays"] = None
        return state

    def _position(self, index: int) -> int:
        i = int(index)
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError(f"index {index} is out of range for {self._count} prepared samples")
        return i

    def _open(self) -> dict[str, np.ndarray]:
        """Map the files, then check that the header on disk is still the one this dataset was
        opened with: a rebuild by another process in between would mix two builds' files."""
        if self._arrays is not None:
            return self._arrays
        n, p = self._count, self.size
        shapes = {IMAGES: (np.uint8, (n, p, p, 3)), SOURCE_INDEX: (np.int64, (n,))}
        for name, info in self.header["targets"].items():
            shape = (int(self._ragged[name][0][-1]),) if info["ragged"] else (n, *info["shape"])
            shapes[name] = (np.dtype(info["dtype"]), shape)
        arrays: dict[str, np.ndarray] = {}
        failure = None
        for name, (dtype, shape) in shapes.items():
            file = name if name in (IMAGES, SOURCE_INDEX) else f"{name}.bin"
            try:
                arrays[name] = _map(self.folder / file, dtype, shape)
            except (OSError, ValueError) as exc:  # missing, or shorter than the header says
                failure = f"{file} cannot be mapped ({exc})"
                break
        try:
            current = json.loads((self.folder / HEADER).read_text(encoding="utf-8"))["build"]
        except (OSError, ValueError, KeyError, TypeError):
            current = None
        if current != self.header["build"]:
            raise DatasetError(
                f"{self.folder}: the prepared dataset was rebuilt or removed by another process "
                "after it was opened; prepare it again (restart the run)"
            )
        if failure is not None:
            raise DatasetError(f"{self.folder}: {failure}; prepare it again")
        self._arrays = arrays
        return arrays


def prepare(
    dataset: Any,
    folder: Path,
    key: dict[str, Any],
    *,
    progress: str | None = "preparing",
    workers: int = 0,
) -> PreparedDataset:
    """The prepared copy of ``dataset`` in ``folder``: opened when its header's key equals
    ``key`` and its files are whole; (re)built otherwise.

    ``dataset[i]`` (``dataset.load(dataset.records[i])`` for a record dataset, so that its
    bad-sample policy does not substitute another sample) is ``(image, target)``: a float
    3 x P x P tensor in [0, 1] or a uint8 one, and a dict of tensors. A sample that raises
    :class:`DatasetError` is left out and its message kept in ``skipped``. Processes calling
    this on the same folder at once take turns on ``<folder>.lock``: one builds, the others
    open its result. ``workers`` > 0 reads the samples in that many data-loader processes.
    """
    folder = Path(folder)
    try:
        key = json.loads(json.dumps(key, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the key of prepared dataset {folder} must be JSON-able: {exc}") from None
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder.with_name(folder.name + ".lock")):
        _remove_leftovers(folder)
        if folder.exists():
            try:
                header = _inspect(folder)
                if header["key"] == key:
                    return PreparedDataset(folder, header)
                reason = "the source or the crop rule changed (its key differs)"
            except _Stale as stale:
                reason = stale.reason
            _check_replaceable(folder)
            warnings.warn(f"prepared dataset {folder} is rebuilt: {reason}", stacklevel=2)
        _build(dataset, folder, key, progress, workers)
        return PreparedDataset(folder)


class _Stale(Exception):
    """Why a prepared folder cannot be used as it is."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing, never removed: removing a lock
    file lets two processes lock two different files)."""
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _remove_leftovers(folder: Path) -> None:
    """Remove the temporary and replaced folders of builds that were killed; called under the
    lock, when no build of ``folder`` can be running."""
    name = glob.escape(folder.name)
    for pattern in (f".{name}.tmp-*", f".{name}.old-*"):
        for path in folder.parent.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)


def _check_replaceable(folder: Path) -> None:
    """Refuse to replace a folder holding anything a build does not write: the caller passed
    the wrong folder, and its files are not ours to delete."""
    if not folder.is_dir():
        raise DatasetError(
            f"{folder}: expected a prepared dataset folder, found a file; remove it or "
            "choose another folder for the prepared dataset"
        )
    ours = {HEADER, IMAGES, SOURCE_INDEX}
    foreign = sorted(
        entry.name
        for entry in folder.iterdir()
        if not (entry.is_file() and (entry.name in ours or entry.suffix == ".bin"))
    )
    if foreign:
        raise DatasetError(
            f"{folder}: expected a prepared dataset folder, but it holds {', '.join(foreign[:3])}"
            f"{' ...' if len(foreign) > 3 else ''}, which a build does not write; remove them or "
            "choose another folder for the prepared dataset"
        )


def _map(path: Path, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
    if math.prod(shape) == 0:  # an empty file cannot be mapped
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=shape)


def _inspect(folder: Path) -> dict[str, Any]:
    """The header of ``folder`` once it is known to be this format and its files are whole."""
    path = folder / HEADER
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _Stale(f"{HEADER} is missing (an interrupted build?)") from None
    except (OSError, ValueError) as exc:
        raise _Stale(f"{HEADER} is not readable JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION:
        found = header.get("format") if isinstance(header, dict) else None
        raise _Stale(f"{HEADER} is format version {found!r}, this ifan reads {FORMAT_VERSION}")
    try:
        expected = _sizes(header)
        if header["files"] != expected:
            raise ValueError("the recorded file sizes do not fit the counts and shapes")
        if not isinstance(header["key"], dict) or not isinstance(header["skipped"], list):
            raise TypeError("the key must be a dict and skipped a list")
        str(header["build"]["id"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise _Stale(f"{HEADER} is malformed ({type(exc).__name__}: {exc})") from None
    for name, size in expected.items():
        try:
            found = (folder / name).stat().st_size
        except FileNotFoundError:
            raise _Stale(f"{name} is missing") from None
        if found != size:
            raise _Stale(f"{name} is {found} bytes, expected {size} (truncated or overwritten)")
    return header


def _sizes(header: dict[str, Any]) -> dict[str, int]:
    """The byte size of every file, from the header's counts and shapes; checks that ragged
    offsets fit their shapes."""
    n, p = int(header["count"]), int(header["size"])
    if n <= 0 or p <= 0:
        raise ValueError(f"count {n} and size {p} must be positive")
    sizes = {IMAGES: n * p * p * 3, SOURCE_INDEX: n * 8}
    for name, info in header["targets"].items():
        if not _KEY_NAME.fullmatch(name):
            raise ValueError(f"target key {name!r} is no file name")
        itemsize = np.dtype(info["dtype"]).itemsize
        if info["ragged"]:
            offsets = np.asarray(info["offsets"], dtype=np.int64)
            lengths = [math.prod(shape) for shape in info["shapes"]]
            if len(offsets) != n + 1 or offsets[0] != 0 or list(np.diff(offsets)) != lengths:
                raise ValueError(f"the offsets of {name!r} do not fit its shapes")
            sizes[f"{name}.bin"] = int(offsets[-1]) * itemsize
        else:
            sizes[f"{name}.bin"] = n * math.prod(info["shape"]) * itemsize
    return sizes


class _Source(Dataset):
    """Sample ``i`` of the source as ``(i, HWC uint8 image, {key: array})``, or ``(i, message)``
    when it is bad; converted here so that data-loader workers send back compact arrays."""

    def __init__(self, dataset: Any):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        data = self.dataset
        try:
            if hasattr(data, "records") and hasattr(data, "load"):
                sample = data.load(data.records[index])
            else:
                sample = data[index]
        except DatasetError as error:
            return (index, str(error))
        if not isinstance(sample, (tuple, list)) or len(sample) != 2:
            got = type(sample).__name__
            raise TypeError(f"sample {index}: expected (image, target), got {got}")
        image, target = sample
        return (index, _image(image, index), _target(target, index))


def _as_is(sample: Any) -> Any:
    return sample


def _image(image: Any, index: int) -> np.ndarray:
    if not isinstance(image, torch.Tensor):
        got = type(image).__name__
        raise TypeError(f"sample {index}: expected the image as a tensor, got {got}")
    shape = tuple(image.shape)
    if len(shape) != 3 or shape[0] != 3 or shape[1] != shape[2]:
        got = " x ".join(map(str, shape))
        raise ValueError(f"sample {index}: expected a 3 x P x P image, got {got}")
    if image.dtype == torch.uint8:
        pixels = image
    elif image.is_floating_point():
        pixels = image.detach().float().mul(255).round_().clamp_(0, 255).to(torch.uint8)
    else:
        raise TypeError(f"sample {index}: expected a float or uint8 image, got {image.dtype}")
    return pixels.cpu().permute(1, 2, 0).contiguous().numpy()


def _target(target: Any, index: int) -> dict[str, np.ndarray]:
    if not isinstance(target, dict):
        got = type(target).__name__
        raise TypeError(f"sample {index}: expected the target as a dict, got {got}")
    values = {}
    for name, value in target.items():
        if not isinstance(name, str) or not _KEY_NAME.fullmatch(name):
            raise ValueError(
                f"sample {index}: target key {name!r} cannot name a file; use letters, digits, "
                "'_', '.' and '-'"
            )
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"sample {index}: target {name!r} is a {type(value).__name__}; a prepared "
                "dataset stores tensors only (nested dicts are not supported)"
            )
        try:
            values[name] = value.detach().cpu().contiguous().numpy()
        except TypeError:
            raise TypeError(
                f"sample {index}: target {name!r} has dtype {value.dtype}, which numpy cannot hold"
            ) from None
    return values


def _samples(dataset: Any, workers: int) -> Iterator[tuple[Any, ...]]:
    source = _Source(dataset)
    if workers <= 0:
        return (source[i] for i in range(len(source)))
    loader = DataLoader(source, batch_size=None, num_workers=workers, collate_fn=_as_is)
    return iter(loader)


def _build(dataset: Any, folder: Path, key: dict[str, Any], progress: str | None, workers: int):
    """Write the prepared copy into a temporary sibling, then rename it onto ``folder``."""
    total = len(dataset)
    if total == 0:
        raise DatasetError(f"{folder}: the dataset to prepare has no samples")
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    done = {"bytes": 0, "samples": 0}
    try:
        tmp.mkdir()
        header = _write(dataset, tmp, key, progress, workers, done)
        data = json.dumps(header, indent=1).encode("utf-8")
        with open(tmp / HEADER, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        fsync_folder(tmp)
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        if folder.exists():
            os.rename(folder, old)
        os.rename(tmp, folder)
        fsync_folder(folder.parent)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            kept = "The old prepared copy, if there was one, is kept."
            need = done["bytes"] * total // max(done["samples"], 1)  # the whole copy, estimated
            raise DatasetError(
                write_failure("the prepared dataset", folder, need, exc, kept)
            ) from exc
        raise


def _write(
    dataset: Any,
    tmp: Path,
    key: dict[str, Any],
    progress: str | None,
    workers: int,
    done: dict[str, int],
) -> dict[str, Any]:
    """Stream the samples into the files of ``tmp`` and return the header; ``done`` counts the
    samples and bytes written so far, to size the disk space a failed build needed."""
    total = len(dataset)
    files: dict[str, Any] = {}
    skipped: list[str] = []
    sources: list[int] = []
    size = 0
    kinds: dict[str, np.dtype] = {}
    shapes: dict[str, list[tuple[int, ...]]] = {}
    with contextlib.ExitStack() as stack:
        files[IMAGES] = stack.enter_context(open(tmp / IMAGES, "wb", buffering=_BUFFER))
        with bar(total=total, desc=progress, unit="face", enabled=progress is not None) as shown:
            for item in _samples(dataset, workers):
                shown.update(1)
                if len(item) == 2:
                    skipped.append(item[1])
                    continue
                index, pixels, values = item
                if not sources:
                    size = pixels.shape[0]
                    kinds = {name: value.dtype for name, value in values.items()}
                    shapes = {name: [] for name in values}
                    for name in values:
                        path = tmp / f"{name}.bin"
                        files[name] = stack.enter_context(open(path, "wb", buffering=_BUFFER))
                elif pixels.shape[0] != size:
                    raise ValueError(
                        f"sample {index}: the image is {pixels.shape[0]} px, the samples before "
                        f"it are {size} px; a prepared dataset holds one size"
                    )
                if values.keys() != kinds.keys():
                    raise ValueError(
                        f"sample {index}: target keys {sorted(values)} differ from the keys "
                        f"{sorted(kinds)} of the samples before it"
                    )
                for name, value in values.items():
                    if value.dtype != kinds[name]:
                        raise TypeError(
                            f"sample {index}: target {name!r} is {value.dtype}, it is "
                            f"{kinds[name]} in the samples before it"
                        )
                    files[name].write(value.tobytes())
                    shapes[name].append(value.shape)
                    done["bytes"] += value.nbytes
                files[IMAGES].write(pixels.tobytes())
                done["bytes"] += pixels.nbytes
                done["samples"] += 1
                sources.append(index)
        for f in files.values():
            f.flush()
            os.fsync(f.fileno())
    if not sources:
        last = f"; the last: {skipped[-1]}" if skipped else ""
        raise DatasetError(f"every one of the {total} samples to prepare is bad{last}")
    index_data = np.asarray(sources, dtype=np.int64).tobytes()
    with open(tmp / SOURCE_INDEX, "wb") as f:
        f.write(index_data)
        f.flush()
        os.fsync(f.fileno())
    targets: dict[str, Any] = {}
    for name, dtype in kinds.items():
        first = shapes[name][0]
        if all(shape == first for shape in shapes[name]):
            targets[name] = {"dtype": dtype.str, "ragged": False, "shape": list(first)}
        else:
            offsets = np.cumsum([0] + [math.prod(shape) for shape in shapes[name]])
            targets[name] = {
                "dtype": dtype.str,
                "ragged": True,
                "offsets": offsets.tolist(),
                "shapes": [list(shape) for shape in shapes[name]],
            }
    header = {
        "format": FORMAT_VERSION,
        "key": key,
        "count": len(sources),
        "size": size,
        "targets": targets,
        "files": {},
        "skipped": skipped,
        "build": {"id": uuid.uuid4().hex, "pid": os.getpid(), "time": time.time()},
    }
    header["files"] = _sizes(header)
    return header
