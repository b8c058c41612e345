"""Entry point of the ``age`` task (named in ``[project.entry-points.ifan]`` of pyproject.toml)."""

from ifan import hookimpl

from ifan_task_age.task import AgeTask


@hookimpl
def ifan_tasks() -> list[type[AgeTask]]:
    return [AgeTask]
