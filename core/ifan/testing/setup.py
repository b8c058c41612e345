"""What the conformance checks share: the fixture a plugin's test writes, the task built as a
manifest would build it, its split and network, and the helpers that turn a plugin's exception
into a failure saying what to fix."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from ifan.contract import DatasetFormat, LabelSchema, OpenContext, Task
from ifan.data.bad_samples import BadSamples

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


MakeFixture = Callable[[Path], Fixture]


def require(condition: object, message: str) -> None:
    """An AssertionError with ``message`` unless ``condition`` (kept under ``python -O``)."""
    if not condition:
        raise AssertionError(message)


@contextmanager
def calling(what: str) -> Iterator[None]:
    """An exception in the plugin's code as an AssertionError that says where it came from."""
    try:
        yield
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from exc


@dataclass
class Setup:
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
        with calling(f"{type(self.task).__name__}.collate([two samples])"):
            return self.task.collate(self.samples())

    def network(self) -> Any:
        """A real iFAN with only this task, one interaction iteration, at this size."""
        from ifan.manifest.schema import ModelConfig
        from ifan.network.model import IFAN

        config = ModelConfig(input_size=self.size, iterations=1)
        with calling(f"building a network with {self.name}'s decoder and re-encoder"):
            return IFAN({self.name: self.task}, config, None)

    def predictions(self, model: Any, images: torch.Tensor, iterations: int = 1) -> list[Any]:
        """This task's prediction batch at every iteration, 0 to ``iterations``."""
        with calling(f"the forward pass through {self.name}'s decoder and re-encoder"):
            outputs = model(images, task=self.name, iterations=iterations, heads=[self.name])
        return [output[self.name] for output in outputs]

    def evaluated(self) -> tuple[Any, Any]:
        """The final prediction for two samples in evaluation mode, and their target batch."""
        images, target = self.batch()
        model = self.network().eval()
        with torch.no_grad():
            return self.predictions(model, images)[-1], target


def open_setup(task: type[Task], make_fixture: MakeFixture, tmp_path: Path, size: int) -> Setup:
    """Write the fixture, build the task as a manifest would and open the split at ``size``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    fixture = make_fixture(tmp_path)
    require(isinstance(fixture, Fixture), f"make_fixture returned {fixture!r}, not a Fixture")
    try:
        fmt = task.format(fixture.format)
    except KeyError:
        names = ", ".join(f.name for f in task.formats)
        raise AssertionError(
            f"the fixture's format {fixture.format!r} is not one of {task.__name__}.formats "
            f"({names})"
        ) from None
    label = type(fmt).__name__
    with calling(f"{label}.Options(**fixture.options)"):
        options = fmt.Options(**fixture.options)
    with calling(f"{label}.labels(options)"):
        labels = fmt.labels(options)
    require(
        labels is None or isinstance(labels, LabelSchema),
        f"{label}.labels(options) returned {labels!r}: return an ifan.LabelSchema or None",
    )
    with calling(f"{task.__name__}(Options(**fixture.task_options), format labels)"):
        instance = task(task.Options(**fixture.task_options), labels)
    bad = BadSamples("error")
    with calling(f"{label}.open({fixture.path}, 'train', options, OpenContext({size}))"):
        dataset = fmt.open(Path(fixture.path), "train", options, OpenContext(size, bad))
    with calling(f"len() of the dataset {label}.open returned"):
        count = len(dataset)
    require(count > 0, f"{label}.open returned an empty dataset for the fixture {fixture.path}")
    return Setup(instance, fmt, dataset, size)


def tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor in a prediction: a tensor, or a dict, list or tuple of them."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        return [t for item in value.values() for t in tensors(item)]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in tensors(item)]
    return []


def part(batch: Any, index: int | slice) -> Any:
    """Sample ``index`` (an int) or samples (a slice) of a prediction batch, detached."""
    if isinstance(batch, torch.Tensor):
        return batch[index].detach()
    if isinstance(batch, Mapping):
        return {key: part(value, index) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(part(value, index) for value in batch)
    raise AssertionError(
        f"a prediction batch of type {type(batch).__name__} cannot be split into images: the "
        "decoder must return a tensor (or a dict, list or tuple of tensors) with the batch first"
    )


def to_pil(image: torch.Tensor) -> Image.Image:
    """A ``3 x H x W`` tensor in [0, 1] as an RGB image."""
    pixels = (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).cpu().numpy())
