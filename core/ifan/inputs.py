"""What ``ifan predict`` reads: photos and videos named on the command line, and the photos of the
folders it walks.

A folder is walked recursively, in sorted order, without following linked folders; its files are
taken as photos by their suffix (:data:`ifan.data.images.IMAGE_SUFFIXES`, any case), and every
other file is skipped with its reason. A named file is a video by its suffix
(:data:`VIDEO_SUFFIXES`), else a photo, whatever its suffix; a named photo must be readable (its
header is checked here, so a typo fails before the network is loaded); any photo that still
cannot be decoded is skipped when it is read (:mod:`ifan.photos`).

Each input gets an output name: a named file its stem, a file found in a folder its path
relative to that folder without the suffix (``photos/a/b/x.jpg`` under ``photos`` is
``a/b/x``), so the outputs mirror the folder tree under ``--out`` and two photos of one name in
different subfolders do not collide. Two inputs of one name are refused (:func:`check_outputs`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ifan.data.images import IMAGE_SUFFIXES, image_size
from ifan.errors import IfanError

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv")
"""Named files with these suffixes (any case) are read as videos."""

IMAGE_OUTPUTS = (".json", ".png")
VIDEO_OUTPUTS = (".jsonl", ".mp4")
"""The files written per photo and per video, beside each other under ``--out``."""


@dataclass(frozen=True)
class InputFile:
    """One photo or video to predict, and the name its outputs take."""

    path: Path
    name: Path
    """Relative, without a suffix: the stem of a named file, or the path below the folder walked."""

    def output(self, out: Path, suffix: str) -> Path:
        """Its output file with ``suffix`` under ``out`` (``out/a/b/x.json``)."""
        return out / self.name.parent / f"{self.name.name}{suffix}"


@dataclass(frozen=True)
class Skipped:
    """A file that was not predicted, and why."""

    path: Path
    reason: str


@dataclass
class Inputs:
    """The photos and videos to predict, in order, and the files skipped while walking."""

    photos: list[InputFile] = field(default_factory=list)
    videos: list[InputFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def is_video(path: Path) -> bool:
    """Whether a named file is read as a video, by its suffix."""
    return path.suffix.lower() in VIDEO_SUFFIXES


def find_inputs(paths: Sequence[str | os.PathLike]) -> Inputs:
    """The photos and videos of ``paths`` (files and folders), as the module docstring says.

    Raises an :class:`IfanError` for a path that does not exist, a named photo that is not
    readable, or when nothing at all is left to predict.
    """
    found = Inputs()
    for given in map(Path, paths):
        if given.is_dir():
            _walk(given, found)
        elif is_video(given) and given.is_file():
            found.videos.append(InputFile(given, Path(given.stem)))
        elif given.exists():
            image_size(given)  # a clear error now, before the network is loaded
            found.photos.append(InputFile(given, Path(given.stem)))
        else:
            raise IfanError(f"{given}: no such file or folder")
    if not found.photos and not found.videos:
        suffixes = " ".join(IMAGE_SUFFIXES)
        raise IfanError(
            f"no photo or video to predict in {', '.join(map(str, paths))}: a folder's photos "
            f"are found by their suffix ({suffixes}, any case); name a video file to predict it"
        )
    return found


def _walk(folder: Path, found: Inputs) -> None:
    """Add the photos under ``folder`` to ``found``, and every other file to its skipped."""
    for root, folders, files in os.walk(folder):
        folders.sort()
        for name in sorted(files):
            path = Path(root, name)
            suffix = path.suffix.lower()
            if suffix in IMAGE_SUFFIXES:
                found.photos.append(InputFile(path, path.relative_to(folder).with_suffix("")))
            elif suffix in VIDEO_SUFFIXES:
                found.skipped.append(Skipped(path, "a video: name it to predict its frames"))
            else:
                found.skipped.append(Skipped(path, f"not a photo ({suffix or 'no suffix'})"))


def check_outputs(inputs: Inputs, out: Path) -> None:
    """Refuse two inputs whose outputs would overwrite each other, and outputs that would
    overwrite an input (``--out`` pointed at the photos' own folder)."""
    seen: dict[Path, Path] = {}
    for file in [*inputs.photos, *inputs.videos]:
        if file.name in seen:
            raise IfanError(
                f"{seen[file.name]} and {file.path} would both be written as "
                f"{file.output(out, '.*')}: rename one, or predict them into separate --out "
                "folders"
            )
        seen[file.name] = file.path
    sources = {file.path.resolve() for file in [*inputs.photos, *inputs.videos]}
    for files, suffixes in ((inputs.photos, IMAGE_OUTPUTS), (inputs.videos, VIDEO_OUTPUTS)):
        for file in files:
            for suffix in suffixes:
                if file.output(out, suffix).resolve() in sources:
                    raise IfanError(
                        f"{file.output(out, suffix)} would overwrite an input photo or video: "
                        "choose another --out folder"
                    )
