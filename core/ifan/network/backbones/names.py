"""Backbone names: the native ``fc-densenet`` and every timm encoder (timm's own registry)."""

from __future__ import annotations

import difflib

NATIVE_BACKBONES = ("fc-densenet",)


def backbone_problem(name: str) -> str | None:
    """Why ``name`` is not a usable backbone, with close names, or None when it is."""
    if name in NATIVE_BACKBONES:
        return None
    import timm

    if timm.is_model(name):
        return None
    candidates = list(NATIVE_BACKBONES) + timm.list_models()
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.7)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"unknown backbone {name!r}: expected 'fc-densenet' or a timm model name "
        f"(python -c 'import timm; print(timm.list_models())' lists them){hint}"
    )
