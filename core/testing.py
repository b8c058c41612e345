"""A conformance suite for task plugins, in the spirit of scikit-learn's ``check_estimator``.

:func:`ifan.plugins.task_problems` checks a task class without running it, as ifan does when it
loads a plugin. The checks here *run* the task the way training, evaluation and ``ifan predict``
do: they read a tiny dataset that the plugin's test writes, build a real iFAN with only this task
at several input sizes, and exercise its decoder, re-encoder, loss, metric, JSON and overlay.
Every failure says what the plugin must fix.

Use it from a plugin's own tests, one pytest test per check::

    import pytest
    from ifan.testing import Fixture, task_checks
    from ifan_task_age.task import AgeTask


    def utkface_fixture(folder):
        # write two or three small images into folder, in one of the task's formats
        ...
        return Fixture(format="utkface", path=folder)


    @pytest.mark.parametrize("check", task_checks(AgeTask, utkface_fixture), ids=str)
    def test_conformance(check, tmp_path):
        check(tmp_path)

or all at once, with one failure that lists every failed check:
``check_task(AgeTask, utkface_fixture, tmp_path)``.

The checks, each named ``<task>-<check>``:

- ``contract``: ``task_problems`` finds nothing (name, contract version, attributes, formats);
- ``options``: the task's ``Options()`` validates with its defaults, every ``Options`` model (the
  task's and each format's) rejects unknown keys, has a JSON schema and reuses no reserved key,
  and the fixture's options validate;
- ``reader``: the fixture's format opens a non-empty split at every size, whose samples are
  ``(image, target)`` with a float ``3 x S x S`` image in [0, 1], ``collate`` batches two of them,
  and the label schema is consistent;
- ``shapes``: at every size, a network with only this task predicts a batch of two at iterations
  0 and 1, the re-encoder gives one ``B x feedback_channels x h x w`` map per feedback level, and
  ``prediction_maps`` gives ``B x prediction_channels x h x w``;
- ``loss``: a finite scalar per iteration whose gradient reaches the decoder and the re-encoder;
- ``metric``: an :class:`ifan.metric.Metric` whose state is a dict of additive tensors: one
  update with two samples equals two metrics of one sample each, merged; every value is a finite
  number, ``main`` is one of them and ``higher_is_better`` is True or False;
- ``json``: ``to_json`` of one image's prediction is a dict that ``json.dumps`` accepts (no NaN);
  with ``size=`` too when the task takes it;
- ``overlay``: ``draw_overlay`` returns a new ``PIL.Image`` (the given image is left unchanged)
  that saves as a PNG, on the face crop with and without the target and on a wider photo.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from pydantic import BaseModel

from ifan.contract import (
    RESERVED_DATA_KEYS,
    RESERVED_TASK_KEYS,
    DatasetFormat,
    LabelSchema,
    OpenContext,
    Task,
)
from ifan.data.bad_samples import BadSamples
from ifan.metric import Metric
from ifan.plugins import task_problems

BATCH = 2
"""Samples per batch in the checks: the fewest that batch norm in training mode accepts."""


@dataclass
class Fixture:
    """A tiny dataset written by a plugin's test, in one of the task's formats."""

    format: str
    """The format's name (``DatasetFormat.name``)."""
    path: Path
    """What a manifest's ``train``, ``val`` or ``test`` would point to."""
    options: dict[str, Any] = field(default_factory=dict)
    """Format options: keys of ``[tasks.<name>.data]``."""
    task_options: dict[str, Any] = field(default_factory=dict)
    """Task options: keys of ``[tasks.<name>]``."""


