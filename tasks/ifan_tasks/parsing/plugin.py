"""Entry point of the built-in ``parsing`` task (see ``[project.entry-points.ifan]``)."""

from ifan import hookimpl
from ifan_tasks.parsing.task import ParsingTask


@hookimpl
def ifan_tasks() -> list[type[ParsingTask]]:
    return [ParsingTask]
