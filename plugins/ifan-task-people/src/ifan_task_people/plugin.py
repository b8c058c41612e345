"""Entry point of the three tasks (named in ``[project.entry-points.ifan]`` of pyproject.toml)."""

from ifan import hookimpl
from ifan.contract import Task

from ifan_task_people.attributes import GenderTask, RaceTask
from ifan_task_people.identity import IdentityTask


@hookimpl
def ifan_tasks() -> list[type[Task]]:
    return [GenderTask, RaceTask, IdentityTask]
