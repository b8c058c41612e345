"""The checkpoint file: one ``.safetensors`` file per checkpoint, written atomically.

A checkpoint holds the model weights (``model/<name>``), the optimizer's tensors
(``optim/<path>``, e.g. ``optim/state/0/square_avg``) and, in the safetensors header metadata,
JSON for everything else:

- ``ifan.format_version``: the layout version (``"1"``);
- ``ifan.meta``: the caller's metadata (manifest, plugin names and versions, step, RNG and
  scheduler state, ...);
- ``ifan.optimizer``: the optimizer state dict with every tensor replaced by
  ``{"__tensor__": "<tensor name>"}`` (``null`` without an optimizer).

JSON cannot tell a tuple from a list or an int key from a str key, so those are tagged
(``{"__tuple__": [...]}``, ``{"__int_keys__": {...}}``) and come back as they went in.

Loading reads only safetensors and JSON: a pickle-based file (``torch.save``) is refused before
anything in it is read, because unpickling can run arbitrary code.
"""

from __future__ import annotations

import json
import os
import pickletools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open
from safetensors.torch import save
from torch import Tensor

from ifan.errors import IfanError
from ifan.files import write_atomically, write_failure

FORMAT_VERSION = "1"
KEY_VERSION = "ifan.format_version"
KEY_META = "ifan.meta"
KEY_OPTIMIZER = "ifan.optimizer"
MODEL_PREFIX = "model/"
OPTIM_PREFIX = "optim/"

_TENSOR = "__tensor__"
_TUPLE = "__tuple__"
_INT_KEYS = "__int_keys__"
_TAGS = (_TENSOR, _TUPLE, _INT_KEYS)


class CheckpointError(IfanError):
    """A checkpoint cannot be written or read."""


@dataclass
class Checkpoint:
    """A loaded checkpoint; ``optimizer`` is ready for ``Optimizer.load_state_dict``."""

    path: Path
    model: dict[str, Tensor]
    optimizer: dict[str, Any] | None
    meta: dict[str, Any]


# ---------------------------------------------------------------------------------------------
# JSON encoding with tensors set aside


def _encode(value: Any, where: str, tensors: dict[str, Tensor] | None) -> Any:
    """``value`` as JSON-able data; tensors go into ``tensors`` (refused when it is None)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Tensor):
        if tensors is None:
            raise TypeError(
                f"{where} is a tensor; checkpoint metadata must be JSON-serialisable "
                "(put weights in the model state dict)"
            )
        if where in tensors:
            raise TypeError(f"{where}: two tensors would be stored under the same name")
        tensors[where] = value
        return {_TENSOR: where}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{where}/{i}", tensors) for i, v in enumerate(value)]
        return {_TUPLE: items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            reserved = [k for k in value if k in _TAGS]
            if reserved:
                raise TypeError(f"{where}: the key {reserved[0]!r} is reserved by ifan")
            return {k: _encode(v, f"{where}/{k}", tensors) for k, v in value.items()}
        if all(isinstance(k, int) and not isinstance(k, bool) for k in value):
            return {
                _INT_KEYS: {str(k): _encode(v, f"{where}/{k}", tensors) for k, v in value.items()}
            }
        raise TypeError(f"{where}: dict keys must be all strings or all integers")
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which cannot be "
        "stored in a checkpoint (only JSON data: None, bool, int, float, str, list, tuple, dict)"
    )


def _decode(value: Any, tensors: dict[str, Tensor]) -> Any:
    """The inverse of :func:`_encode`; KeyError for a tensor the file does not hold."""
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == _TENSOR:
            return tensors[inner]
        if tag == _TUPLE:
            return tuple(_decode(v, tensors) for v in inner)
        if tag == _INT_KEYS:
            return {int(k): _decode(v, tensors) for k, v in inner.items()}
    return {k: _decode(v, tensors) for k, v in value.items()}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# Writing


def _storable(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """CPU, contiguous tensors that share no storage (safetensors refuses both)."""
    out: dict[str, Tensor] = {}
    seen: set[int] = set()
    for name, tensor in tensors.items():
        t = tensor.detach().cpu().contiguous()
        if t.numel():
            storage = t.untyped_storage().data_ptr()
            if storage in seen:
                t = t.clone()
            seen.add(t.untyped_storage().data_ptr())
        out[name] = t
    return out


def _write_atomically(path: Path, data: bytes) -> None:
    """:func:`ifan.files.write_atomically`, its failures as a :class:`CheckpointError`. A left-over
    temporary file (``.<name>.tmp-<pid>``) is never taken for a checkpoint, and
    :func:`prune_checkpoints` deletes it."""
    try:
        write_atomically(path, data)
    except Exception as exc:
        kept = "Earlier checkpoints (and a previous file at this path, if any) are intact."
        raise CheckpointError(write_failure("checkpoint", path, len(data), exc, kept)) from exc


def save_checkpoint(
    path: Path,
    model: dict[str, Tensor],
    optimizer: dict[str, Any] | None,
    meta: dict[str, Any],
) -> None:
    """Write a checkpoint to ``path`` atomically: a crash or a full disk leaves the old one.

    ``model`` is a state dict (tied and non-contiguous tensors are fine), ``optimizer`` an
    ``Optimizer.state_dict()`` or None, ``meta`` JSON data (tuples and int keys allowed); a
    value that is not raises TypeError naming it. Raises CheckpointError if the write fails.
    """
    path = Path(path)
    tensors: dict[str, Tensor] = {}
    for name, value in model.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"model/{name} is a {type(value).__name__}, not a tensor")
        tensors[MODEL_PREFIX + name] = value
    metadata = {
        KEY_VERSION: FORMAT_VERSION,
        KEY_META: _dumps(_encode(meta, "meta", None)),
        KEY_OPTIMIZER: _dumps(
            None if optimizer is None else _encode(optimizer, OPTIM_PREFIX.rstrip("/"), tensors)
        ),
    }
    try:
        data = save(_storable(tensors), metadata)
    except Exception as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: {exc}") from exc
    _write_atomically(path, data)


# ---------------------------------------------------------------------------------------------
# Reading


_MAX_HEADER = 100_000_000
"""The largest safetensors header the safetensors library reads (bytes of JSON)."""

_PICKLE_SNIFF = 1 << 16
_PICKLE_SIGNATURES = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
"""torch's zip checkpoints, and pickles of protocols 2 to 5 (and torch's legacy format)."""


def _is_pickle(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) is a pickle or a torch checkpoint.

    Protocols 2 to 5 and torch's zip files have a signature; protocols 0 and 1 do not, so the
    opcodes are read (``pickletools.genops`` only decodes them, it imports and calls nothing)
    until the STOP opcode that ends a pickle.
    """
    if head.startswith(_PICKLE_SIGNATURES):
        return True
    try:
        return any(op.name == "STOP" for op, _, _ in pickletools.genops(head))
    except Exception:
        return False


