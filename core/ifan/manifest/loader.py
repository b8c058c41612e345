"""Validating a manifest into typed configuration, collecting every problem before reporting.

Each problem names the file (and line, when known), the key path, the bad value and what was
expected; values that came from ``--set`` say so.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ifan.balancers import ChosenBalancer, balancers
from ifan.contract import (
    RESERVED_DATA_KEYS,
    RESERVED_TASK_KEYS,
    SPLITS,
    FormatOptions,
    Split,
    Task,
    TaskOptions,
)
from ifan.data.augment import AugmentOptions
from ifan.data.bad_samples import OnBadSample
from ifan.errors import ManifestError
from ifan.loggers import TrainingLogger, loggers
from ifan.manifest.document import Document, Key, read_document
from ifan.manifest.overrides import apply_overrides, parse_override
from ifan.manifest.schema import (
    ModelConfig,
    TrainConfig,
    data_model,
    task_model,
)
from ifan.network.taps import TAP_NAMES
from ifan.plugins import PluginRegistry, TaskEntry, load_registry
from ifan.provided import Provided

TOP_LEVEL_KEYS = ("model", "train", "tasks")


@dataclass(frozen=True)
class DataConfig:
    """``[tasks.<name>.data]``: the format, the path of each split given, and the format options."""

    format: str
    splits: dict[Split, Path]
    options: FormatOptions
    val_fraction: float | None = None
    train_samples: int | None = None
    oversample: dict[str, dict[int, float]] = field(default_factory=dict)
    """``{target key: {value: weight}}`` of the training split (:mod:`ifan.data.oversample`)."""


@dataclass(frozen=True)
class TaskConfig:
    """One validated ``[tasks.<name>]`` table."""

    name: str
    entry: TaskEntry
    batch_size: int
    loss_weight: float
    tap: str
    data: DataConfig
    options: TaskOptions
    on_bad_sample: OnBadSample = "error"
    augment: AugmentOptions = field(default_factory=AugmentOptions)

    def build_task(self) -> Task:
        """The task object, with the label schema its dataset format defines."""
        cls = self.entry.cls
        labels = cls.format(self.data.format).labels(self.data.options)
        return cls(self.options, labels)


@dataclass(frozen=True)
class Manifest:
    """A validated manifest. ``data`` is the plain data it was built from (overrides applied)."""

    source: Path
    data: dict[str, Any]
    model: ModelConfig
    train: TrainConfig
    tasks: dict[str, TaskConfig]
    warnings: list[str] = field(default_factory=list)
    balancer: ChosenBalancer = field(default_factory=ChosenBalancer)
    """``train.balancer`` resolved to its class and validated options (the default when the
    manifest was validated for use rather than training)."""
    loggers: tuple[Provided[TrainingLogger], ...] = ()
    """``train.loggers`` resolved to their classes (none when validated for use)."""


def load_manifest(
    path: str | Path,
    overrides: Sequence[str] = (),
    registry: PluginRegistry | None = None,
    only: Sequence[str] | None = None,
) -> Manifest:
    """Read, override and validate a manifest file; a ManifestError lists every problem.
    ``only`` keeps just those of its tasks (``ifan train --tasks``), in the manifest's order."""
    path = Path(path)
    document = read_document(path)
    return validate_document(document, overrides, registry, only)


def validate_document(
    document: Document,
    overrides: Sequence[str] = (),
    registry: PluginRegistry | None = None,
    only: Sequence[str] | None = None,
    training: bool = True,
) -> Manifest:
    """Validate already-parsed manifest data (see :func:`load_manifest`). Without ``training``
    (evaluating or predicting with a trained run), ``train.balancer`` and ``train.loggers`` are
    checked for their form only, so their plugins need not be installed."""
    registry = registry if registry is not None else load_registry()
    overridden = {parse_override(o)[0]: o for o in overrides}
    data = apply_overrides(document.data, list(overrides))
    if only is not None:
        data = _keep_tasks(document, data, only)
    checker = _Checker(document, overridden)
    context = {"base_dir": document.source.parent.resolve()}

    for key in data:
        if key not in TOP_LEVEL_KEYS:
            checker.unknown_key((str(key),), TOP_LEVEL_KEYS)
    model = checker.validate(ModelConfig, data.get("model", {}), ("model",), context)
    train = checker.validate(TrainConfig, data.get("train", {}), ("train",), context)
    tasks = _validate_tasks(data.get("tasks"), registry, checker, context)
    if train is not None and train.keep_best is not None and tasks:
        _check_keep_best(train.keep_best, tasks, checker)
    chosen: dict[str, Any] = {}
    if train is not None and training:
        chosen["balancer"] = _choose_balancer(train, registry, checker, context)
        chosen["loggers"] = _choose_loggers(train, registry, checker)

    if checker.problems:
        raise ManifestError(str(document.source), checker.problems)
    assert isinstance(model, ModelConfig) and isinstance(train, TrainConfig)
    warnings = [
        f"{document.where(('tasks', name, 'data', split))}: tasks.{name}.data.{split}: "
        f"{path} does not exist"
        for name, task in tasks.items()
        for split, path in task.data.splits.items()
        if not path.exists()
    ]
    return Manifest(document.source, data, model, train, tasks, warnings, **chosen)


