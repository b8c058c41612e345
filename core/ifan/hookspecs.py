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

A specification's body only raises: pluggy reads its name, signature and docstring, and calls the
plugins' implementations, never the specification.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ifan.balancers import Balancer
    from ifan.contract import Task
    from ifan.detection import FaceDetector
    from ifan.loggers import TrainingLogger
    from ifan.pretrained import PretrainedModel

PROJECT_NAME = "ifan"
ENTRY_POINT_GROUP = "ifan"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's function as the implementation of the hook of its name: ``@hookimpl`` then
``def ifan_tasks(): ...``."""


@hookspec
def ifan_tasks() -> list[type[Task]]:
    """Return the task classes this plugin provides.

    Each is a subclass of :class:`ifan.contract.Task` with a unique ``name``, the
    ``contract_version`` it targets, its options model, label schema, dataset formats and default
    backbone tap. The core checks every class; an invalid one is reported with the plugin's
    distribution and version and skipped, without affecting other plugins.
    """
    raise NotImplementedError


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
    raise NotImplementedError


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
    raise NotImplementedError


@hookspec
def ifan_balancers() -> list[type[Balancer]]:
    """Return the loss balancers this plugin provides (contract 1.3).

    Each is a subclass of :class:`ifan.balancers.Balancer` with a unique lower-case ``name``, a
    ``description`` and an ``Options`` model (a subclass of
    :class:`ifan.balancers.BalancerOptions`). A manifest chooses one by name, its options beside
    the name: ``[train.balancer] name = "NAME"``; the core validates the options and makes one
    balancer per run, which weighs every stage-2 update's loss (``Balancer.weigh``), may
    learn parameters the run's optimizer trains, sees the shared gradients after each backward
    pass and each task's mean loss after each epoch, and keeps its state in the checkpoints.
    The built-in ``fixed``, ``uncertainty``, ``dwa`` and ``gradnorm`` cannot be replaced; a
    class that is invalid or claims a taken name is reported and left out, the others stay.
    """
    raise NotImplementedError


@hookspec
def ifan_loggers() -> list[type[TrainingLogger]]:
    """Return the training loggers this plugin provides (contract 1.3).

    Each is a subclass of :class:`ifan.loggers.TrainingLogger` with a unique lower-case
    ``name``; it overrides the methods of the training events it wants (``run_started``,
    ``epoch_ended``, ``validated``, ``checkpoint_saved``, ``run_ended``, each given a frozen
    dataclass of :mod:`ifan.loggers.events`) and ``close``. A manifest chooses loggers by name:
    ``train.loggers = ["csv", "NAME"]``. The trainer makes each one with the run folder in the
    first process only (rank 0 under torchrun); one that raises when made or in
    ``run_started`` stops the run before its first update, and one that raises later is
    reported once and dropped while training goes on. Import heavy dependencies (an experiment
    tracker's client) in ``__init__``, not when the plugin loads. The built-in ``csv`` and
    ``tensorboard`` cannot be replaced.
    """
    raise NotImplementedError
