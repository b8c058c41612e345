"""Probing: how well one task can be learned from another task's frozen features.

For a target task B and feature sources A1..An (tasks of trained runs, ``RUN:TASK``),
:func:`probe` trains a fresh head for B on each source's features (:mod:`ifan.features`) of B's
faces, on B's own features (from the run B comes from: the row ``own``), and on the
concatenation of all of them (the row ``fused``: every distinct feature set of the column), and
scores each head on B's test split (or ``split``) with B's own metric, its ``main`` value
(accuracy for a class task, MAE for age). The result is a matrix, rows the feature sources,
columns the targets: the experiment of Li and Zhu, "Learning and Fusing Multimodal Features
from and for Multi-task Facial Computing".

The faces and labels are B's dataset as its run's manifest gives it, read by B's reader (train
to fit, ``split`` to score), each source's features computed on them with that source's crop
rule, input size and batch norm. Features are extracted once per source run and split (all of a
run's tasks in one pass over the faces) and kept in memory; with ``cache`` they are also saved as
``ifan features`` files and read back next time, refused when the weights changed since.

The head is B's own: its output is what B's decoder's last ``nn.Linear`` outputs (logits over
B's classes or bins, a value), followed by whatever B's decoder applies after that layer
(:class:`DecoderTail`: a sigmoid, a reshape), so that B's own ``loss`` trains it and B's
``new_metric()`` scores it unchanged. ``linear`` maps the standardised features straight to that
output; ``mlp`` puts B's decoder's hidden layer before it (Linear, batch norm, ReLU, as
:class:`ifan.network.decoders.MLPHead` does). Heads train on the CPU with Adam and a cosine
learning rate, seeded: the same inputs give the same matrix.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from ifan.contract import Split, Task
from ifan.features import (
    Features,
    FeaturesError,
    ModelIdentity,
    dataset_features,
    identity,
    index_targets,
    last_linear,
    open_labelled,
    parse_named_task,
    sample_paths,
)
from ifan.network.task_batchnorm import TaskBatchNorm
from ifan.progress import bar

if TYPE_CHECKING:
    from ifan.inference import Predictor
    from ifan.network.model import IFAN
    from ifan.plugins import PluginRegistry

HEADS = ("linear", "mlp")
KINDS = ("class", "value")
"""The kinds of label a target may have: one class or one value per face."""
OWN = "own"
FUSED = "fused"
Head = Literal["linear", "mlp"]


@dataclass(frozen=True)
class HeadOptions:
    """How each probe head is trained."""

    head: Head = "linear"
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    """Adam's learning rate, decayed to 0 along a cosine over the epochs."""
    weight_decay: float = 0.0
    hidden: int | None = None
    """The ``mlp`` head's width (default: that of B's decoder's last hidden layer)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise FeaturesError(f"head {self.head!r}: expected one of {', '.join(HEADS)}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise FeaturesError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.hidden is not None and self.hidden < 1:
            raise FeaturesError(f"hidden must be at least 1, got {self.hidden}")
        if not self.lr > 0:
            raise FeaturesError(f"lr must be positive, got {self.lr}")
        if not self.weight_decay >= 0:
            raise FeaturesError(f"weight_decay must be 0 or more, got {self.weight_decay}")


class DecoderTail(nn.Module):
    """What task B's decoder does after its last ``nn.Linear``, as a function of that layer's
    output ``B x out_features``: the decoder (a frozen copy, in eval mode, with B's batch norm)
    run on a zero tap while a forward hook replaces the layer's output with the given one, so
    whatever follows it (an activation, a reshape) is applied, differentiably. For
    :class:`ifan.network.decoders.MLPHead` that is ``activation``: nothing for logits, a sigmoid
    for points. A decoder that also outputs something computed before that layer (identity's
    embedding, its last hidden layer, after the logits) gets it from the zero tap: a constant,
    so metric values read from it (identity's verification) mean nothing for a probe head;
    the loss and the main value read the logits."""

    def __init__(self, model: IFAN, task: str):
        super().__init__()
        name, linear = last_linear(model, task)
        decoder = copy.deepcopy(model.decoders[task]).float().cpu().eval()
        decoder.requires_grad_(False)
        for module in decoder.modules():
            if isinstance(module, TaskBatchNorm):  # the copy follows a switch of its own
                module.switch.task = task
        self.decoder = decoder
        inner = name.removeprefix(f"decoders.{task}").lstrip(".")
        self.linear = decoder.get_submodule(inner) if inner else decoder
        spec = model.tap_specs[model.taps[task]]
        self.tap = (spec.channels, spec.height, spec.width)
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.task = task
        shapes: list[tuple[int, ...]] = []
        handle = self.linear.register_forward_hook(
            lambda module, inputs, output: shapes.append(tuple(inputs[0].shape))
        )
        try:
            with torch.no_grad():
                self.decoder(torch.zeros(2, *self.tap))
        finally:
            handle.remove()
        if shapes and len(shapes[-1]) != 2:
            raise FeaturesError(
                f"task {task}'s last linear layer ({name}) reads inputs of shape "
                f"{list(shapes[-1])}, not one vector per face: a probe head replaces a layer "
                "that maps one vector per face"
            )

    def forward(self, output: Tensor) -> Tensor:
        zeros = output.new_zeros(len(output), *self.tap)
        handle = self.linear.register_forward_hook(lambda module, inputs, out: output)
        try:
            return self.decoder(zeros)
        finally:
            handle.remove()


class ProbeHead(nn.Module):
    """Standardised features -> ``linear`` or ``mlp`` -> B's decoder's tail: B's prediction."""

    mean: Tensor
    std: Tensor
    """The features' standardisation (buffers, saved with the head)."""

    def __init__(
        self, dim: int, tail: DecoderTail, head: Head, hidden: int, mean: Tensor, std: Tensor
    ):
        super().__init__()
        out = tail.out_features
        if head == "linear":
            self.net: nn.Module = nn.Linear(dim, out)
        else:
            self.net = nn.Sequential(
                nn.Linear(dim, hidden, bias=False),
                nn.BatchNorm1d(hidden),
                nn.ReLU(inplace=True),
                nn.Linear(hidden, out),
            )
        self.tail = tail
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def train(self, mode: bool = True) -> ProbeHead:
        super().train(mode)
        self.tail.eval()  # B's decoder stays as it was trained
        return self

    def forward(self, features: Tensor) -> Tensor:
        return self.tail(self.net((features - self.mean) / self.std))


def _batches(size: int, batch_size: int, generator: torch.Generator) -> list[Tensor]:
    """A shuffled epoch in batches; a last batch of one face joins the one before (batch norm
    needs two)."""
    order = torch.randperm(size, generator=generator)
    chunks = list(order.split(batch_size))
    if len(chunks) > 1 and len(chunks[-1]) < 2:
        chunks[-2] = torch.cat([chunks[-2], chunks.pop()])
    return chunks


def fit_head(
    task: Task,
    tail: DecoderTail,
    features: Tensor,
    targets: Any,
    options: HeadOptions | None = None,
) -> ProbeHead:
    """A head for ``task`` trained on frozen ``features`` (``N x D``) and their ``targets`` with
    the task's own loss (see the module docstring); seeded by ``options.seed``."""
    options = options if options is not None else HeadOptions()
    features = features.float()
    mean = features.mean(0)
    std = features.std(0, unbiased=False).clamp_min(1e-6) if len(features) > 1 else None
    std = std if std is not None else torch.ones_like(mean)
    hidden = options.hidden or tail.in_features
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.seed)
        head = ProbeHead(features.shape[1], tail, options.head, hidden, mean, std)
    generator = torch.Generator().manual_seed(options.seed)
    parameters = list(head.net.parameters())
    optimiser = torch.optim.Adam(parameters, lr=options.lr, weight_decay=options.weight_decay)
    steps = options.epochs * len(_batches(len(features), options.batch_size, torch.Generator()))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps))
    )
    if options.head == "mlp" and len(features) < 2:
        raise FeaturesError("an mlp head needs at least 2 training faces (batch norm)")
    head.train()
    for _ in range(options.epochs):
        for index in _batches(len(features), options.batch_size, generator):
            loss = task.loss(head(features[index]), index_targets(targets, index))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
    return head.eval()


