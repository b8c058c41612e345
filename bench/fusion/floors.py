"""What no model scores on each task's test split: the floor a feature must beat to help."""

from __future__ import annotations

import contextlib
import statistics
from pathlib import Path
from typing import Any

from bench.fusion.design import Scale


def no_model(data: Path, carving: dict[str, Any], scale: Scale) -> dict[str, Any]:
    """Each task's floor on its test split, what a head that tells no faces apart scores: the
    share of the commonest class (identity: one person's share), and for age the MAE of the
    training faces' median age."""
    from ifan.data.errors import DatasetError
    from ifan.data.images import IMAGE_SUFFIXES
    from ifan.data.utkface import parse_utkface_name

    def labels(names: list[str]) -> list[Any]:
        out = []
        for name in names:
            with contextlib.suppress(DatasetError):  # the malformed names the readers skip
                out.append(parse_utkface_name(Path(name)))
        return out

    train, test = labels(carving["train"]), labels(carving["test"])
    median = statistics.median(face.age for face in train)
    floors: dict[str, Any] = {
        "age": {"value": statistics.fmean(abs(f.age - median) for f in test),
                "what": f"every face the training median, {median:g} years"},
    }  # fmt: skip
    for task in ("gender", "race"):
        counts: dict[int, int] = {}
        for face in test:
            counts[getattr(face, task)] = counts.get(getattr(face, task), 0) + 1
        floors[task] = {"value": max(counts.values()) / len(test), "what": "the commonest class"}
    photos = [
        sum(1 for p in person.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for person in (data / "lfw").iterdir()
        if person.is_dir()
    ]
    held = sum(1 for n in photos if n > scale.val_per_person + scale.test_per_person)
    floors["identity"] = {"value": 1 / held, "what": f"one of the {held} people in test"}
    return floors
