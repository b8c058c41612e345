"""What a reader does with a bad sample: stop with the error (the default) or skip and count it;
and the samples it leaves out on purpose, counted.

A bad sample is one record a reader cannot use (an unreadable image, a missing label, points
outside the image, a malformed line, a label of another size than its photo). Readers hand each
such :class:`~ifan.data.errors.DatasetError` to :meth:`BadSamples.report`; the manifest's
``tasks.<name>.on_bad_sample`` decides whether it is raised or kept as a counted reason. Errors
about a whole split (a missing folder, an empty list) are always raised. Samples a data table
asks to leave out (a class the model does not have) are no error: :meth:`BadSamples.leave_out`
counts them, and ``ifan data`` and ``ifan eval`` report them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Literal, TypeVar

from ifan.data.errors import DatasetError

OnBadSample = Literal["error", "skip"]
R = TypeVar("R")
T = TypeVar("T")


@dataclass
class BadSamples:
    """The bad-sample policy of one split, and the reasons of every sample it skipped."""

    policy: OnBadSample = "error"
    reasons: list[str] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)
    """Samples left out on purpose: how many, by what was left out (e.g. a class folder)."""

    def report(self, error: DatasetError) -> None:
        """Raise ``error`` (policy ``error``) or count it as a skipped sample (``skip``)."""
        if self.policy == "error":
            raise error
        self.reasons.append(str(error))

    def keep(self, make: Callable[[], R]) -> R | None:
        """``make()``, or None after reporting the :class:`DatasetError` it raised."""
        try:
            return make()
        except DatasetError as error:
            self.report(error)
            return None

    def keep_each(
        self, items: Iterable[T], make: Callable[[T], R], nothing: str | None = None
    ) -> list[R]:
        """``make(item)`` for every item whose record is good, each bad one reported; a
        :class:`DatasetError` saying ``nothing`` (e.g. ``"list.txt: no usable faces"``) when none
        is left, since a split without samples is an error whatever the policy."""
        kept = [record for item in items if (record := self.keep(partial(make, item))) is not None]
        if not kept and nothing is not None:
            raise DatasetError(nothing)
        return kept

    def leave_out(self, what: str, count: int = 1) -> None:
        """Count ``count`` samples of ``what`` (e.g. ``"contempt"``, a class folder the data
        table leaves out) as left out on purpose (contract 1.3): never an error, whatever the
        policy, but reported."""
        self.left_out[what] = self.left_out.get(what, 0) + count

    def left_out_summary(self) -> str:
        """``N left out (what N, ...)``, or an empty string when nothing was left out."""
        return left_out_summary(self.left_out)

    @property
    def count(self) -> int:
        """How many samples were skipped."""
        return len(self.reasons)

    def summary(self, first: int = 3) -> str:
        """``skipped N bad samples``, then the first reasons, one a line."""
        if not self.reasons:
            return "no bad samples"
        lines = [f"{skipped(self.count)}:"]
        lines += [f"  {reason}" for reason in self.reasons[:first]]
        if self.count > first:
            lines.append(f"  ... and {self.count - first} more")
        return "\n".join(lines)


def skipped(count: int) -> str:
    """``skipped N bad sample(s)``, in the number ``count`` asks for."""
    return f"skipped {count} bad sample{'' if count == 1 else 's'}"


def left_out_summary(left_out: Mapping[str, int]) -> str:
    """``N left out (what N, ...)`` of counts by what was left out; empty when there are none."""
    if not left_out:
        return ""
    parts = ", ".join(f"{what} {count}" for what, count in left_out.items())
    return f"{sum(left_out.values())} left out ({parts})"