def score_head(
    task: Task, head: ProbeHead, features: Tensor, targets: Any, batch_size: int = 256
) -> dict[str, float]:
    """``task``'s metric (every value of ``new_metric().compute()``) of the head's predictions
    on ``features`` against ``targets``."""
    metric = task.new_metric()
    head.eval()
    with torch.no_grad():
        for index in torch.arange(len(features)).split(batch_size):
            metric.update(head(features[index].float()), index_targets(targets, index))
    return {name: float(value) for name, value in metric.compute().items()}


# The matrix ----------------------------------------------------------------------------------


@dataclass
class TargetScores:
    """One column of the matrix: a target task's scores per feature source."""

    name: str
    """As given (``TASK`` or ``RUN:TASK``)."""
    run: str
    task: str
    metric: str
    """The value the matrix shows: the task's metric's ``main``."""
    higher_is_better: bool
    unit: str
    """The metric's unit ("" for a fraction, shown in percent)."""
    samples: dict[str, int]
    """Faces per split: the training split the heads learn on, and the scored one."""
    own: ModelIdentity
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    """Row -> every value of the task's metric."""
    dims: dict[str, int] = field(default_factory=dict)
    """Row -> the length of its feature vectors."""

    def score(self, row: str) -> float:
        """The main value of ``row``."""
        return self.values[row][self.metric]

    def best(self) -> float:
        """The best main value of the column."""
        scores = [self.score(row) for row in self.values]
        return max(scores) if self.higher_is_better else min(scores)

    def shown(self, row: str) -> str:
        """The value as the table shows it: a fraction in percent, else with its unit."""
        value = self.score(row)
        text = f"{value:.4g}" if self.unit else f"{100 * value:.2f}"
        return text + (" *" if value == self.best() else "")

    def header(self) -> str:
        return f"{self.name} {self.metric} ({self.unit or '%'})"


