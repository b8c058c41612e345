"""The error types of ifan. Every message says what is wrong, where, and what to do about it."""

from __future__ import annotations


class IfanError(Exception):
    """Base of every error ifan raises on purpose; the CLI prints it without a traceback."""


class PluginError(IfanError):
    """A plugin could not be loaded or is invalid (raised under strict plugin loading)."""


class TaskConflictError(PluginError):
    """Two distributions provide a task of the same name."""


class ManifestError(IfanError):
    """A manifest is unreadable or invalid; ``problems`` holds every problem found, one a line."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{source}: {count}\n" + "\n".join(f"  - {p}" for p in problems))


class BackboneError(IfanError):
    """A backbone cannot be built: an unusable timm encoder or a checkpoint that does not fit it."""


class FeaturesError(IfanError):
    """Features that cannot be made or used: a task without a linear layer, unreadable photos,
    a file of another model or of other faces, a split without labels."""


class ComparisonError(IfanError):
    """A run or a baseline cannot be compared: not a run, no scores, no baseline, a mismatch."""