def _refuse_non_safetensors(path: Path) -> None:
    """Raise CheckpointError unless ``path`` looks like a safetensors file (checks bytes only)."""
    try:
        with open(path, "rb") as f:
            head = f.read(_PICKLE_SNIFF)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} not found") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from exc
    header_size = int.from_bytes(head[:8], "little")
    plausible = 2 <= header_size <= min(_MAX_HEADER, size - 8)
    if head[8:9] == b"{" and plausible:
        return
    if _is_pickle(head):
        raise CheckpointError(
            f"checkpoint {path} is a pickle-based torch checkpoint (torch.save) or a pickle; ifan "
            "refuses to load it because unpickling can run arbitrary code. ifan checkpoints are "
            ".safetensors files written by `ifan train`. A backbone's pretrained weights saved "
            "with torch.save are read (without unpickling objects) by the manifest key "
            "model.backbone_checkpoint"
        )
    raise CheckpointError(
        f"checkpoint {path} is not a safetensors file (truncated or corrupt?); "
        "use an earlier checkpoint"
    )


def _read(path: Path, with_tensors: bool) -> tuple[dict[str, str], dict[str, Tensor]]:
    """The header metadata (checked to be ifan's) and, if asked, the tensors of ``path``."""
    _refuse_non_safetensors(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            names = f.keys() if with_tensors else []
            tensors = {k: f.get_tensor(k) for k in names}
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(
            f"checkpoint {path} is truncated or corrupt ({exc}); use an earlier checkpoint"
        ) from exc
    if KEY_VERSION not in metadata:
        raise CheckpointError(
            f"{path} is a safetensors file but not an ifan checkpoint (no {KEY_VERSION} in its "
            "metadata)"
        )
    if metadata[KEY_VERSION] != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {metadata[KEY_VERSION]!r}; this ifan reads "
            f"version {FORMAT_VERSION!r} (use the ifan version that wrote it)"
        )
    return metadata, tensors


def read_header(path: Path) -> dict[str, str]:
    """The header metadata of the checkpoint at ``path``, without its tensors; CheckpointError
    when it does not read cleanly (what tells a sound checkpoint from a corrupt one)."""
    return _read(path, with_tensors=False)[0]


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`; tensors come back on the CPU.

    Only safetensors and JSON are parsed, never pickle. Raises CheckpointError for a missing,
    pickle-based, truncated, corrupt or foreign file.
    """
    path = Path(path)
    metadata, tensors = _read(path, with_tensors=True)
    unknown = [k for k in tensors if not k.startswith((MODEL_PREFIX, OPTIM_PREFIX))]
    if unknown:
        raise CheckpointError(f"checkpoint {path} holds unexpected tensors: {unknown[:5]}")
    try:
        meta = json.loads(metadata[KEY_META])
        optimizer = json.loads(metadata[KEY_OPTIMIZER])
        if not isinstance(meta, dict) or not isinstance(optimizer, (dict, type(None))):
            raise TypeError("the metadata and the optimizer state must be JSON objects")
        return Checkpoint(
            path=path,
            model={
                k.removeprefix(MODEL_PREFIX): v
                for k, v in tensors.items()
                if k.startswith(MODEL_PREFIX)
            },
            optimizer=None if optimizer is None else _decode(optimizer, tensors),
            meta=_decode(meta, {}),
        )
    except RecursionError:
        raise CheckpointError(
            f"checkpoint {path} has metadata nested too deeply to read; it was not written by ifan"
        ) from None
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise CheckpointError(
            f"checkpoint {path} has inconsistent metadata ({type(exc).__name__}: {exc})"
        ) from exc