@dataclass
class ProbeResult:
    """The matrix of :func:`probe`: rows the feature sources, then ``own`` and ``fused``;
    a column per target."""

    split: str
    options: HeadOptions
    rows: list[str]
    targets: list[TargetScores]
    sources: dict[str, ModelIdentity]
    """Row -> the model and task its features come from (the sources; ``own`` is per target)."""

    def score(self, row: str, target: str) -> float:
        """The main value of a cell."""
        return next(t for t in self.targets if t.name == target).score(row)

    def table(self) -> str:
        """The matrix as text: a line per target (its metric, direction and faces), then the
        rows; ``*`` marks each column's best."""
        lines = []
        for target in self.targets:
            better = "higher" if target.higher_is_better else "lower"
            unit = target.unit or "%"
            train, scored = target.samples["train"], target.samples[self.split]
            lines.append(
                f"{target.name}: {target.metric} in {unit}, {better} is better; "
                f"{self.options.head} heads fitted on {train} train faces, scored on {scored} "
                f"{self.split} faces"
            )
        headers = ["features", *(t.header() for t in self.targets)]
        cells = [[row, *(t.shown(row) for t in self.targets)] for row in self.rows]
        return "\n".join(lines) + "\n\n" + _table(headers, cells)

    def to_json(self) -> dict[str, Any]:
        """Everything: the options, the sources' identities, and per target its metric, faces,
        main value per row (``scores``), every value per row and each row's feature length."""
        return {
            "split": self.split,
            "head": self.options.head,
            "options": {
                "epochs": self.options.epochs,
                "batch_size": self.options.batch_size,
                "lr": self.options.lr,
                "weight_decay": self.options.weight_decay,
                "hidden": self.options.hidden,
                "seed": self.options.seed,
            },
            "rows": self.rows,
            "sources": {row: ident.to_json() for row, ident in self.sources.items()},
            "targets": {
                t.name: {
                    "run": t.run,
                    "task": t.task,
                    "metric": t.metric,
                    "higher_is_better": t.higher_is_better,
                    "unit": t.unit,
                    "samples": t.samples,
                    "own": t.own.to_json(),
                    "scores": {row: t.score(row) for row in self.rows},
                    "values": t.values,
                    "dims": t.dims,
                }
                for t in self.targets
            },
        }


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart; the headers as they are (paths keep their case)."""
    cells = [list(headers), *map(list, rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


@dataclass(frozen=True)
class _Target:
    name: str
    run: str
    task: str


class _Session:
    """The models loaded, the datasets opened and the features extracted so far, each once."""

    def __init__(
        self,
        device: str | torch.device | None,
        registry: PluginRegistry | None,
        batch_size: int,
        cache: Path | None,
        progress: bool,
    ):
        self.device = device
        self.registry = registry
        self.batch_size = batch_size
        self.cache = cache
        self.progress = progress
        self.models: dict[str, Predictor] = {}
        self.datasets: dict[tuple[Any, ...], dict[Split, Dataset]] = {}
        self.features: dict[tuple[str, ...], Features] = {}

    def model(self, run: str) -> Predictor:
        if run not in self.models:
            from ifan.inference import load

            self.models[run] = load(run, self.device, registry=self.registry)
        return self.models[run]

    def require(self, run: str, task: str) -> Predictor:
        """The model of ``run``, checked to have ``task`` with a feature vector."""
        predictor = self.model(run)
        identity(predictor, task, run)
        return predictor

    def labelled(self, target: _Target, source: Predictor, split: Split) -> dict[Split, Dataset]:
        """The target's train and ``split`` faces, cropped as ``source`` crops faces."""
        config = source.manifest.model
        key = (target.run, target.task, split, config.input_size, config.crop.model_dump_json())
        if key not in self.datasets:
            manifest = self.model(target.run).manifest
            splits: list[Split] = ["train", split]
            self.datasets[key] = open_labelled(
                manifest, target.task, splits, config, target.run, self.progress
            )
        return self.datasets[key]

    def extract(self, run: str, tasks: Sequence[str], target: _Target, split: Split) -> None:
        """The features of ``run``'s ``tasks`` on the target's train and ``split`` faces, read
        from the cache where there, else extracted (all the tasks in one pass)."""
        source = self.model(run)
        datasets = self.labelled(target, source, split)
        handler = self.model(target.run).model.tasks[target.task]
        names: list[Split] = list(dict.fromkeys(["train", split]))
        for name in names:
            dataset = datasets[name]
            missing = [t for t in tasks if self._key(run, t, target, name) not in self.features]
            missing = [t for t in missing if not self._cached(run, t, target, name, dataset)]
            if not missing:
                continue
            desc = f"features {'+'.join(missing)} of {run} on {target.task} {name}"
            values, targets = dataset_features(
                source, missing, dataset, handler.collate, self.batch_size, desc, self.progress
            )
            paths = sample_paths(dataset)
            about = {
                "kind": "split",
                "run": target.run,
                "task": target.task,
                "split": name,
                "labels": handler.labels.kind,
                "names": list(handler.labels.names),
            }
            for task in missing:
                made = Features(values[task], identity(source, task, run), paths, about, targets)
                self.features[self._key(run, task, target, name)] = made
                if self.cache is not None:
                    made.save(self._cache_file(run, task, target, name))

    @staticmethod
    def _key(run: str, task: str, target: _Target, split: Split) -> tuple[str, ...]:
        return (run, task, target.run, target.task, split)

    def _cache_file(self, run: str, task: str, target: _Target, split: Split) -> Path:
        assert self.cache is not None
        source = self.model(run)
        data = self.model(target.run).manifest.tasks[target.task].data
        key = json.dumps(
            [
                str(Path(source.checkpoint).resolve()),
                task,
                str(Path(self.model(target.run).checkpoint).resolve()),
                target.task,
                split,
                data.format,
                {s: str(p) for s, p in data.splits.items()},
                data.options.model_dump(mode="json"),
                source.manifest.model.input_size,
                source.manifest.model.crop.model_dump(mode="json"),
            ],
            default=str,
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(run).name or run)
        return self.cache / f"{stem}-{task}--{target.task}-{split}-{digest}.safetensors"

    def _cached(self, run: str, task: str, target: _Target, split: Split, dataset: Dataset) -> bool:
        """Whether the cache held these features (now kept in memory); a file of another
        model or of other faces is an error."""
        if self.cache is None:
            return False
        path = self._cache_file(run, task, target, split)
        if not path.is_file():
            return False
        found = Features.load(path)
        found.check_model(identity(self.model(run), task, run), str(path))
        paths = sample_paths(dataset)
        size = len(dataset)  # type: ignore[arg-type]
        if len(found) != size or (paths and found.paths != paths):
            raise FeaturesError(
                f"{path} holds features of other faces than the {split} split of "
                f"{target.task} in {target.run} now has ({len(found)} faces, now {size}): "
                "delete it to extract them again"
            )
        self.features[self._key(run, task, target, split)] = found
        return True

    def get(self, run: str, task: str, target: _Target, split: Split) -> Features:
        return self.features[self._key(run, task, target, split)]


