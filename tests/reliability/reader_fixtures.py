"""Tiny datasets in every built-in reader's native format: three good samples and, on request,
one more sample (or the split itself) with exactly one defect.

``build(reader, root, kind)`` writes the dataset under ``root`` and returns a :class:`Built`
saying what to open and which file (and list line) the reader must blame. ``kind=None`` writes the
three good samples only. The bad sample is always an extra one named ``s1x``, sorted between the
good ``s1`` and ``s2`` (and its list line between theirs), so that a reader which skips it must
still yield the good three, unchanged and in order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 12, 10
"""Every photo and label is 12 x 10 (not square, so a swapped width and height shows)."""
GOOD = ("s0", "s1", "s2")
BAD = "s1x"
BAD_AT = 2
"""The bad sample's index among the samples (and list records): after s0 and s1."""

TASK_OF = {
    "helen": "parsing",
    "fasseg": "parsing",
    "celebamask": "parsing",
    "mask-folder": "parsing",
    "mtfl": "landmarks",
    "pts": "landmarks",
    "csv": "landmarks",
    "folder": "emotion",
    "fer2013-csv": "emotion",
}
SPLIT = "test"
"""The split every fixture is opened as (never augmented)."""


@dataclass(frozen=True)
class Built:
    """A written dataset: what to open, and where its defect is."""

    split: Path
    """The split path given to the format (a list file or a folder)."""
    options: dict[str, Any] = field(default_factory=dict)
    """The format options (keys of ``[tasks.<name>.data]``)."""
    file: Path | None = None
    """The file (or folder) the error must name."""
    line: int | None = None
    """The line the error must name, for per-line defects: of ``split`` (a list file), or of
    ``lined`` when given."""
    lined: Path | None = None

    @property
    def where(self) -> str | None:
        """``file:line`` as messages start, for per-line defects."""
        return None if self.line is None else f"{self.lined or self.split}:{self.line}"


# ---- image files ---------------------------------------------------------------------------------


def noise(seed: int, mode: str = "RGB", size: tuple[int, int] = (WIDTH, HEIGHT)) -> Image.Image:
    """A noise image, different for every seed (so that samples can be told apart)."""
    channels = {"RGB": 3, "L": 1}[mode]
    array = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], channels), np.uint8)
    return Image.fromarray(array[..., 0] if channels == 1 else array, mode=mode)