def _keep_tasks(document: Document, data: dict[str, Any], only: Sequence[str]) -> dict[str, Any]:
    """``data`` with only the tasks named in ``only`` (the others are never validated, so their
    plugins need not be installed nor their data present)."""
    tables = data.get("tasks")
    if not isinstance(tables, dict):
        tables = {}
    names = list(tables)
    unknown = [name for name in only if name not in names]
    if unknown or not only:
        raise ManifestError(
            str(document.source),
            [
                f"--tasks {','.join(only)}: {document.source.name} has no task "
                f"{', '.join(map(repr, unknown)) or '(none named)'}; its tasks are "
                f"{', '.join(names) or 'none'}"
            ],
        )
    return {**data, "tasks": {name: tables[name] for name in names if name in only}}


def _check_keep_best(keep_best: str, tasks: dict[str, TaskConfig], checker: _Checker) -> None:
    """``train.keep_best`` names a task of the manifest, with a validation split, and its main
    metric: the only value whose direction (``higher_is_better``) the task declares."""
    key = ("train", "keep_best")
    name, _, metric = keep_best.partition(".")
    if name not in tasks:
        checker.add(key, f"no task {name!r} here; the tasks are {', '.join(tasks)}", keep_best)
        return
    data = tasks[name].data
    if "val" not in data.splits and data.val_fraction is None:
        checker.add(
            key,
            f"tasks.{name} has no validation split to compare: give tasks.{name}.data.val or "
            f"tasks.{name}.data.val_fraction",
            keep_best,
        )
    scorer = tasks[name].build_task().new_metric()
    if metric != scorer.main:
        direction = "higher" if scorer.higher_is_better else "lower"
        checker.add(
            key,
            f"{name}'s metric declares which way is better for its main value only, "
            f"{scorer.main!r} ({direction} is better): use '{name}.{scorer.main}'",
            keep_best,
        )


def _choose_balancer(
    train: TrainConfig, registry: PluginRegistry, checker: _Checker, context: dict[str, Any]
) -> ChosenBalancer:
    """``train.balancer``'s class and options (the default after recording a problem)."""
    key = ("train", "balancer")
    found = balancers(registry)
    name = train.balancer.name
    if name not in found.found:
        checker.add((*key, "name"), found.unknown_message(name), name)
        return ChosenBalancer()
    provided = found.found[name]
    options = checker.validate(
        provided.cls.Options, train.balancer.options, key, context, ("name",)
    )
    return ChosenBalancer() if options is None else ChosenBalancer(provided, options)


def _choose_loggers(
    train: TrainConfig, registry: PluginRegistry, checker: _Checker
) -> tuple[Provided[TrainingLogger], ...]:
    """``train.loggers``' classes, in the manifest's order (the known ones)."""
    found = loggers(registry)
    for name in train.loggers:
        if name not in found.found:
            checker.add(("train", "loggers"), found.unknown_message(name), name)
    return tuple(found.found[name] for name in train.loggers if name in found.found)


def _validate_tasks(
    tables: Any, registry: PluginRegistry, checker: _Checker, context: dict[str, Any]
) -> dict[str, TaskConfig]:
    if tables is None:
        checker.add(
            ("tasks",),
            "required table is missing: add at least one [tasks.<name>] "
            f"table (installed tasks: {', '.join(registry.names) or 'none'})",
        )
        return {}
    if not isinstance(tables, dict) or not tables:
        checker.add(("tasks",), "expected a table with at least one [tasks.<name>] table", tables)
        return {}
    configs = {}
    for name, table in tables.items():
        key = ("tasks", str(name))
        if name not in registry.tasks:
            checker.add(key, registry.missing_task_message(str(name)))
            continue
        if not isinstance(table, dict):
            checker.add(key, "expected a table", table)
            continue
        config = _validate_task(registry.tasks[name], table, checker, context)
        if config is not None:
            configs[name] = config
    return configs


