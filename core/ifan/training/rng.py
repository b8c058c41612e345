"""The random number generators' state (torch, CUDA, ``random``, NumPy) as JSON data, so that a
checkpoint carries it and a resumed run draws exactly what the uninterrupted one would have."""

from __future__ import annotations

import base64
import random
from typing import Any

import numpy as np
import torch
from torch import Tensor


def _b64(t: Tensor) -> str:
    return base64.b64encode(t.numpy().tobytes()).decode("ascii")


def _from_b64(s: str) -> Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8)


def rng_state() -> dict[str, Any]:
    """The global RNG states (torch CPU, CUDA if in use, ``random``, numpy) as JSON data.

    Store it in the checkpoint's meta and give it to :func:`set_rng_state` on resume so the
    random draws continue exactly.
    """
    numpy_state = np.random.get_state()  # legacy=True: a tuple, MT19937 being the global one
    assert isinstance(numpy_state, tuple), "NumPy's global generator is no longer MT19937"
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = numpy_state
    py_version, py_internal, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": _b64(torch.get_rng_state()),
        "python": [py_version, list(py_internal), py_gauss],
        "numpy": [np_name, np_keys.tolist(), np_pos, np_has_gauss, np_gauss],
    }
    if torch.cuda.is_initialized():
        state["cuda"] = [_b64(s) for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured.

    CUDA states are restored for the devices present (none without CUDA).
    """
    torch.set_rng_state(_from_b64(state["torch"]))
    py_version, py_internal, py_gauss = state["python"]
    random.setstate((py_version, tuple(py_internal), py_gauss))
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = state["numpy"]
    np.random.set_state(
        (np_name, np.array(np_keys, dtype=np.uint32), np_pos, np_has_gauss, np_gauss)
    )
    if "cuda" in state and torch.cuda.is_available():
        for device, s in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(_from_b64(s), device)