def save(image: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path


def truncate(path: Path, mode: str = "RGB") -> Path:
    """Make ``path`` a noise PNG whose header reads (12 x 10) but whose pixels are cut off, so
    that it passes the header check when a split is opened and fails when it is decoded."""
    save(noise(99, mode), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def corrupt(path: Path) -> Path:
    """Make ``path`` something that is no image at all (even its header cannot be read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an image\n")
    return path


def write_list(path: Path, lines: list[bytes | str], header: str | None = None) -> None:
    """A list file of ``lines`` (LF endings), after ``header`` when given."""
    rows = ([header] if header is not None else []) + lines
    path.write_bytes(b"".join((r if isinstance(r, bytes) else r.encode()) + b"\n" for r in rows))


def _with_bad(good: list, bad: Any | None) -> list:
    """``good`` with ``bad`` inserted at :data:`BAD_AT` (when given)."""
    return [*good[:BAD_AT], bad, *good[BAD_AT:]] if bad is not None else list(good)


def _unknown(reader: str, kind: str) -> KeyError:
    return KeyError(f"{reader} has no fixture for {kind!r}")


# ---- parsing -------------------------------------------------------------------------------------

# A 12 x 10 class map: background on top, skin below, a class-2 block, an eye block (class 4).
CLASSES = np.zeros((HEIGHT, WIDTH), np.uint8)
CLASSES[3:, :] = 1
CLASSES[4:8, 2:5] = 2
CLASSES[5:7, 7:10] = 4


def helen_sample(root: Path, name: str, seed: int, size=(WIDTH, HEIGHT)) -> None:
    save(noise(seed), root / "images" / f"{name}.png")
    classes = np.asarray(Image.fromarray(CLASSES).resize(size, Image.Resampling.NEAREST))
    for index in range(11):
        level = np.where(classes == index, 255, 0).astype(np.uint8)
        save(Image.fromarray(level), root / "labels" / name / f"{name}_lbl{index:02d}.png")


def build_helen(root: Path, kind: str | None) -> Built:
    for seed, name in enumerate(GOOD):
        helen_sample(root, name, seed)
    listed = root / "list.txt"
    lines: list[bytes | str] = [f"{i + 1} , {name}" for i, name in enumerate(GOOD)]
    image = root / "images" / f"{BAD}.png"
    first_map = root / "labels" / BAD / f"{BAD}_lbl00.png"
    bad_line: bytes | str | None = None if kind is None else f"9 , {BAD}"
    file: Path = listed
    if kind is None:
        pass
    elif kind in ("truncated_image", "corrupt_image"):
        helen_sample(root, BAD, 7)
        file = (truncate if kind == "truncated_image" else corrupt)(image)
    elif kind in ("truncated_label", "corrupt_label"):
        helen_sample(root, BAD, 7)
        file = truncate(first_map, "L") if kind == "truncated_label" else corrupt(first_map)
    elif kind == "label_wrong_size":
        helen_sample(root, BAD, 7, size=(5, 5))
        save(noise(7), image)
        file = first_map
    elif kind == "malformed_line":
        bad_line = f"9 , {BAD} , extra"
    elif kind == "non_utf8_bytes":
        bad_line = b"9 , s1\xffx"
    elif kind == "missing_image":
        helen_sample(root, BAD, 7)
        image.unlink()
        file = root / "images"
    elif kind == "missing_label":
        save(noise(7), image)
        file = first_map
    elif kind == "empty_split":
        lines, bad_line = ["# no faces here"], None
    elif kind == "missing_split":
        return Built(listed, file=listed)
    else:
        raise _unknown("helen", kind)
    write_list(listed, _with_bad(lines, bad_line))
    return Built(listed, file=file, line=None if bad_line is None else BAD_AT + 1)


FASSEG_COLOURS = [(255, 0, 0), (255, 255, 0), (127, 0, 0), (0, 0, 255), (0, 255, 255)]


def fasseg_label(size=(WIDTH, HEIGHT)) -> Image.Image:
    classes = np.asarray(Image.fromarray(CLASSES).resize(size, Image.Resampling.NEAREST))
    rgb = np.zeros((*classes.shape, 3), np.uint8)
    for index, colour in enumerate(FASSEG_COLOURS):
        rgb[classes == index] = colour
    return Image.fromarray(rgb)


def build_fasseg(root: Path, kind: str | None) -> Built:
    photos, labels = root / "Train_RGB", root / "Train_Labels"
    names = () if kind in ("empty_split", "missing_split") else GOOD
    for seed, name in enumerate(names):
        save(noise(seed), photos / f"{name}.png")
        save(fasseg_label(), labels / f"{name}.png")
    photos.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    photo, label = photos / f"{BAD}.png", labels / f"{BAD}.png"
    if kind is None:
        return Built(photos)
    if kind in ("empty_split", "missing_split"):
        if kind == "missing_split":
            photos.rmdir()
        return Built(photos, file=photos)
    save(noise(7), photo)
    save(fasseg_label(), label)
    if kind in ("truncated_image", "corrupt_image"):
        file = (truncate if kind == "truncated_image" else corrupt)(photo)
    elif kind in ("truncated_label", "corrupt_label"):
        file = (truncate if kind == "truncated_label" else corrupt)(label)
    elif kind == "label_wrong_size":
        file = save(fasseg_label((5, 5)), label)
    elif kind == "missing_label":
        label.unlink()
        file = photo
    else:
        raise _unknown("fasseg", kind)
    return Built(photos, file=file)


def index_mask(values: np.ndarray | None = None, size=(WIDTH, HEIGHT)) -> Image.Image:
    classes = values if values is not None else CLASSES
    return Image.fromarray(classes).resize(size, Image.Resampling.NEAREST)


def _masked(
    reader: str, images: Path, masks: Path, kind: str | None, out_of_range: int
) -> tuple[Path | None, list[str]]:
    """Write the photo/mask pairs of a mask reader; the file to blame (None for clean data or a
    per-line defect) and the names to list."""
    for seed, name in enumerate(GOOD):
        save(noise(seed), images / f"{name}.png")
        save(index_mask(), masks / f"{name}.png")
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    photo, mask = images / f"{BAD}.png", masks / f"{BAD}.png"
    if kind is None or kind in ("non_utf8_bytes", "missing_image"):
        return None, list(GOOD)
    save(noise(7), photo)
    save(index_mask(), mask)
    if kind in ("truncated_image", "corrupt_image"):
        file = (truncate if kind == "truncated_image" else corrupt)(photo)
    elif kind in ("truncated_label", "corrupt_label"):
        file = truncate(mask, "L") if kind == "truncated_label" else corrupt(mask)
    elif kind == "label_wrong_size":
        file = save(index_mask(size=(5, 5)), mask)
    elif kind == "out_of_range_value":
        values = CLASSES.copy()
        values[0, 0] = out_of_range
        file = save(index_mask(values), mask)
    elif kind == "missing_label":
        mask.unlink()
        file = photo
    else:
        raise _unknown(reader, kind)
    return file, _with_bad(list(GOOD), BAD)


def build_celebamask(root: Path, kind: str | None) -> Built:
    listed = root / "list.txt"
    if kind in ("empty_split", "missing_split"):
        _masked("celebamask", root / "CelebA-HQ-img", root / "CelebAMask-HQ-mask", None, 0)
        if kind == "empty_split":
            write_list(listed, [])
        return Built(listed, file=listed)
    file, names = _masked(
        "celebamask", root / "CelebA-HQ-img", root / "CelebAMask-HQ-mask", kind, 42
    )
    lines: list[bytes | str] = [f"{name}.png" for name in names]
    if kind == "non_utf8_bytes":
        lines = _with_bad(lines, b"s1\xffx.png")
    elif kind == "missing_image":
        lines = _with_bad(lines, f"{BAD}.png")
        file = root / "CelebA-HQ-img"
    write_list(listed, lines)
    return Built(listed, file=file or listed, line=None if kind is None else BAD_AT + 1)


MASK_FOLDER_OPTIONS = {"classes": ["bg", "skin", "hair", "nose", "eye"]}


def build_mask_folder(root: Path, kind: str | None) -> Built:
    split = root / "split"
    if kind == "missing_split":
        return Built(split, MASK_FOLDER_OPTIONS, file=split)
    if kind == "empty_split":
        (split / "images").mkdir(parents=True)
        (split / "masks").mkdir()
        return Built(split, MASK_FOLDER_OPTIONS, file=split)
    file, _ = _masked("mask-folder", split / "images", split / "masks", kind, 7)
    return Built(split, MASK_FOLDER_OPTIONS, file=file)


# ---- landmarks -----------------------------------------------------------------------------------

POINTS = [(3.0, 3.0), (9.0, 3.0), (6.0, 5.0), (4.0, 7.0), (8.0, 7.0)]
"""Five points inside the 12 x 10 photo (0-based pixels): eyes, nose, mouth corners."""
POINT_OPTIONS = {"points": 5, "eyes": [[0], [1]], "crop": "face"}


def _number(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:g}"


def _coordinates(kind: str | None) -> list[tuple[Any, Any]]:
    """The bad sample's points for the coordinate defects (else the good ones)."""
    points: list[tuple[Any, Any]] = list(POINTS)
    if kind == "nan_coordinate":
        points[2] = ("nan", 5.0)
    elif kind == "inf_coordinate":
        points[3] = (4.0, "inf")
    elif kind == "out_of_range_coordinate":
        points[1] = (40.0, 3.0)
    elif kind == "non_numeric_field":
        points[0] = ("three", 3.0)
    return points


COORDINATE_KINDS = (
    "nan_coordinate",
    "inf_coordinate",
    "out_of_range_coordinate",
    "non_numeric_field",
)


def _landmark_photos(
    folder: Path, kind: str | None, reader: str
) -> tuple[Path | None, list[tuple[str, list]]]:
    """Photos ``folder/<name>.png`` of the good samples and, per ``kind``, of the bad one; the
    file to blame (None for per-line defects) and ``(name, points)`` of every sample to list."""
    for seed, name in enumerate(GOOD):
        save(noise(seed), folder / f"{name}.png")
    samples = [(name, list(POINTS)) for name in GOOD]
    photo = folder / f"{BAD}.png"
    if kind is None:
        return None, samples
    known = {"truncated_image", "corrupt_image", "missing_image", "malformed_line"}
    known |= {"non_utf8_bytes", *COORDINATE_KINDS}
    if reader == "mtfl":
        known |= {"out_of_range_value", "non_finite_value"}  # of the attributes
    if kind not in known:
        raise _unknown(reader, kind)
    file = None
    if kind != "missing_image":
        save(noise(7), photo)
    if kind in ("truncated_image", "corrupt_image"):
        file = (truncate if kind == "truncated_image" else corrupt)(photo)
    elif kind == "missing_image":
        file = photo
    return file, _with_bad(samples, (BAD, _coordinates(kind)))


MTFL_ATTRIBUTES = "1 2 2 3"


def build_mtfl(root: Path, kind: str | None) -> Built:
    listed = root / "training.txt"
    if kind in ("empty_split", "missing_split"):
        if kind == "empty_split":
            write_list(listed, ["", "  "])
        return Built(listed, file=listed)
    file, samples = _landmark_photos(root / "faces", kind, "mtfl")
    lines: list[bytes | str] = []
    for name, points in samples:
        xs = " ".join(_number(x) for x, _ in points)
        ys = " ".join(_number(y) for _, y in points)
        attributes = MTFL_ATTRIBUTES
        if name == BAD and kind == "out_of_range_value":
            attributes = "1 2 2 7"
        elif name == BAD and kind == "non_finite_value":
            attributes = "nan 2 2 3"
        line = f" faces\\{name}.png {xs} {ys} {attributes}"
        if name == BAD and kind == "malformed_line":
            line = line.rsplit(" ", 1)[0]  # 14 fields
        lines.append(line)
    if kind == "non_utf8_bytes":
        lines[BAD_AT] = str(lines[BAD_AT]).encode().replace(BAD.encode(), b"s1\xffx")
    write_list(listed, lines)
    return Built(listed, file=file or listed, line=None if kind is None else BAD_AT + 1)


def write_pts(path: Path, points: list[tuple[Any, Any]], extra: str = "") -> None:
    """A version-1 ``.pts`` file of 1-based ``points`` (``extra`` appended to the third line)."""
    body = [f"{_shift(x)} {_shift(y)}" for x, y in points]
    body[2] += extra
    path.write_text("version: 1\nn_points: 5\n{\n" + "\n".join(body) + "\n}\n")


def _shift(value: Any) -> str:
    return value if isinstance(value, str) else f"{value + 1:g}"


def build_pts(root: Path, kind: str | None) -> Built:
    folder = root / "faces"
    if kind in ("empty_split", "missing_split"):
        if kind == "empty_split":
            folder.mkdir()
            (folder / "notes.txt").write_text("no .pts files here\n")
        return Built(folder, POINT_OPTIONS, file=folder)
    file, samples = _landmark_photos(folder, kind, "pts")
    for name, points in samples:
        write_pts(folder / f"{name}.pts", points)
    pts = folder / f"{BAD}.pts"
    line = None
    if kind in ("nan_coordinate", "inf_coordinate", "non_numeric_field"):
        line = 4 + next(i for i, p in enumerate(_coordinates(kind)) if p != POINTS[i])
    elif kind == "malformed_line":
        write_pts(pts, POINTS, extra=" 4")  # three numbers on the third point's line
        line = 6
    elif kind == "non_utf8_bytes":
        pts.write_bytes(pts.read_bytes().replace(b"\n10 4\n", b"\n10 4\xff\n"))
        line = 5
    if kind == "missing_image":
        file = pts  # the annotation without its image
    return Built(folder, POINT_OPTIONS, file=file or pts, line=line, lined=pts)


CSV_HEADER = "image," + ",".join(f"x{i},y{i}" for i in range(5))


def build_csv(root: Path, kind: str | None) -> Built:
    listed = root / "points.csv"
    if kind in ("empty_split", "missing_split"):
        if kind == "empty_split":
            write_list(listed, [], header=CSV_HEADER)
        return Built(listed, POINT_OPTIONS, file=listed)
    file, samples = _landmark_photos(root / "img", kind, "csv")
    lines: list[bytes | str] = []
    for name, points in samples:
        coordinates = ",".join(f"{_number(x)},{_number(y)}" for x, y in points)
        line = f"img/{name}.png,{coordinates}"
        if name == BAD and kind == "malformed_line":
            line = line.rsplit(",", 2)[0]  # one point short
        lines.append(line)
    if kind == "non_utf8_bytes":
        lines[BAD_AT] = str(lines[BAD_AT]).encode().replace(BAD.encode(), b"s1\xffx")
    write_list(listed, lines, header=CSV_HEADER)
    line_number = None if kind is None else BAD_AT + 2  # after the header
    return Built(listed, POINT_OPTIONS, file=file or listed, line=line_number)


# ---- emotion -------------------------------------------------------------------------------------


def build_folder(root: Path, kind: str | None) -> Built:
    split = root / "split"
    if kind == "missing_split":
        return Built(split, file=split)
    homes = {"s0": "happy", "s1": "happy", "s2": "sad"}
    for seed, name in enumerate(GOOD):
        if kind == "empty_split":
            (split / homes[name]).mkdir(parents=True, exist_ok=True)
        else:
            save(noise(seed, "L"), split / homes[name] / f"{name}.png")
    if kind is None:
        return Built(split)
    if kind == "empty_split":
        return Built(split, file=split)
    image = split / "happy" / f"{BAD}.png"
    if kind in ("truncated_image", "corrupt_image"):
        file = (truncate if kind == "truncated_image" else corrupt)(image)
    elif kind == "unknown_class_folder":
        save(noise(7, "L"), split / "joy" / f"{BAD}.png")
        file = split / "joy"
    else:
        raise _unknown("folder", kind)
    return Built(split, file=file)


FER_HEADER = "emotion,pixels,Usage"
FER_USAGE = "PrivateTest"  # the test split's


def build_fer2013(root: Path, kind: str | None) -> Built:
    listed = root / "fer2013.csv"
    if kind == "missing_split":
        return Built(listed, file=listed)
    rows: list[bytes | str] = [
        f"{seed},{' '.join(str(10 * seed + i) for i in range(4))},{FER_USAGE}"
        for seed, _ in enumerate(GOOD)
    ]
    bad: bytes | str | None = {
        None: None,
        "empty_split": None,
        "malformed_line": f"3,1 2 3 4,{FER_USAGE},extra",
        "non_numeric_field": f"3,1 2 x 4,{FER_USAGE}",
        "out_of_range_value": f"3,1 2 99999999999999999999 4,{FER_USAGE}",
        "non_utf8_bytes": f"3,1 2 3 4,{FER_USAGE}".encode() + b"\xff",
    }.get(kind, "unknown")
    if bad == "unknown":
        raise _unknown("fer2013-csv", str(kind))
    if kind == "empty_split":
        rows = []
    write_list(listed, _with_bad(rows, bad), header=FER_HEADER)
    return Built(listed, file=listed, line=None if bad is None else BAD_AT + 2)


BUILDERS: dict[str, Callable[[Path, str | None], Built]] = {
    "helen": build_helen,
    "fasseg": build_fasseg,
    "celebamask": build_celebamask,
    "mask-folder": build_mask_folder,
    "mtfl": build_mtfl,
    "pts": build_pts,
    "csv": build_csv,
    "folder": build_folder,
    "fer2013-csv": build_fer2013,
}


def build(reader: str, root: Path, kind: str | None) -> Built:
    """Write ``reader``'s dataset under ``root`` with the defect ``kind`` (None: none)."""
    root.mkdir(parents=True, exist_ok=True)
    return BUILDERS[reader](root, kind)


def manifest(folder: Path, reader: str, built: Built, on_bad_sample: str) -> Path:
    """A TOML manifest whose only task reads ``built`` as its test split."""
    task = TASK_OF[reader]
    options = "".join(f"{key} = {json.dumps(value)}\n" for key, value in built.options.items())
    path = folder / "manifest.toml"
    path.write_text(
        f"[model]\ninput_size = 32\n\n[tasks.{task}]\non_bad_sample = {json.dumps(on_bad_sample)}"
        f"\n\n[tasks.{task}.data]\nformat = {json.dumps(reader)}\n"
        f"{SPLIT} = {json.dumps(str(built.split))}\n{options}",
        encoding="utf-8",
    )
    return path
