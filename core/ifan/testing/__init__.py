"""A conformance suite for task plugins, in the spirit of scikit-learn's ``check_estimator``.

:func:`ifan.contract_checks.task_problems` checks a task class without running it, as ifan
does when it loads a plugin. The checks here *run* the task the way training, evaluation and
``ifan predict`` do: they read a tiny dataset that the plugin's test writes, build a real iFAN
with only this task at several input sizes, and exercise its reader, augmentation, decoder,
re-encoder, loss, metric, JSON and overlay. Every failure names the method to fix and says what
is wrong with it.

Use it from a plugin's own tests, one pytest test per check::

    import pytest
    from ifan.testing import Fixture, task_checks
    from ifan_task_age.task import AgeTask


    def utkface_fixture(folder):
        # write two or three small images into folder, in one of the task's formats
        ...
        return Fixture(format="utkface", path=folder)


    @pytest.mark.parametrize("check", task_checks(AgeTask, utkface_fixture), ids=str)
    def test_conformance(check, tmp_path):
        check(tmp_path)

or all at once, with one failure that lists every failed check:
``check_task(AgeTask, utkface_fixture, tmp_path)``.

The checks, each named ``<task>-<check>``:

- ``contract``: ``task_problems`` finds nothing (name, contract version, attributes, formats);
- ``options``: the task's ``Options()`` validates with its defaults, every ``Options`` model (the
  task's and each format's) rejects unknown keys, has a JSON schema and reuses no reserved key,
  and the fixture's options validate;
- ``reader``: the fixture's format opens a non-empty split at every size, whose samples are
  ``(image, target)`` with a float ``3 x S x S`` image in [0, 1], ``collate`` batches two of them,
  the label schema is consistent, and every target agrees with it (class indices from 0, mask
  values that are classes or 255, as many points as it names);
- ``augment``: ``augment_batch`` returns the augmented images, and moves a points or mask target
  (and swaps a flipped class) as the augmentation moves the images;
- ``shapes``: at every size, a network with only this task predicts a batch of two at iterations
  0 and 1, the re-encoder gives one ``B x feedback_channels x h x w`` map per feedback level, and
  ``prediction_maps`` gives ``B x prediction_channels x h x w``;
- ``loss``: a finite scalar per iteration whose gradient reaches the decoder and the re-encoder;
- ``metric``: an :class:`ifan.metrics.Metric` whose state is a dict of additive tensors that every
  sample changes: one update with two samples equals two metrics of one sample each, merged;
  every value is a finite number, ``main`` is one of them, ``higher_is_better`` is True or False,
  and ``layout()`` places only values it gives;
- ``json``: ``to_json`` of one image's prediction is a dict that ``json.dumps`` accepts (no NaN);
  with ``size=`` and ``box=`` too when the task takes them, and for points and masks, which must
  take them, placed on the photo where the crop ``box`` is;
- ``overlay``: ``draw_overlay`` returns a new ``PIL.Image`` (the given image is left unchanged)
  that saves as a PNG, on the face crop with and without the target and on a wider photo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from ifan.contract import Task
from ifan.testing import checks, kinds
from ifan.testing.setup import Fixture, MakeFixture

__all__ = ["Check", "Fixture", "MakeFixture", "check_task", "task_checks"]


@dataclass(frozen=True)
class Check:
    """One named conformance check; call it with a fresh temporary folder."""

    name: str
    run: Callable[[Path], None]

    def __call__(self, tmp_path: Path) -> None:
        """Run the check with the same random weights every time, on one CPU thread: the batches
        are tiny, and more threads only slow them down when other jobs share the CPUs."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                self.run(tmp_path)
        finally:
            torch.set_num_threads(threads)

    def __str__(self) -> str:
        return self.name


CHECKS: list[tuple[str, Callable[[type[Task], MakeFixture, tuple[int, ...], Path], None]]] = [
    ("contract", checks.check_contract),
    ("options", checks.check_options),
    ("reader", checks.check_reader),
    ("augment", kinds.check_augment),
    ("shapes", checks.check_shapes),
    ("loss", checks.check_loss),
    ("metric", checks.check_metric),
    ("json", checks.check_json),
    ("overlay", checks.check_overlay),
]
"""Every check, by the part of the task it runs, in the order they run."""


def task_checks(
    task: type[Task], make_fixture: MakeFixture, sizes: Sequence[int] = (32, 64)
) -> list[Check]:
    """Every conformance check of ``task``, reading the data ``make_fixture(folder)`` writes.

    ``sizes``: the input sizes the reader and the network are tried at (multiples of 32).
    """
    sizes = tuple(sizes)
    if not sizes or any(size < 32 or size % 32 for size in sizes):
        raise ValueError(f"sizes must be multiples of 32 from 32 up, got {sizes}")
    label = getattr(task, "name", None) or task.__name__
    return [
        Check(f"{label}-{what}", partial(run, task, make_fixture, sizes)) for what, run in CHECKS
    ]


def check_task(
    task: type[Task],
    make_fixture: MakeFixture,
    tmp_path: Path,
    sizes: Sequence[int] = (32, 64),
) -> None:
    """Run every check (each in its own sub-folder of ``tmp_path``); one AssertionError lists
    every check that failed, with its message."""
    failures = []
    for check in task_checks(task, make_fixture, sizes):
        folder = tmp_path / check.name
        folder.mkdir(parents=True, exist_ok=True)
        try:
            check(folder)
        except AssertionError as exc:
            failures.append(f"{check.name}: {exc}")
    if failures:
        count = f"{len(failures)} conformance check{'s' if len(failures) > 1 else ''} failed"
        raise AssertionError(f"{task.__name__}: {count}:\n" + "\n".join(f"- {f}" for f in failures))