def probe(
    targets: Sequence[str],
    sources: Sequence[str] = (),
    *,
    split: Split = "test",
    head: Head = "linear",
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    hidden: int | None = None,
    seed: int = 0,
    extract_batch_size: int = 32,
    device: str | torch.device | None = None,
    cache: str | os.PathLike | None = None,
    registry: PluginRegistry | None = None,
    progress: bool = True,
) -> ProbeResult:
    """The probe matrix (see the module docstring) of ``targets`` (``RUN:TASK``, or ``TASK``
    of the one source run that has it) from ``sources`` (``RUN:TASK`` each; a run is a run
    folder, a checkpoint or a pretrained model's name).

    Each target's heads learn on its train split and are scored on ``split``; ``head``,
    ``epochs``, ``batch_size``, ``lr``, ``weight_decay``, ``hidden`` and ``seed`` say how
    (:class:`HeadOptions`). Features are extracted ``extract_batch_size`` faces at a time on
    ``device`` (default: the GPU when there is one); ``cache`` is a folder to keep them in
    between calls. Errors name what is wrong and where: a run without a source task, a target
    that is not a class or value task, a target without labelled faces for a split, a cached
    file of another model.
    """
    options = HeadOptions(head, epochs, batch_size, lr, weight_decay, hidden, seed)
    if split not in ("val", "test"):
        raise FeaturesError(
            f"split {split!r}: heads learn on the train split and are scored on val or test"
        )
    if not targets:
        raise FeaturesError("no target: name at least one task to probe (--target [RUN:]TASK)")
    if len(set(sources)) != len(sources):
        raise FeaturesError(f"a source is named twice: {', '.join(sources)}")
    if len(set(targets)) != len(targets):
        raise FeaturesError(f"a target is named twice: {', '.join(targets)}")
    folder = Path(cache) if cache is not None else None
    session = _Session(device, registry, extract_batch_size, folder, progress)
    pairs = []
    for text in sources:
        run, task = parse_named_task(text)
        if run is None:
            raise FeaturesError(
                f"source {text!r}: expected RUN:TASK, a task of a trained run (a run folder, "
                f"a checkpoint or a pretrained model's name), e.g. runs/{text}:{text}"
            )
        session.require(run, task)
        pairs.append((run, task))
    chosen = [_resolve_target(text, pairs, session) for text in targets]
    for target in chosen:
        for run in dict.fromkeys([target.run, *(run for run, _ in pairs)]):
            session.labelled(target, session.model(run), split)  # every split exists
    for target in chosen:
        _extract(target, pairs, split, session)
    rows = [*sources, OWN, FUSED]
    columns: list[TargetScores] = []
    total = len(chosen) * len(rows)
    with bar(total=total, desc="probe heads", unit="head", enabled=progress) as shown:
        for target in chosen:
            columns.append(_column(target, pairs, list(sources), split, options, session, shown))
    identities = {
        text: identity(session.model(run), task, run)
        for text, (run, task) in zip(sources, pairs, strict=True)
    }
    return ProbeResult(split, options, rows, columns, identities)