@dataclass(frozen=True)
class Check:
    """One named conformance check; call it with a fresh temporary folder."""

    name: str
    run: Callable[[Path], None]

    def __call__(self, tmp_path: Path) -> None:
        """Run the check with the same random weights every time, on one CPU thread: the batches
        are tiny, and more threads only slow them down when other jobs share the CPUs."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                self.run(tmp_path)
        finally:
            torch.set_num_threads(threads)

    def __str__(self) -> str:
        return self.name


MakeFixture = Callable[[Path], Fixture]


def task_checks(
    task: type[Task], make_fixture: MakeFixture, sizes: Sequence[int] = (32, 64)
) -> list[Check]:
    """Every conformance check of ``task``, reading the data ``make_fixture(folder)`` writes.

    ``sizes``: the input sizes the reader and the network are tried at (multiples of 32).
    """
    sizes = tuple(sizes)
    if not sizes or any(size < 32 or size % 32 for size in sizes):
        raise ValueError(f"sizes must be multiples of 32 from 32 up, got {sizes}")
    label = getattr(task, "name", None) or task.__name__
    checks: list[tuple[str, Callable[[type[Task], MakeFixture, tuple[int, ...], Path], None]]] = [
        ("contract", _check_contract),
        ("options", _check_options),
        ("reader", _check_reader),
        ("shapes", _check_shapes),
        ("loss", _check_loss),
        ("metric", _check_metric),
        ("json", _check_json),
        ("overlay", _check_overlay),
    ]
    return [
        Check(
            f"{label}-{what}",
            lambda tmp_path, run=run: run(task, make_fixture, sizes, tmp_path),
        )
        for what, run in checks
    ]


def check_task(
    task: type[Task],
    make_fixture: MakeFixture,
    tmp_path: Path,
    sizes: Sequence[int] = (32, 64),
) -> None:
    """Run every check (each in its own sub-folder of ``tmp_path``); one AssertionError lists
    every check that failed, with its message."""
    failures = []
    for check in task_checks(task, make_fixture, sizes):
        folder = tmp_path / check.name
        folder.mkdir(parents=True, exist_ok=True)
        try:
            check(folder)
        except AssertionError as exc:
            failures.append(f"{check.name}: {exc}")
    if failures:
        count = f"{len(failures)} conformance check{'s' if len(failures) > 1 else ''} failed"
        raise AssertionError(f"{task.__name__}: {count}:\n" + "\n".join(f"- {f}" for f in failures))


# --- helpers -------------------------------------------------------------------------------------


def _require(condition: object, message: str) -> None:
    """An AssertionError with ``message`` unless ``condition`` (kept under ``python -O``)."""
    if not condition:
        raise AssertionError(message)


@contextmanager
def _calling(what: str) -> Iterator[None]:
    """An exception in the plugin's code as an AssertionError that says where it came from."""
    try:
        yield
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from exc


@dataclass
class _Setup:
    """The task object the manifest would build for the fixture, and the fixture's split."""

    task: Task
    fmt: DatasetFormat
    dataset: Any
    size: int

    @property
    def name(self) -> str:
        return self.task.name

    def samples(self) -> list[tuple[Any, Any]]:
        """Two samples: the first two, or the only one twice."""
        return [self.dataset[0], self.dataset[min(1, len(self.dataset) - 1)]]

    def batch(self) -> tuple[Any, Any]:
        with _calling(f"{type(self.task).__name__}.collate([two samples])"):
            return self.task.collate(self.samples())

    def network(self) -> Any:
        """A real iFAN with only this task, one interaction iteration, at this size."""
        from ifan.manifest.schema import ModelConfig
        from ifan.network.model import IFAN

        config = ModelConfig(input_size=self.size, iterations=1)
        with _calling(f"building a network with {self.name}'s decoder and re-encoder"):
            return IFAN({self.name: self.task}, config, None)

    def predictions(self, model: Any, images: torch.Tensor, iterations: int = 1) -> list[Any]:
        """This task's prediction batch at every iteration, 0 to ``iterations``."""
        with _calling(f"the forward pass through {self.name}'s decoder and re-encoder"):
            outputs = model(images, task=self.name, iterations=iterations, heads=[self.name])
        return [output[self.name] for output in outputs]

    def evaluated(self) -> tuple[Any, Any]:
        """The final prediction for two samples in evaluation mode, and their target batch."""
        images, target = self.batch()
        model = self.network().eval()
        with torch.no_grad():
            return self.predictions(model, images)[-1], target


