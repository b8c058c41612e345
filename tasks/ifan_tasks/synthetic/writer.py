"""Three disjoint synthetic face datasets, one per built-in task, and a manifest to train on them.

Each task gets its own faces (its own random stream per split, so no face is shared) and its own
colours, as the paper's datasets differ (light warm photos for parsing, darker cool ones for
landmarks, grey high-contrast ones for emotion): task-specific batch norm has something to do.
The layouts are the native ones of the built-in formats:

- ``parsing/<split>/images/<name>.png`` and ``parsing/<split>/masks/<name>.png`` (``mask-folder``)
- ``landmarks/<split>.csv`` listing ``<split>/images/<name>.png`` and 5 points (``csv``)
- ``emotion/<split>/<class>/<name>.png`` (``folder``)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ifan_tasks.synthetic.faces import (
    CLASSES,
    EXPRESSIONS,
    POINTS,
    FaceParams,
    Palette,
    draw_face,
    sample_face,
)

TASKS = ("parsing", "landmarks", "emotion")
SPLITS = ("train", "val", "test")
FORMATS = {"parsing": "mask-folder", "landmarks": "csv", "emotion": "folder"}
DEFAULT_COUNTS: dict[str, dict[str, int]] = {
    "parsing": {"train": 160, "val": 40, "test": 40},
    "landmarks": {"train": 320, "val": 64, "test": 64},
    "emotion": {"train": 320, "val": 64, "test": 64},
}
PALETTES = {
    "parsing": Palette(skin=(226, 186, 158), background=(240, 226, 196), spread=14, texture=12,
                       texture_colour=1.0, grain=2.5),
    "landmarks": Palette(skin=(168, 130, 122), background=(100, 104, 112), spread=16, texture=14,
                         texture_colour=0.25, grain=5.0),
    "emotion": Palette(skin=(212, 180, 160), background=(58, 58, 62), spread=24, texture=10,
                       texture_colour=0.0, grain=4.0, grey=True),
}  # fmt: skip


@dataclass(frozen=True)
class Face:
    """One drawn face and the parameters it was drawn from."""

    name: str
    params: FaceParams
    image: Image.Image
    mask: np.ndarray
    points: np.ndarray


def draw_split(seed: int, task: str, split: str, count: int, size: int) -> Iterator[Face]:
    """The faces of one split: a random stream of its own, the expressions in turn (balanced)."""
    rng = np.random.default_rng([seed, TASKS.index(task), SPLITS.index(split)])
    for i in range(count):
        params = sample_face(rng, PALETTES[task], EXPRESSIONS[i % len(EXPRESSIONS)])
        yield Face(f"{i:05d}", params, *draw_face(params, size))


def _save(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def _write_parsing(root: Path, split: str, faces: Iterator[Face]) -> None:
    for face in faces:
        _save(face.image, root / split / "images" / f"{face.name}.png")
        _save(Image.fromarray(face.mask, mode="L"), root / split / "masks" / f"{face.name}.png")


def _write_landmarks(root: Path, split: str, faces: Iterator[Face]) -> None:
    header = ",".join(["image", *(f"{p}_{axis}" for p in POINTS for axis in "xy")])
    lines = [header]
    for face in faces:
        image = f"{split}/images/{face.name}.png"
        _save(face.image, root / image)
        lines.append(",".join([image, *(f"{v:.3f}" for v in face.points.ravel())]))
    (root / f"{split}.csv").write_text("\n".join(lines) + "\n")


def _write_emotion(root: Path, split: str, faces: Iterator[Face]) -> None:
    for face in faces:
        _save(face.image, root / split / face.params.expression / f"{face.name}.png")


WRITERS: dict[str, Callable[[Path, str, Iterator[Face]], None]] = {
    "parsing": _write_parsing,
    "landmarks": _write_landmarks,
    "emotion": _write_emotion,
}
SPLIT_PATHS = {"parsing": "parsing/{}", "landmarks": "landmarks/{}.csv", "emotion": "emotion/{}"}
"""Where each task's split is, relative to the output folder (``{}`` is the split)."""