def _resolve_target(text: str, pairs: Sequence[tuple[str, str]], session: _Session) -> _Target:
    """A ``--target``: ``RUN:TASK``, or ``TASK`` of the one source run that has it; checked to
    be a class or value task with a decoder the probe can replace."""
    run, task = parse_named_task(text)
    if run is None:
        runs = list(dict.fromkeys(r for r, _ in pairs if task in session.model(r).model.decoders))
        if not runs:
            given = ", ".join(dict.fromkeys(r for r, _ in pairs)) or "none"
            raise FeaturesError(
                f"target {task!r}: no source run has this task (source runs: {given}); name "
                f"the run it was trained in: --target RUN:{task}"
            )
        if len(runs) > 1:
            raise FeaturesError(
                f"target {task!r}: the source runs {', '.join(runs)} all have it; name the one "
                f"whose data and own features to use: --target RUN:{task}"
            )
        run = runs[0]
    predictor = session.model(run)
    if task not in predictor.model.decoders:
        raise FeaturesError(
            f"target {text!r}: {run} has no task {task!r}; its tasks are "
            f"{', '.join(predictor.tasks)}"
        )
    kind = predictor.model.tasks[task].labels.kind
    if kind not in KINDS:
        raise FeaturesError(
            f"target {text!r}: {task}'s labels are {kind}; a probe head learns a class or a "
            "value per face"
        )
    DecoderTail(predictor.model, task)  # its last linear layer maps one vector per face
    return _Target(text, run, task)


