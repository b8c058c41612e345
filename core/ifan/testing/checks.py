"""The conformance checks that hold for every task: contract, options, reader, shapes, loss,
metric, JSON and overlay (the kinds of label each have more: :mod:`ifan.testing.kinds`)."""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from pydantic import BaseModel

from ifan.contract import RESERVED_DATA_KEYS, RESERVED_TASK_KEYS, LabelSchema, Task
from ifan.contract_checks import task_problems
from ifan.data.images import Box
from ifan.metrics.base import Metric
from ifan.testing.kinds import check_labels_in_range, check_photo_json
from ifan.testing.setup import (
    BATCH,
    MakeFixture,
    Setup,
    calling,
    open_setup,
    part,
    require,
    tensors,
    to_pil,
)

MAX_READ = 16
"""Samples of the fixture whose targets the reader check compares with the label schema."""


def check_contract(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    problems = task_problems(task)
    require(not problems, "the task breaks the contract:\n" + "\n".join(f"  {p}" for p in problems))


def check_model(model: Any, what: str, reserved: frozenset[str]) -> None:
    """An options model: pydantic, unknown keys rejected, a JSON schema, no reserved key."""
    require(
        inspect.isclass(model) and issubclass(model, BaseModel),
        f"{what} = {model!r}: expected a pydantic model class",
    )
    require(
        model.model_config.get("extra") == "forbid",
        f"{what} accepts unknown keys, so a misspelt option would be silently ignored: subclass "
        "ifan.TaskOptions or ifan.FormatOptions",
    )
    with calling(f"{what}.model_json_schema() (used by `ifan schema`)"):
        json.dumps(model.model_json_schema())
    shadowed = sorted(reserved & set(model.model_fields))
    require(not shadowed, f"{what} defines {', '.join(shadowed)}, which ifan reserves: rename")


def check_options(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    check_model(task.Options, f"{task.__name__}.Options", RESERVED_TASK_KEYS)
    with calling(f"{task.__name__}.Options() (a manifest may leave every option out)"):
        task.Options()
    for fmt in task.formats:
        check_model(fmt.Options, f"{type(fmt).__name__}.Options", RESERVED_DATA_KEYS)
    fixture = make_fixture(tmp_path)
    with calling(f"{task.__name__}.Options(**fixture.task_options)"):
        task.Options(**fixture.task_options)
    with calling(f"format {fixture.format!r}: Options(**fixture.options)"):
        task.format(fixture.format).Options(**fixture.options)


def check_labels(labels: Any, what: str) -> None:
    require(isinstance(labels, LabelSchema), f"{what} = {labels!r}: expected an ifan.LabelSchema")
    names = labels.names
    require(names, f"{what}.names is empty: name the classes, points or value")
    require(len(set(names)) == len(names), f"{what}.names {names} names something twice")
    for group, members in labels.groups.items():
        unknown = [m for m in members if m not in names]
        require(not unknown, f"{what}.groups[{group!r}]: {unknown} are not among the names")
    paired = [name for pair in labels.mirror or () for name in pair]
    unknown = [name for name in paired if name not in names]
    require(not unknown, f"{what}.mirror: {unknown} are not among the names")


def check_reader(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    for size in sizes:
        setup = open_setup(task, make_fixture, tmp_path / f"size{size}", size)
        opened = f"{type(setup.fmt).__name__}.open(...) at input size {size}"
        with calling(f"{opened}: reading sample 0"):
            sample = setup.dataset[0]
        require(
            isinstance(sample, (tuple, list)) and len(sample) == 2,
            f"{opened}: sample 0 is {type(sample).__name__}; a sample must be (image, target)",
        )
        image = sample[0]
        require(
            isinstance(image, torch.Tensor) and image.is_floating_point(),
            f"{opened}: the image is {type(image).__name__} "
            f"{getattr(image, 'dtype', '')}; expected a float tensor (ifan.data.images.to_tensor)",
        )
        require(
            tuple(image.shape) == (3, size, size),
            f"{opened}: the image has shape {tuple(image.shape)}; expected (3, {size}, {size}): "
            "crop and resize to OpenContext.input_size",
        )
        require(
            bool(torch.isfinite(image).all())
            and 0 <= float(image.min()) <= float(image.max()) <= 1,
            f"{opened}: image values must be in [0, 1], got {float(image.min()):g} to "
            f"{float(image.max()):g}",
        )
        images, _ = setup.batch()
        require(
            isinstance(images, torch.Tensor) and tuple(images.shape) == (BATCH, 3, size, size),
            f"collate of two samples gave images of shape {getattr(images, 'shape', images)}; "
            f"expected ({BATCH}, 3, {size}, {size})",
        )
        check_labels(setup.task.labels, f"{task.__name__}(...).labels")
        for index in range(min(len(setup.dataset), MAX_READ)):
            with calling(f"{opened}: reading sample {index}"):
                target = setup.dataset[index][1]
            check_labels_in_range(setup.task.labels, target, f"{opened}, sample {index}")
        channels = setup.task.prediction_channels
        require(
            isinstance(channels, int) and channels > 0,
            f"prediction_channels = {channels!r}: expected a positive int",
        )


def batch_shapes(prediction: Any, where: str) -> list[tuple[int, ...]]:
    """The shapes of a prediction batch's tensors, after checking they hold a finite batch."""
    found = tensors(prediction)
    require(found, f"{where}: the decoder returned {type(prediction).__name__}, no tensor")
    shapes = [tuple(t.shape) for t in found]
    require(
        all(shape[:1] == (BATCH,) for shape in shapes),
        f"{where}: the decoder's output shapes {shapes} do not start with the batch size {BATCH}",
    )
    require(
        all(bool(torch.isfinite(t).all()) for t in found if t.is_floating_point()),
        f"{where}: the prediction is not finite",
    )
    return shapes


def check_shapes(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    for size in sizes:
        setup = open_setup(task, make_fixture, tmp_path / f"size{size}", size)
        images, _ = setup.batch()
        model = setup.network().eval()
        at = f"at input size {size}"
        with torch.no_grad():
            first = setup.predictions(model, images, iterations=0)[-1]
            shapes = batch_shapes(first, f"{at}, iteration 0")
            levels = model.backbone.feedback_specs()
            width = model.config.feedback_channels
            with model.norm.use(setup.name), calling("the re-encoder"):
                encoded = model.integrator.reencoders[setup.name](first)
            expected = [(BATCH, width, level.height, level.width) for level in levels]
            got = [tuple(e.shape) for e in encoded] if isinstance(encoded, Sequence) else encoded
            require(
                got == expected,
                f"{at}: the re-encoder returned {got}; expected one map per feedback level, "
                f"{expected} (build_reencoder's levels give each map's channels and size)",
            )
            for level in levels:
                call = f"prediction_maps(prediction, {level.height}, {level.width})"
                with calling(call):
                    maps = setup.task.prediction_maps(first, level.height, level.width)
                want = (BATCH, setup.task.prediction_channels, level.height, level.width)
                require(
                    isinstance(maps, torch.Tensor) and tuple(maps.shape) == want,
                    f"{at}: {call} has shape {tuple(getattr(maps, 'shape', ()))}; expected "
                    f"{want} (B x prediction_channels x height x width)",
                )
            final = setup.predictions(model, images, iterations=1)[-1]
            again = batch_shapes(final, f"{at}, iteration 1")
            require(
                again == shapes,
                f"{at}: the prediction's shapes differ between iterations 0 and 1: {shapes} and "
                f"{again}",
            )


def losses(setup: Setup, model: Any, images: torch.Tensor, target: Any) -> list[torch.Tensor]:
    """The task's loss at iterations 0 and 1, each checked to be a finite, differentiable scalar."""
    losses = []
    for iteration, prediction in enumerate(setup.predictions(model, images)):
        with calling(f"{type(setup.task).__name__}.loss(prediction, target)"):
            loss = setup.task.loss(prediction, target)
        require(
            isinstance(loss, torch.Tensor) and loss.ndim == 0,
            f"loss at iteration {iteration} is {type(loss).__name__} of shape "
            f"{tuple(getattr(loss, 'shape', ()))}: return a scalar tensor (e.g. a mean)",
        )
        require(bool(torch.isfinite(loss)), f"loss at iteration {iteration} is not finite: {loss}")
        require(
            loss.requires_grad,
            f"loss at iteration {iteration} does not depend on the prediction (no gradient): "
            "compute it from the prediction with torch operations",
        )
        losses.append(loss)
    return losses


def require_gradient(module: torch.nn.Module, piece: str, what: str) -> None:
    require(
        any(True for _ in module.parameters()),
        f"the {piece} has no parameters: it must learn (use layers such as nn.Linear)",
    )
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    require(
        sum(float(g.abs().sum()) for g in grads) > 0,
        f"the gradient of {what} does not reach the {piece}'s parameters",
    )


def check_loss(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    setup = open_setup(task, make_fixture, tmp_path, min(sizes))
    images, target = setup.batch()
    model = setup.network().train()  # as training computes it
    with calling("backward() through the loss"):
        torch.stack(losses(setup, model, images, target)).sum().backward()
    bad = [
        n for n, p in model.named_parameters() if p.grad is not None and not p.grad.isfinite().all()
    ]
    require(not bad, f"the loss gives non-finite gradients, in {', '.join(bad[:3])}")
    require_gradient(model.decoders[setup.name], "decoder", "the loss")
    # The re-encoder's gradient comes through the feedback of iteration 1. Batch norm in
    # evaluation mode keeps it when both samples are the same image (a feedback constant over the
    # batch would be removed by batch statistics).
    model.zero_grad(set_to_none=True)
    model.eval()
    with calling("backward() through the loss of iteration 1"):
        losses(setup, model, images, target)[-1].backward()
    require_gradient(model.reencoders[setup.name], "re-encoder", "iteration 1's loss")


def check_metric(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    setup = open_setup(task, make_fixture, tmp_path, min(sizes))
    prediction, target = setup.evaluated()
    whole, first, second = (setup.task.new_metric() for _ in range(3))
    require(
        isinstance(whole, Metric),
        f"new_metric() returned {type(whole).__name__}: subclass ifan.metrics.Metric",
    )
    require(
        first is not whole and first.state is not whole.state,
        "new_metric() must return a new metric, with a new state, each time",
    )
    state = whole.state
    require(
        isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values()),
        f"{type(whole).__name__}.state must be a dict of tensors, got {state!r}",
    )
    name = type(whole).__name__
    samples = setup.samples()
    with calling(f"{name}.update(prediction, target) with a batch of two"):
        whole.update(prediction, target)
    for metric, index in ((first, 0), (second, 1)):
        with calling(f"{type(setup.task).__name__}.collate of one sample"):
            _, one = setup.task.collate([samples[index]])
        with calling(f"{name}.update(prediction, target) with one sample"):
            metric.update(part(prediction, slice(index, index + 1)), one)
    for metric, index in ((first, 0), (second, 1)):
        with calling(f"{name}.initial_state()"):
            initial = metric.initial_state()
        require(
            any(not torch.equal(metric.state[key], initial[key]) for key in initial),
            f"{name}.update(prediction, target) left the state as it was for sample {index}: "
            "the metric ignored it, so the split's score leaves it out. A ConfusionMetric "
            "counts only truths from 0 to C - 1: check that the reader gives class indices, "
            "and that update reads the target's keys",
        )
    with calling(f"{name}.merge(other)"):
        first.merge(second)
    for key, value in whole.state.items():
        require(
            torch.allclose(first.state[key].double(), value.double(), rtol=1e-5, atol=1e-6),
            f"{name}.state[{key!r}] is not additive: one update of two samples gives {value}, two "
            f"metrics of one sample each, merged, give {first.state[key]}; keep sums and counts "
            "in the state and compute averages in compute()",
        )
    with calling(f"{name}.compute()"):
        values, merged = whole.compute(), first.compute()
    require(isinstance(values, dict) and values, f"{name}.compute() must return a non-empty dict")
    for key, value in values.items():
        require(
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value),
            f"{name}.compute()[{key!r}] = {value!r}: expected a finite float",
        )
    main = getattr(whole, "main", None)
    require(main in values, f"{name}.main = {main!r} is not among its values {sorted(values)}")
    higher = getattr(whole, "higher_is_better", None)
    require(
        isinstance(higher, bool),
        f"{name}.higher_is_better = {higher!r}: expected True or False, which way {main!r} is "
        "better (the curves and ifan compare's relative changes read it)",
    )
    require(
        set(merged) == set(values)
        and all(math.isclose(merged[k], values[k], rel_tol=1e-5, abs_tol=1e-6) for k in values),
        f"{name}.compute() differs after merging: {values} for one update of two samples, "
        f"{merged} for two metrics of one sample each, merged",
    )
    check_layout(whole, values)


def check_layout(metric: Metric, values: dict[str, float]) -> None:
    """``layout()`` is None or places values ``compute()`` gives, each in a (row, column)."""
    name = type(metric).__name__
    with calling(f"{name}.layout()"):
        layout = metric.layout()
    if layout is None:
        return
    require(isinstance(layout, dict), f"{name}.layout() returned {layout!r}: return a dict")
    for key, cell in layout.items():
        require(
            isinstance(cell, tuple)
            and len(cell) == 2
            and all(isinstance(text, str) and text for text in cell),
            f"{name}.layout()[{key!r}] = {cell!r}: expected (row, column), two names",
        )
    unknown = sorted(set(layout) - set(values))
    require(
        not unknown,
        f"{name}.layout() places {', '.join(unknown)}, which compute() does not give (it gives "
        f"{', '.join(sorted(values))})",
    )


def check_json(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    setup = open_setup(task, make_fixture, tmp_path, min(sizes))
    one = part(setup.evaluated()[0], 0)
    calls: list[tuple[str, dict[str, Any]]] = [("to_json(prediction)", {})]
    parameters = inspect.signature(setup.task.to_json).parameters
    if "size" in parameters:  # as ifan predict calls it
        calls.append(("to_json(prediction, size=(96, 64))", {"size": (96, 64)}))
    if "box" in parameters:
        box = Box(10, -4, 40)
        call = f"to_json(prediction, size=(96, 64), box={box})"
        calls.append((call, {"size": (96, 64), "box": box}))
    for call, kwargs in calls:
        with calling(f"{task.__name__}.{call}"):
            data = setup.task.to_json(one, **kwargs)
        require(isinstance(data, dict), f"{call} returned {type(data).__name__}: return a dict")
        try:
            json.dumps(data, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise AssertionError(
                f"{call} is not JSON-serialisable ({exc}): return plain int, float, str, lists "
                "and dicts (float(tensor), tensor.tolist()), and no NaN"
            ) from None
    check_photo_json(setup, one)


def check_overlay(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    setup = open_setup(task, make_fixture, tmp_path, min(sizes))
    one = part(setup.evaluated()[0], 0)
    image, target = setup.dataset[0]
    crop = to_pil(image)
    photo = Image.new("RGB", (crop.width * 3 // 2, crop.height), (128, 128, 128))
    photo.paste(crop, (crop.width // 4, 0))
    cases = [
        ("draw_overlay(face, prediction)", crop, None),
        ("draw_overlay(face, prediction, target)", crop, target),
        ("draw_overlay(wider photo, prediction)", photo, None),
    ]
    for number, (call, picture, truth) in enumerate(cases):
        before = picture.tobytes()
        with calling(f"{task.__name__}.{call}"):
            drawn = setup.task.draw_overlay(picture, one, truth)
        require(
            isinstance(drawn, Image.Image),
            f"{call} returned {type(drawn).__name__}; return a PIL.Image",
        )
        require(
            picture.tobytes() == before,
            f"{call} drew on the image it was given: draw on a copy (image.copy()) and return it",
        )
        path = tmp_path / f"overlay{number}.png"
        with calling(f"saving {call} as a PNG"):
            drawn.save(path)
        with Image.open(path) as reopened:
            require(
                reopened.size == drawn.size,
                f"{call}: the PNG has size {reopened.size}, the image {drawn.size}",
            )
