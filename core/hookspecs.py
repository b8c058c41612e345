"""The hook specifications of ifan: everything a plugin can provide, in one documented module.

Plugins are found through the ``ifan`` entry-point group. An entry point names a module (or any
object) whose functions are marked with :data:`hookimpl` and named like a hook below::

    # pyproject.toml of your plugin
    [project.entry-points.ifan]
    age = "ifan_task_age.plugin"

    # ifan_task_age/plugin.py
    from ifan import hookimpl

    @hookimpl
    def ifan_tasks():
        return [AgeTask]

The built-in tasks (parsing, landmarks, emotion) are registered through this very mechanism, by
the ``ifan`` distribution's own entry points. A plugin implements only the hooks it needs; new,
optional hooks (such as :func:`ifan_face_detectors`) are added here in later contract minor
versions without breaking existing plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ifan.contract import Task
    from ifan.detection import FaceDetector
    from ifan.pretrained import PretrainedModel

PROJECT_NAME = "ifan"
ENTRY_POINT_GROUP = "ifan"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def ifan_tasks() -> list[type[Task]]:
    """Return the task classes this plugin provides.

    Each is a subclass of :class:`ifan.contract.Task` with a unique ``name``, the
    ``contract_version`` it targets, its options model, label schema, dataset formats and default
    backbone tap. The core checks every class; an invalid one is reported with the plugin's
    distribution and version and skipped, without affecting other plugins.
    """


@hookspec
def ifan_face_detectors() -> list[FaceDetector]:
    """Return the face detectors this plugin provides, for ``ifan predict`` on whole photos.

    Each is an object with a unique ``name`` (a lower-case identifier) and a method
    ``detect(image: PIL.Image.Image) -> list[ifan.detection.FaceBox]``: every face's box
    ``(x0, y0, x1, y1)`` in the photo's pixels and a score in [0, 1], most confident first. The
    predictor crops a square around each box (enlarged by a margin) as the network's input. The
    built-in ``yuface`` detector is the default; a plugin's
    detector replaces it when chosen by name: ``ifan predict --detector NAME`` or
    ``Predictor.predict(image, detector="NAME")``. A detector should import its heavy
    dependencies in ``detect``, not when the plugin loads.
    """


@hookspec
def ifan_models() -> list[PretrainedModel]:
    """Return the pretrained models this plugin ships (contract 1.2).

    Each is an :class:`ifan.pretrained.PretrainedModel`: a unique lower-case ``name``, the
    ``weights`` file written by ``ifan export RUN --weights FILE`` (safetensors: the weights and
    the run's manifest, never a pickle), the model ``card`` and, optionally, the ``manifest`` it
    was trained from and a one-line ``summary``. Installed models are listed by ``ifan models``
    and load by name wherever a run folder is accepted: ``ifan predict NAME photo.jpg``,
    ``ifan eval NAME``, ``ifan.load("NAME")``. Their tasks' plugins must be installed too
    (declare them as dependencies). Ship the files as package data, found with
    ``importlib.resources`` or ``Path(__file__).parent``.
    """
