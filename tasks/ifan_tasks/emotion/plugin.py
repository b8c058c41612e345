"""Entry point of the built-in ``emotion`` task (see ``[project.entry-points.ifan]``)."""

from ifan import hookimpl
from ifan_tasks.emotion.task import EmotionTask


@hookimpl
def ifan_tasks() -> list[type[EmotionTask]]:
    return [EmotionTask]