def _extract(
    target: _Target, pairs: Sequence[tuple[str, str]], split: Split, session: _Session
) -> None:
    """The features of every source and of the target's own on the target's faces, each run's
    tasks in one pass."""
    needed: dict[str, list[str]] = {}
    for run, task in [*pairs, (target.run, target.task)]:
        needed.setdefault(run, [])
        if task not in needed[run]:
            needed[run].append(task)
    for run, tasks in needed.items():
        session.extract(run, tasks, target, split)


def _column(
    target: _Target,
    pairs: Sequence[tuple[str, str]],
    names: Sequence[str],
    split: Split,
    options: HeadOptions,
    session: _Session,
    shown: Any,
) -> TargetScores:
    """One target's column: a head fitted and scored on each row's features."""
    own = (target.run, target.task)
    predictor = session.model(target.run)
    handler = predictor.model.tasks[target.task]
    tail = DecoderTail(predictor.model, target.task)
    metric = handler.new_metric()
    unit = metric.units.get(metric.main, "")
    train_own = session.get(*own, target, "train")
    scored_own = session.get(*own, target, split)
    if train_own.targets is None or scored_own.targets is None:
        raise FeaturesError(
            f"target {target.name}: its reader's labels are not tensors or a dict of tensors, "
            "which a probe head needs to learn from"
        )
    column = TargetScores(
        target.name,
        target.run,
        target.task,
        metric.main,
        metric.higher_is_better,
        unit,
        {"train": len(train_own), split: len(scored_own)},
        identity(predictor, target.task, target.run),
    )
    sets = {name: [pair] for name, pair in zip(names, pairs, strict=True)}
    sets[OWN] = [own]
    sets[FUSED] = list(dict.fromkeys([*pairs, own]))
    done: dict[tuple[tuple[str, str], ...], dict[str, float]] = {}
    for row, members in sets.items():
        key = tuple(members)
        train = _joined(members, target, "train", session, train_own)
        if key not in done:
            scored = _joined(members, target, split, session, scored_own)
            head = fit_head(handler, tail, train, train_own.targets, options)
            done[key] = score_head(handler, head, scored, scored_own.targets)
        shown.set_postfix_str(f"{target.name} from {row}")
        column.values[row] = done[key]
        column.dims[row] = int(train.shape[1])
        shown.update(1)
    return column


def _joined(
    members: Sequence[tuple[str, str]],
    target: _Target,
    split: Split,
    session: _Session,
    reference: Features,
) -> Tensor:
    """The features of ``members`` side by side, checked to be of the reference's faces."""
    parts = []
    for run, task in members:
        found = session.get(run, task, target, split)
        if len(found) != len(reference) or (
            found.paths and reference.paths and found.paths != reference.paths
        ):
            raise FeaturesError(
                f"the {split} faces of {target.task} differ between the crops of {run} and of "
                f"{target.run} ({len(found)} and {len(reference)} faces): their readers left "
                "out different faces, so their features cannot be compared"
            )
        parts.append(found.features)
    return torch.cat(parts, dim=1)
