"""The real datasets (``../shared/data``: FASSEG, MTFL, FER2013) as the recipes read them."""

from __future__ import annotations

from pathlib import Path


def real_data_settings(data: Path) -> list[str]:
    """``--set`` values pointing ``examples/real-3task.toml``'s splits at ``data`` (a folder laid
    out like ../shared/data), wherever the checkout is."""
    data = data.resolve()
    return [
        f"tasks.parsing.data.train={data}/fasseg/V2/Train_RGB",
        f"tasks.landmarks.data.train={data}/mtfl/training.txt",
        f"tasks.emotion.data.train={data}/fer2013/train",
        f"tasks.emotion.data.test={data}/fer2013/test",
    ]


def check_real_data(data: Path) -> None:
    """Stop with a clear message when ``data`` is not laid out like ../shared/data."""
    if not (data / "mtfl" / "training.txt").exists():
        raise SystemExit(f"{data}: no MTFL here (mtfl/training.txt); give --data")
