"""Synthetic faces laid out like the real datasets: MTFL, FASSEG V2 and FER2013, as in
``../shared/data``, so ``make real DATA=OUT``, ``examples/faces3-cpu.toml`` and
``examples/real-3task.toml`` run without them.

Each dataset is written in its own native format, quirks included:

- ``mtfl/training.txt``: ``path x1..x5 y1..y5 gender smile glasses pose`` with CRLF line ends,
  a leading space on every line after the first and backslashes in the paths
  (``lfw_5590\\00000.jpg``), the JPEG photos in ``mtfl/lfw_5590/``;
- ``fasseg/V2/Train_RGB/<n>.png`` with colour-coded labels in ``fasseg/V2/Train_Labels/<n>.png``
  (the eyebrows in the ``hair`` colour, as FASSEG labels them), and the same faces in V3's layout
  (``fasseg/V3/Train_RGB/0/<n>.png``, ``fasseg/V3/Train_labels/0/<n>.png``);
- ``fer2013/{train,test}/<emotion>/{Training,PublicTest}_<n>.jpg``, 48 x 48 grey;
- ``utkface/crop_part1/<age>_<gender>_<race>_<datetime>.jpg.chip.jpg`` with made-up labels
  (for the ``ifan-task-age`` plugin; a cartoon has no age);
- ``faces/drawn.jpg``: a photo with one drawn face in it, to try ``ifan predict`` on (the real
  folder has photos of people).

The faces are the same cartoon faces as the native synthetic datasets (one random stream per
dataset, so no face is shared); they only stand in for the real photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ifan_tasks.parsing.classes import FASSEG_COLOURS
from ifan_tasks.synthetic.faces import CLASSES
from ifan_tasks.synthetic.writer import Face, clear_outputs, draw_split

REAL_COUNTS = {
    "mtfl": 60,
    "fasseg": 20,
    "fer2013-train": 80,
    "fer2013-test": 40,
    "utkface": 40,
}
"""Faces per dataset at ``scale`` 1."""
FASSEG_CLASS = {
    "background": "background",
    "skin": "skin",
    "left_brow": "hair",
    "right_brow": "hair",
    "left_eye": "eyes",
    "right_eye": "eyes",
    "nose": "nose",
    "mouth": "mouth",
}
"""Each synthetic class's FASSEG class."""
PALETTE = np.array([FASSEG_COLOURS[FASSEG_CLASS[name]] for name in CLASSES], dtype=np.uint8)
MTFL_ATTRIBUTES = {
    "happy": "1 1 2 3",
    "neutral": "2 2 2 3",
    "sad": "1 2 1 3",
    "surprise": "2 2 2 3",
}
"""MTFL's gender, smile, glasses and pose codes written for each expression."""


def _save(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def write_mtfl(root: Path, faces: list[Face]) -> None:
    """``root/training.txt`` and the photos it names in ``root/lfw_5590``."""
    lines = []
    for i, face in enumerate(faces):
        _save(face.image, root / "lfw_5590" / f"{face.name}.jpg")
        xs = " ".join(f"{x:.2f}" for x in face.points[:, 0])
        ys = " ".join(f"{y:.2f}" for y in face.points[:, 1])
        lead = "" if i == 0 else " "
        attributes = MTFL_ATTRIBUTES[face.params.expression]
        lines.append(f"{lead}lfw_5590\\{face.name}.jpg {xs} {ys} {attributes}")
    (root / "training.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))


def write_fasseg(root: Path, faces: list[Face]) -> None:
    """``root/V2/Train_RGB/<n>.png`` and their colour-coded labels in ``root/V2/Train_Labels``;
    the same faces as V3 lays them out: ``root/V3/Train_RGB/0/<n>.png`` (one folder per yaw,
    here only the frontal ``0``) and ``root/V3/Train_labels/0/<n>.png``."""
    for i, face in enumerate(faces, start=1):
        label = Image.fromarray(PALETTE[face.mask])
        _save(face.image, root / "V2" / "Train_RGB" / f"{i}.png")
        _save(label, root / "V2" / "Train_Labels" / f"{i}.png")
        _save(face.image, root / "V3" / "Train_RGB" / "0" / f"{i}.png")
        _save(label, root / "V3" / "Train_labels" / "0" / f"{i}.png")


def write_fer2013(root: Path, split: str, faces: list[Face]) -> None:
    """``root/<split>/<emotion>/<Prefix>_<n>.jpg``, 48 x 48 grey, as FER2013's image folders."""
    prefix = {"train": "Training", "test": "PublicTest"}[split]
    for face in faces:
        image = face.image.convert("L").resize((48, 48), Image.Resampling.BILINEAR)
        _save(image, root / split / face.params.expression / f"{prefix}_{face.name}.jpg")


def write_utkface(root: Path, faces: list[Face], seed: int) -> None:
    """``root/crop_part1/<age>_<gender>_<race>_<datetime>.jpg.chip.jpg``, labels drawn at random."""
    rng = np.random.default_rng([seed, 7])
    for i, face in enumerate(faces):
        age, gender, race = rng.integers(1, 90), rng.integers(0, 2), rng.integers(0, 5)
        name = f"{age}_{gender}_{race}_2017011{i:010d}.jpg.chip.jpg"
        _save(face.image, root / "crop_part1" / name)


def drawn_photo(size: int = 200) -> Image.Image:
    """A ``2 size x size`` photo with one shaded face-like drawing on the left, which face
    detectors find."""
    image = Image.new("RGB", (size * 2, size), (90, 110, 140))
    draw = ImageDraw.Draw(image)
    c = size // 2
    draw.ellipse((c - 55, c - 75, c + 55, c + 75), fill=(225, 185, 160))
    for x in (c - 25, c + 25):
        draw.ellipse((x - 12, c - 25, x + 12, c - 15), fill=(255, 255, 255))
        draw.ellipse((x - 5, c - 25, x + 5, c - 15), fill=(40, 30, 30))
        draw.line((x - 15, c - 35, x + 15, c - 38), fill=(60, 40, 30), width=4)
    draw.polygon([(c, c - 10), (c - 10, c + 15), (c + 10, c + 15)], fill=(200, 150, 130))
    draw.arc((c - 25, c + 15, c + 25, c + 45), 20, 160, fill=(150, 50, 50), width=5)
    return image


def write_real_layout(
    out: Path, seed: int = 0, size: int = 64, scale: float = 1.0, overwrite: bool = False
) -> dict[str, int]:
    """Write MTFL, FASSEG V2 and FER2013 look-alikes into ``out``; return the faces per dataset.
    The same arguments always give the same files."""
    counts = {name: max(1, round(n * scale)) for name, n in REAL_COUNTS.items()}
    out = Path(out)
    clear_outputs(out, ["mtfl", "fasseg", "fer2013", "utkface", "faces"], overwrite)

    def faces(task: str, split: str, name: str) -> list[Face]:
        return list(draw_split(seed, task, split, counts[name], size))

    write_mtfl(out / "mtfl", faces("landmarks", "train", "mtfl"))
    write_fasseg(out / "fasseg", faces("parsing", "train", "fasseg"))
    write_fer2013(out / "fer2013", "train", faces("emotion", "train", "fer2013-train"))
    write_fer2013(out / "fer2013", "test", faces("emotion", "test", "fer2013-test"))
    write_utkface(out / "utkface", faces("emotion", "val", "utkface"), seed)
    _save(drawn_photo(), out / "faces" / "drawn.jpg")
    return counts