def _setup(task: type[Task], make_fixture: MakeFixture, tmp_path: Path, size: int) -> _Setup:
    """Write the fixture, build the task as a manifest would and open the split at ``size``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    fixture = make_fixture(tmp_path)
    _require(isinstance(fixture, Fixture), f"make_fixture returned {fixture!r}, not a Fixture")
    try:
        fmt = task.format(fixture.format)
    except KeyError:
        names = ", ".join(f.name for f in task.formats)
        raise AssertionError(
            f"the fixture's format {fixture.format!r} is not one of {task.__name__}.formats "
            f"({names})"
        ) from None
    label = type(fmt).__name__
    with _calling(f"{label}.Options(**fixture.options)"):
        options = fmt.Options(**fixture.options)
    with _calling(f"{label}.labels(options)"):
        labels = fmt.labels(options)
    _require(
        labels is None or isinstance(labels, LabelSchema),
        f"{label}.labels(options) returned {labels!r}: return an ifan.LabelSchema or None",
    )
    with _calling(f"{task.__name__}(Options(**fixture.task_options), format labels)"):
        instance = task(task.Options(**fixture.task_options), labels)
    bad = BadSamples("error")
    with _calling(f"{label}.open({fixture.path}, 'train', options, OpenContext({size}))"):
        dataset = fmt.open(Path(fixture.path), "train", options, OpenContext(size, bad))
    with _calling(f"len() of the dataset {label}.open returned"):
        count = len(dataset)
    _require(count > 0, f"{label}.open returned an empty dataset for the fixture {fixture.path}")
    return _Setup(instance, fmt, dataset, size)


def _tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor in a prediction: a tensor, or a dict, list or tuple of them."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        return [t for item in value.values() for t in _tensors(item)]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    return []


def _part(batch: Any, index: int | slice) -> Any:
    """Sample ``index`` (an int) or samples (a slice) of a prediction batch, detached."""
    if isinstance(batch, torch.Tensor):
        return batch[index].detach()
    if isinstance(batch, Mapping):
        return {key: _part(value, index) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_part(value, index) for value in batch)
    raise AssertionError(
        f"a prediction batch of type {type(batch).__name__} cannot be split into images: the "
        "decoder must return a tensor (or a dict, list or tuple of tensors) with the batch first"
    )


def _to_pil(image: torch.Tensor) -> Image.Image:
    """A ``3 x H x W`` tensor in [0, 1] as an RGB image."""
    pixels = (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).cpu().numpy())


# --- the checks ----------------------------------------------------------------------------------


def _check_contract(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    problems = task_problems(task)
    _require(
        not problems, "the task breaks the contract:\n" + "\n".join(f"  {p}" for p in problems)
    )


def _check_model(model: Any, what: str, reserved: frozenset[str]) -> None:
    """An options model: pydantic, unknown keys rejected, a JSON schema, no reserved key."""
    _require(
        inspect.isclass(model) and issubclass(model, BaseModel),
        f"{what} = {model!r}: expected a pydantic model class",
    )
    _require(
        model.model_config.get("extra") == "forbid",
        f"{what} accepts unknown keys, so a misspelt option would be silently ignored: subclass "
        "ifan.TaskOptions or ifan.FormatOptions",
    )
    with _calling(f"{what}.model_json_schema() (used by `ifan schema`)"):
        json.dumps(model.model_json_schema())
    shadowed = sorted(reserved & set(model.model_fields))
    _require(not shadowed, f"{what} defines {', '.join(shadowed)}, which ifan reserves: rename")


def _check_options(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    _check_model(task.Options, f"{task.__name__}.Options", RESERVED_TASK_KEYS)
    with _calling(f"{task.__name__}.Options() (a manifest may leave every option out)"):
        task.Options()
    for fmt in task.formats:
        _check_model(fmt.Options, f"{type(fmt).__name__}.Options", RESERVED_DATA_KEYS)
    fixture = make_fixture(tmp_path)
    with _calling(f"{task.__name__}.Options(**fixture.task_options)"):
        task.Options(**fixture.task_options)
    with _calling(f"format {fixture.format!r}: Options(**fixture.options)"):
        task.format(fixture.format).Options(**fixture.options)


def _check_labels(labels: Any, what: str) -> None:
    _require(isinstance(labels, LabelSchema), f"{what} = {labels!r}: expected an ifan.LabelSchema")
    names = labels.names
    _require(names, f"{what}.names is empty: name the classes, points or value")
    _require(len(set(names)) == len(names), f"{what}.names {names} names something twice")
    for group, members in labels.groups.items():
        unknown = [m for m in members if m not in names]
        _require(not unknown, f"{what}.groups[{group!r}]: {unknown} are not among the names")
    paired = [name for pair in labels.mirror or () for name in pair]
    unknown = [name for name in paired if name not in names]
    _require(not unknown, f"{what}.mirror: {unknown} are not among the names")


def _check_reader(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    for size in sizes:
        setup = _setup(task, make_fixture, tmp_path / f"size{size}", size)
        opened = f"{type(setup.fmt).__name__}.open(...) at input size {size}"
        with _calling(f"{opened}: reading sample 0"):
            sample = setup.dataset[0]
        _require(
            isinstance(sample, (tuple, list)) and len(sample) == 2,
            f"{opened}: sample 0 is {type(sample).__name__}; a sample must be (image, target)",
        )
        image = sample[0]
        _require(
            isinstance(image, torch.Tensor) and image.is_floating_point(),
            f"{opened}: the image is {type(image).__name__} "
            f"{getattr(image, 'dtype', '')}; expected a float tensor (ifan.data.images.to_tensor)",
        )
        _require(
            tuple(image.shape) == (3, size, size),
            f"{opened}: the image has shape {tuple(image.shape)}; expected (3, {size}, {size}): "
            "crop and resize to OpenContext.input_size",
        )
        _require(
            bool(torch.isfinite(image).all())
            and 0 <= float(image.min()) <= float(image.max()) <= 1,
            f"{opened}: image values must be in [0, 1], got {float(image.min()):g} to "
            f"{float(image.max()):g}",
        )
        images, _ = setup.batch()
        _require(
            isinstance(images, torch.Tensor) and tuple(images.shape) == (BATCH, 3, size, size),
            f"collate of two samples gave images of shape {getattr(images, 'shape', images)}; "
            f"expected ({BATCH}, 3, {size}, {size})",
        )
        _check_labels(setup.task.labels, f"{task.__name__}(...).labels")
        channels = setup.task.prediction_channels
        _require(
            isinstance(channels, int) and channels > 0,
            f"prediction_channels = {channels!r}: expected a positive int",
        )


def _batch_shapes(prediction: Any, where: str) -> list[tuple[int, ...]]:
    """The shapes of a prediction batch's tensors, after checking they hold a finite batch."""
    tensors = _tensors(prediction)
    _require(tensors, f"{where}: the decoder returned {type(prediction).__name__}, no tensor")
    shapes = [tuple(t.shape) for t in tensors]
    _require(
        all(shape[:1] == (BATCH,) for shape in shapes),
        f"{where}: the decoder's output shapes {shapes} do not start with the batch size {BATCH}",
    )
    _require(
        all(bool(torch.isfinite(t).all()) for t in tensors if t.is_floating_point()),
        f"{where}: the prediction is not finite",
    )
    return shapes


