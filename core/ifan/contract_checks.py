"""The contract's checks: every way a task class breaks :mod:`ifan.contract`, in words a plugin
author can act on. Plugin loading skips a task with problems (:mod:`ifan.plugins`); the
conformance suite (:mod:`ifan.testing`) and ``ifan tasks`` report them."""

from __future__ import annotations

import inspect

from pydantic import BaseModel

from ifan.contract import (
    FORMAT_NAME_PATTERN,
    MAX_BATCH_SIZE,
    RESERVED_DATA_KEYS,
    RESERVED_TASK_KEYS,
    TASK_NAME_PATTERN,
    DatasetFormat,
    LabelSchema,
    Task,
    contract_problem,
)
from ifan.network.taps import TAP_NAMES


def task_problems(cls: object) -> list[str]:
    """Every way ``cls`` breaks the task contract (empty when it conforms)."""
    if not (inspect.isclass(cls) and issubclass(cls, Task)):
        return [f"{cls!r} is not a subclass of ifan.contract.Task"]
    problems: list[str] = []
    label = cls.__qualname__
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not TASK_NAME_PATTERN.match(name):
        problems.append(
            f"{label}.name = {name!r}: expected a lower-case identifier such as 'landmarks'"
        )
    version = getattr(cls, "contract_version", None)
    if not isinstance(version, str):
        problems.append(f"{label}.contract_version is missing: set it to the version it targets")
    elif why := contract_problem(version):
        problems.append(f"{label} {why}")
    options = getattr(cls, "Options", None)
    if not (inspect.isclass(options) and issubclass(options, BaseModel)):
        problems.append(f"{label}.Options = {options!r}: expected a pydantic model class")
    if not isinstance(getattr(cls, "labels", None), LabelSchema):
        problems.append(f"{label}.labels: expected an ifan.contract.LabelSchema")
    batch = getattr(cls, "default_batch_size", None)
    if not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH_SIZE:
        problems.append(
            f"{label}.default_batch_size = {batch!r}: expected an integer from 1 to "
            f"{MAX_BATCH_SIZE}"
        )
    tap = getattr(cls, "default_tap", None)
    if tap not in TAP_NAMES:
        problems.append(f"{label}.default_tap = {tap!r}: expected one of {', '.join(TAP_NAMES)}")
    if inspect.isclass(options) and issubclass(options, BaseModel):
        shadowed = sorted(RESERVED_TASK_KEYS & set(options.model_fields))
        if shadowed:
            problems.append(
                f"{label}.Options defines {', '.join(shadowed)}, which the manifest "
                "reserves for every task: rename them"
            )
    problems.extend(_format_problems(label, getattr(cls, "formats", None)))
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        problems.append(f"{label} does not implement: {missing}")
    return problems


def _format_problems(label: str, formats: object) -> list[str]:
    if not isinstance(formats, (list, tuple)) or not formats:
        return [f"{label}.formats: expected a non-empty list of DatasetFormat instances"]
    problems = []
    seen: set[str] = set()
    for fmt in formats:
        if not isinstance(fmt, DatasetFormat):
            problems.append(f"{label}.formats: {fmt!r} is not a DatasetFormat instance")
            continue
        name = getattr(fmt, "name", None)
        if not isinstance(name, str) or not FORMAT_NAME_PATTERN.match(name):
            problems.append(f"{label}.formats: format name {name!r} is not a lower-case name")
        elif name in seen:
            problems.append(f"{label}.formats: format {name!r} is listed twice")
        seen.add(str(name))
        if not (inspect.isclass(fmt.Options) and issubclass(fmt.Options, BaseModel)):
            problems.append(f"{label}.formats[{name!r}].Options: expected a pydantic model class")
        elif shadowed := sorted(RESERVED_DATA_KEYS & set(fmt.Options.model_fields)):
            problems.append(
                f"{label}.formats[{name!r}].Options defines {', '.join(shadowed)}, which the "
                "manifest reserves for every format: rename them"
            )
    return problems
