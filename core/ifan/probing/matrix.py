"""Running a probe: every target's faces and labels read once, each source's features extracted
once per run and split (or read from the cache), a head fitted and scored for every cell of the
matrix."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ifan.contract import Split
from ifan.errors import FeaturesError
from ifan.features.extract import (
    dataset_features,
    open_labelled,
    parse_named_task,
    sample_paths,
)
from ifan.features.store import Features, identity
from ifan.probing.heads import DecoderTail, Head, HeadOptions, fit_head, score_head
from ifan.probing.results import FUSED, KINDS, OWN, ProbeResult, TargetScores
from ifan.progress import bar

if TYPE_CHECKING:
    from ifan.inference import Predictor
    from ifan.plugins import PluginRegistry


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
