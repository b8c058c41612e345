"""The identity task's dataset format: one sub-folder of photos per person, ``<Person>/<image>``
(LFW's layout), with validation and test images held out of each person's photos.

Identification is closed-set: every person of val and test is a class the model trained on, so
val and test are carved *per person* (some photos of each person held out), never by person.
Give ``train``, ``val`` and ``test`` the same folder with ``val_per_person`` and
``test_per_person``: each person's photos are drawn at random by ``hold_out_seed`` and the name
of the person (so one person's draw does not depend on who else is in the folder), the first
``test_per_person`` of them go to test, the next ``val_per_person`` to val and the rest to train.
A person with no more photos than that keeps them all in train. A split whose count is 0 reads
its folder whole (a val or test folder of its own); the manifest's ``val_fraction`` carves val at
random out of train instead.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path

from ifan.contract import DatasetFormat, FormatOptions, LabelSchema, OpenContext, Split
from ifan.data.classes import ClassRecord, open_class_records, read_class_folders
from ifan.data.dataset import RecordDataset
from ifan.data.errors import DatasetError
from ifan.manifest.schema import ResolvedPath
from pydantic import Field, model_validator

MAX_HELD_OUT = 10_000


def person_folders(folder: Path, leave_out: Sequence[str] = ()) -> list[str]:
    """The people of a folder: its sub-folders (hidden ones and ``leave_out`` left out), sorted.
    A :class:`ValueError` naming the folder when it is missing or has fewer than two."""
    if not folder.is_dir():
        raise ValueError(
            f"people = {str(folder)!r}: no such folder; give the folder of person sub-folders, "
            "or list the people"
        )
    names = sorted(
        p.name
        for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in leave_out
    )
    if len(names) < 2:
        raise ValueError(f"people = {str(folder)!r}: {len(names)} person sub-folders, need 2")
    return names


class PeopleOptions(FormatOptions):
    """``[tasks.identity.data]`` options of the ``folder`` format."""

    people: list[str] | ResolvedPath = Field(
        description="the people, in class-index order: a list of sub-folder names, or a folder "
        "whose sub-folders name them (sorted). A model trained from a folder needs it wherever "
        "its manifest is read again (ifan eval, ifan predict): list the names for a model you "
        "ship",
    )
    leave_out: list[str] = Field(
        default=[],
        description="sub-folders not read, people the model does not have; their images are "
        "counted and reported",
    )
    val_per_person: int = Field(
        default=0,
        ge=0,
        le=MAX_HELD_OUT,
        description="photos of each person that form val, held out of train (give val the same "
        "folder as train); 0: val reads its folder whole",
    )
    test_per_person: int = Field(
        default=0,
        ge=0,
        le=MAX_HELD_OUT,
        description="photos of each person that form test, held out of train and val (give test "
        "the same folder); 0: test reads its folder whole",
    )
    hold_out_seed: int = Field(
        default=0,
        ge=0,
        description="which photos are held out: the same seed holds out the same photos",
    )

    @model_validator(mode="after")
    def _names(self) -> PeopleOptions:
        if isinstance(self.people, Path):
            self.people = person_folders(self.people, self.leave_out)
        if len(self.people) < 2:
            raise ValueError(f"people lists {len(self.people)} person, need at least 2")
        twice = sorted({name for name in self.people if self.people.count(name) > 1})
        if twice:
            raise ValueError(f"people names {', '.join(twice)} twice")
        both = sorted(set(self.leave_out) & set(self.people))
        if both:
            raise ValueError(
                f"leave_out names {', '.join(both)}, which people lists: leave it out of one"
            )
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """The people, in class-index order."""
        assert not isinstance(self.people, Path)  # the validator lists a folder's
        return tuple(self.people)


def held_out_split(
    records: Sequence[ClassRecord],
    names: Sequence[str],
    split: Split,
    val: int,
    test: int,
    seed: int,
) -> list[ClassRecord]:
    """The records of ``split`` when each person holds out ``test`` photos for test and ``val``
    for val (see the module's docstring); in the order of ``records``."""
    if (split == "val" and val == 0) or (split == "test" and test == 0) or val + test == 0:
        return list(records)
    by_person: dict[int, list[int]] = {}
    for index, (_, label) in enumerate(records):
        by_person.setdefault(label, []).append(index)
    kept: list[int] = []
    for label, indices in by_person.items():
        if len(indices) <= val + test:
            kept += indices if split == "train" else []
            continue
        drawn = random.Random(f"{seed}/{names[label]}").sample(indices, len(indices))
        share = {
            "test": drawn[:test],
            "val": drawn[test : test + val],
            "train": drawn[test + val :],
        }
        kept += share[split]
    return [records[i] for i in sorted(kept)]


class PeopleFolderFormat(DatasetFormat[PeopleOptions]):
    """One sub-folder per person, ``<Person>/<image>`` (LFW); the person is the class."""

    name = "folder"
    description = "one sub-folder of photos per person, <Person>/<image> (LFW)"
    split_paths = "a folder of person sub-folders (the same for every split: see val_per_person)"
    Options = PeopleOptions

    def labels(self, options: PeopleOptions) -> LabelSchema:
        """One class per person, in the order of ``people``; a flip swaps none (a name is never
        read for a left or right)."""
        return LabelSchema(kind="class", names=options.names, mirror=())

    def open(
        self, path: Path, split: Split, options: PeopleOptions, ctx: OpenContext
    ) -> RecordDataset:
        names = options.names
        records = read_class_folders(path, names, ctx.bad, None, options.leave_out, "people")
        records = held_out_split(
            records,
            names,
            split,
            options.val_per_person,
            options.test_per_person,
            options.hold_out_seed,
        )
        if not records:
            held = options.val_per_person + options.test_per_person
            raise DatasetError(
                f"{path}: no photos for {split}: no person has more than {held} photos, the "
                "photos val_per_person and test_per_person hold out; lower them"
            )
        return open_class_records(records, ctx)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ifan_task_people.people FOLDER``: the data table's ``people = [...]`` line
    for the person sub-folders of ``FOLDER``, to paste into a manifest (a model that lists its
    people needs no folder when its manifest is read again)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m ifan_task_people.people FOLDER", file=sys.stderr)
        return 2
    try:
        names = person_folders(Path(args[0]))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"people = {json.dumps(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
