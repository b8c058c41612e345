"""Entry point of the built-in ``landmarks`` task (see ``[project.entry-points.ifan]``)."""

from ifan import hookimpl
from ifan_tasks.landmarks.task import LandmarksTask


@hookimpl
def ifan_tasks() -> list[type[LandmarksTask]]:
    return [LandmarksTask]