def _check_shapes(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    for size in sizes:
        setup = _setup(task, make_fixture, tmp_path / f"size{size}", size)
        images, _ = setup.batch()
        model = setup.network().eval()
        at = f"at input size {size}"
        with torch.no_grad():
            first = setup.predictions(model, images, iterations=0)[-1]
            shapes = _batch_shapes(first, f"{at}, iteration 0")
            levels = model.backbone.feedback_specs()
            width = model.config.feedback_channels
            with model.norm.use(setup.name), _calling("the re-encoder"):
                encoded = model.integrator.reencoders[setup.name](first)
            expected = [(BATCH, width, level.height, level.width) for level in levels]
            got = [tuple(e.shape) for e in encoded] if isinstance(encoded, Sequence) else encoded
            _require(
                got == expected,
                f"{at}: the re-encoder returned {got}; expected one map per feedback level, "
                f"{expected} (build_reencoder's levels give each map's channels and size)",
            )
            for level in levels:
                call = f"prediction_maps(prediction, {level.height}, {level.width})"
                with _calling(call):
                    maps = setup.task.prediction_maps(first, level.height, level.width)
                want = (BATCH, setup.task.prediction_channels, level.height, level.width)
                _require(
                    isinstance(maps, torch.Tensor) and tuple(maps.shape) == want,
                    f"{at}: {call} has shape {tuple(getattr(maps, 'shape', ()))}; expected "
                    f"{want} (B x prediction_channels x height x width)",
                )
            final = setup.predictions(model, images, iterations=1)[-1]
            again = _batch_shapes(final, f"{at}, iteration 1")
            _require(
                again == shapes,
                f"{at}: the prediction's shapes differ between iterations 0 and 1: {shapes} and "
                f"{again}",
            )


def _losses(setup: _Setup, model: Any, images: torch.Tensor, target: Any) -> list[torch.Tensor]:
    """The task's loss at iterations 0 and 1, each checked to be a finite, differentiable scalar."""
    losses = []
    for iteration, prediction in enumerate(setup.predictions(model, images)):
        with _calling(f"{type(setup.task).__name__}.loss(prediction, target)"):
            loss = setup.task.loss(prediction, target)
        _require(
            isinstance(loss, torch.Tensor) and loss.ndim == 0,
            f"loss at iteration {iteration} is {type(loss).__name__} of shape "
            f"{tuple(getattr(loss, 'shape', ()))}: return a scalar tensor (e.g. a mean)",
        )
        _require(bool(torch.isfinite(loss)), f"loss at iteration {iteration} is not finite: {loss}")
        _require(
            loss.requires_grad,
            f"loss at iteration {iteration} does not depend on the prediction (no gradient): "
            "compute it from the prediction with torch operations",
        )
        losses.append(loss)
    return losses


def _require_gradient(module: torch.nn.Module, part: str, what: str) -> None:
    _require(
        any(True for _ in module.parameters()),
        f"the {part} has no parameters: it must learn (use layers such as nn.Linear)",
    )
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    _require(
        sum(float(g.abs().sum()) for g in grads) > 0,
        f"the gradient of {what} does not reach the {part}'s parameters",
    )


def _check_loss(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    setup = _setup(task, make_fixture, tmp_path, min(sizes))
    images, target = setup.batch()
    model = setup.network().train()  # as training computes it
    with _calling("backward() through the loss"):
        sum(_losses(setup, model, images, target)).backward()
    bad = [
        n for n, p in model.named_parameters() if p.grad is not None and not p.grad.isfinite().all()
    ]
    _require(not bad, f"the loss gives non-finite gradients, in {', '.join(bad[:3])}")
    _require_gradient(model.decoders[setup.name], "decoder", "the loss")
    # The re-encoder's gradient comes through the feedback of iteration 1. Batch norm in
    # evaluation mode keeps it when both samples are the same image (a feedback constant over the
    # batch would be removed by batch statistics).
    model.zero_grad(set_to_none=True)
    model.eval()
    with _calling("backward() through the loss of iteration 1"):
        _losses(setup, model, images, target)[-1].backward()
    _require_gradient(model.reencoders[setup.name], "re-encoder", "iteration 1's loss")


def _check_metric(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    setup = _setup(task, make_fixture, tmp_path, min(sizes))
    prediction, target = setup.evaluated()
    whole, first, second = (setup.task.new_metric() for _ in range(3))
    _require(
        isinstance(whole, Metric),
        f"new_metric() returned {type(whole).__name__}: subclass ifan.metric.Metric",
    )
    _require(
        first is not whole and first.state is not whole.state,
        "new_metric() must return a new metric, with a new state, each time",
    )
    state = whole.state
    _require(
        isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values()),
        f"{type(whole).__name__}.state must be a dict of tensors, got {state!r}",
    )
    name = type(whole).__name__
    samples = setup.samples()
    with _calling(f"{name}.update(prediction, target) with a batch of two"):
        whole.update(prediction, target)
    for metric, index in ((first, 0), (second, 1)):
        with _calling(f"{type(setup.task).__name__}.collate of one sample"):
            _, one = setup.task.collate([samples[index]])
        with _calling(f"{name}.update(prediction, target) with one sample"):
            metric.update(_part(prediction, slice(index, index + 1)), one)
    with _calling(f"{name}.merge(other)"):
        first.merge(second)
    for key, value in whole.state.items():
        _require(
            torch.allclose(first.state[key].double(), value.double(), rtol=1e-5, atol=1e-6),
            f"{name}.state[{key!r}] is not additive: one update of two samples gives {value}, two "
            f"metrics of one sample each, merged, give {first.state[key]}; keep sums and counts "
            "in the state and compute averages in compute()",
        )
    with _calling(f"{name}.compute()"):
        values, merged = whole.compute(), first.compute()
    _require(isinstance(values, dict) and values, f"{name}.compute() must return a non-empty dict")
    for key, value in values.items():
        _require(
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value),
            f"{name}.compute()[{key!r}] = {value!r}: expected a finite float",
        )
    main = getattr(whole, "main", None)
    _require(main in values, f"{name}.main = {main!r} is not among its values {sorted(values)}")
    higher = getattr(whole, "higher_is_better", None)
    _require(
        isinstance(higher, bool),
        f"{name}.higher_is_better = {higher!r}: expected True or False, which way {main!r} is "
        "better (the curves and ifan compare's relative changes read it)",
    )
    _require(
        set(merged) == set(values)
        and all(math.isclose(merged[k], values[k], rel_tol=1e-5, abs_tol=1e-6) for k in values),
        f"{name}.compute() differs after merging: {values} for one update of two samples, "
        f"{merged} for two metrics of one sample each, merged",
    )


def _check_json(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    setup = _setup(task, make_fixture, tmp_path, min(sizes))
    one = _part(setup.evaluated()[0], 0)
    calls = [("to_json(prediction)", {})]
    if "size" in inspect.signature(setup.task.to_json).parameters:  # as ifan predict calls it
        calls.append(("to_json(prediction, size=(96, 64))", {"size": (96, 64)}))
    for call, kwargs in calls:
        with _calling(f"{task.__name__}.{call}"):
            data = setup.task.to_json(one, **kwargs)
        _require(isinstance(data, dict), f"{call} returned {type(data).__name__}: return a dict")
        try:
            json.dumps(data, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise AssertionError(
                f"{call} is not JSON-serialisable ({exc}): return plain int, float, str, lists "
                "and dicts (float(tensor), tensor.tolist()), and no NaN"
            ) from None


def _check_overlay(
    task: type[Task], make_fixture: MakeFixture, sizes: tuple[int, ...], tmp_path: Path
) -> None:
    setup = _setup(task, make_fixture, tmp_path, min(sizes))
    one = _part(setup.evaluated()[0], 0)
    image, target = setup.dataset[0]
    crop = _to_pil(image)
    photo = Image.new("RGB", (crop.width * 3 // 2, crop.height), (128, 128, 128))
    photo.paste(crop, (crop.width // 4, 0))
    cases = [
        ("draw_overlay(face, prediction)", crop, None),
        ("draw_overlay(face, prediction, target)", crop, target),
        ("draw_overlay(wider photo, prediction)", photo, None),
    ]
    for number, (call, picture, truth) in enumerate(cases):
        before = picture.tobytes()
        with _calling(f"{task.__name__}.{call}"):
            drawn = setup.task.draw_overlay(picture, one, truth)
        _require(
            isinstance(drawn, Image.Image),
            f"{call} returned {type(drawn).__name__}; return a PIL.Image",
        )
        _require(
            picture.tobytes() == before,
            f"{call} drew on the image it was given: draw on a copy (image.copy()) and return it",
        )
        path = tmp_path / f"overlay{number}.png"
        with _calling(f"saving {call} as a PNG"):
            drawn.save(path)
        with Image.open(path) as reopened:
            _require(
                reopened.size == drawn.size,
                f"{call}: the PNG has size {reopened.size}, the image {drawn.size}",
            )