def _validate_task(
    entry: TaskEntry, table: dict[str, Any], checker: _Checker, context: dict[str, Any]
) -> TaskConfig | None:
    cls = entry.cls
    key: Key = ("tasks", cls.name)
    rest = {k: v for k, v in table.items() if k != "data"}
    common = checker.validate(task_model(cls, with_data=False), rest, key, context, ("data",))
    data = _validate_data(cls, table.get("data"), checker, (*key, "data"), context)
    if common is None or data is None:
        return None
    tap = common.tap or cls.default_tap
    if tap not in TAP_NAMES:
        checker.add((*key, "tap"), f"expected one of {', '.join(TAP_NAMES)}", tap)
        return None
    option_values = {k: v for k, v in rest.items() if k not in RESERVED_TASK_KEYS}
    options = cls.Options.model_validate(option_values, context=context)
    return TaskConfig(
        cls.name,
        entry,
        common.batch_size,
        common.loss_weight,
        tap,
        data,
        options,
        common.on_bad_sample,
        common.augment,
    )


def _validate_data(
    cls: type[Task], table: Any, checker: _Checker, key: Key, context: dict[str, Any]
) -> DataConfig | None:
    names = [fmt.name for fmt in cls.formats]
    if table is None:
        checker.add(
            key,
            f"required table is missing: add [{'.'.join(key)}] with format "
            f"(one of {', '.join(names)}) and the train, val and test paths",
        )
        return None
    if not isinstance(table, dict):
        checker.add(key, "expected a table with format and train, val, test paths", table)
        return None
    name = table.get("format")
    if name not in names:
        reads = f"{cls.name} reads {', '.join(names)}"
        if name is None:
            checker.add((*key, "format"), f"required key is missing; {reads}")
        else:
            checker.add((*key, "format"), f"unknown format; {reads}", name)
        return None
    fmt = cls.format(name)
    validated = checker.validate(data_model(fmt), table, key, context)
    if validated is None:
        return None
    splits = {s: getattr(validated, s) for s in SPLITS if getattr(validated, s) is not None}
    option_values = {k: v for k, v in table.items() if k not in RESERVED_DATA_KEYS}
    options = fmt.Options.model_validate(option_values, context=context)
    return DataConfig(
        name,
        splits,
        options,
        validated.val_fraction,
        validated.train_samples,
        validated.oversample,
    )


class _Checker:
    """Collects problems as ``file:line: key.path = value: what was expected``."""

    def __init__(self, document: Document, overridden: dict[Key, str]):
        self.document = document
        self.overridden = overridden
        self.problems: list[str] = []

    def add(self, key: Key, message: str, value: Any = ...) -> None:
        shown = "" if value is ... else f" = {value!r}"
        origin = self.overridden.get(key)
        source = f" (from --set {origin})" if origin else ""
        self.problems.append(
            f"{self.document.where(key)}: {'.'.join(key)}{shown}{source}: {message}"
        )

    def unknown_key(self, key: Key, allowed: Sequence[str]) -> None:
        close = difflib.get_close_matches(key[-1], allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        self.add(key, f"unknown key; {hint}valid keys here: {', '.join(allowed)}")

    def validate(
        self,
        model: type[BaseModel],
        value: Any,
        key: Key,
        context: dict[str, Any],
        also_allowed: Sequence[str] = (),
    ) -> Any:
        """The validated model, or None after recording its problems.

        ``also_allowed`` are keys of the same table that are validated elsewhere.
        """
        if not isinstance(value, dict):
            self.add(key, "expected a table", value)
            return None
        try:
            return model.model_validate(value, context=context)
        except ValidationError as exc:
            for error in exc.errors():
                self._add_pydantic(model, key, error, also_allowed)
            return None

    def _add_pydantic(
        self, model: type[BaseModel], prefix: Key, error: Any, also_allowed: Sequence[str]
    ) -> None:
        loc = tuple(str(part) for part in error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            extra = also_allowed if len(loc) == 1 else ()
            self.unknown_key(prefix + loc, [*_keys_at(model, loc[:-1]), *extra])
            return
        message = str(error["msg"]).removeprefix("Value error, ")
        if kind == "missing":
            self.add(prefix + loc, "required key is missing")
        else:
            self.add(prefix + loc, message, error.get("input", ...) if loc else ...)


def _keys_at(model: type[BaseModel], loc: Key) -> list[str]:
    for part in loc:
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