def _toml(value: object) -> str:
    return json.dumps(value)  # strings and lists of strings or integers are the same in TOML


def _data_options(task: str) -> list[str]:
    if task == "parsing":
        groups = {
            "eyes": ["left_eye", "right_eye"],
            "brows": ["left_brow", "right_brow"],
            "overall": list(CLASSES[2:]),
        }
        lines = [f"classes = {_toml(list(CLASSES))}", "", "[tasks.parsing.data.groups]"]
        return lines + [f"{name} = {_toml(members)}" for name, members in groups.items()]
    if task == "landmarks":
        return ["points = 5", f"names = {_toml(list(POINTS))}", "eyes = [[0], [1]]"]
    return [f"classes = {_toml(list(EXPRESSIONS))}"]


BATCH_SIZES = {"parsing": 16, "landmarks": 32, "emotion": 32}


def manifest_text(seed: int, size: int) -> str:
    """The manifest of the written datasets (paths relative to the output folder)."""
    lines = [
        f"# Synthetic faces by `python -m ifan_tasks.synthetic` (seed {seed}, {size} px): three",
        "# disjoint datasets, one per task, each with its own colours. Paths are relative to this",
        "# file. Check it with `ifan validate`.",
        "",
        "[model]",
        'backbone = "fc-densenet"',
        f"input_size = {max(32, 32 * round(size / 32))}",
        "iterations = 2",
        'batchnorm = "per-task"',
        'reencoder = "learned"',
        "",
        "[train]",
        "pretrain_epochs = 2",
        "finetune_epochs = 4",
        'out_dir = "runs"',
    ]
    for task in TASKS:
        lines += ["", f"[tasks.{task}]", f"batch_size = {BATCH_SIZES[task]}", ""]
        lines += [f"[tasks.{task}.data]", f"format = {_toml(FORMATS[task])}"]
        lines += [f"{split} = {_toml(SPLIT_PATHS[task].format(split))}" for split in SPLITS]
        lines += _data_options(task)
    return "\n".join(lines) + "\n"


def _counts(counts: dict[str, dict[str, int]] | None) -> dict[str, dict[str, int]]:
    given = counts or {}
    unknown = set(given) - set(TASKS) | {s for c in given.values() for s in c} - set(SPLITS)
    if unknown:
        raise ValueError(f"counts: unknown task or split {sorted(unknown)}")
    merged = {task: {**DEFAULT_COUNTS[task], **given.get(task, {})} for task in TASKS}
    if any(n < 1 for split_counts in merged.values() for n in split_counts.values()):
        raise ValueError(f"counts must be at least 1, got {merged}")
    return merged


def clear_outputs(out: Path, names: Iterable[str], overwrite: bool) -> None:
    """Remove the files and folders ``names`` in ``out`` that a previous run wrote (only with
    ``overwrite``), so no stale face is read."""
    existing = [p for p in (out / name for name in names) if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{existing[0]} exists; write into a new folder or overwrite it")
    for path in existing:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def write_datasets(
    out: Path,
    seed: int = 0,
    size: int = 64,
    counts: dict[str, dict[str, int]] | None = None,
    overwrite: bool = False,
) -> dict[str, dict[str, int]]:
    """Write the three datasets and ``manifest.toml`` into ``out``; return the faces written per
    task and split. ``counts`` overrides :data:`DEFAULT_COUNTS` per task and split. The same
    arguments always give the same bytes."""
    out = Path(out)
    merged = _counts(counts)
    clear_outputs(out, [*TASKS, "manifest.toml"], overwrite)
    for task in TASKS:
        for split, count in merged[task].items():
            WRITERS[task](out / task, split, draw_split(seed, task, split, count, size))
    (out / "manifest.toml").write_text(manifest_text(seed, size))
    return merged
