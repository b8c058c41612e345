"""The training loop: Algorithm 1 over the schedule, checkpoints and resume, one or many processes.

One optimizer (torch's and timm's factories) and one learning-rate schedule serve both stages:
stage 1 at ``lr_pretrain``; stage 2 decaying from ``lr_finetune`` to ``lr_finetune_end`` over its
updates in the shape of ``train.lr_decay`` (:mod:`ifan.training.lr_decay`; after a resume that
changes stage 2's length, from the rate reached over the new rest). Each update trains exactly
the parameters Algorithm 1 names: the shared backbone (with the task's own batch norm) and the
task's decoder, plus in stage 2 every re-encoder and the integrator; every other parameter's
gradient is dropped before the step, so a task never moves another task's decoder or
batch-norm copy.

Stage 1 multiplies each task's loss by its ``loss_weight``; stage 2 lets the manifest's loss
balancer weigh it (:mod:`ifan.balancers`; ``fixed``, the default, does the same as stage 1). The
run's events (epochs, validations, checkpoints) go to the loggers of ``train.loggers``
(:mod:`ifan.loggers`) besides ``metrics.jsonl``.

Under ``torchrun`` each process reads its shard of every batch (the global batch is the
manifest's ``batch_size``), DistributedDataParallel averages the gradients (and the trainer those
of the balancer's parameters), metrics are summed across processes and only rank 0 writes the
run folder and logs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader

from ifan.balancers import Balancer, FixedWeights
from ifan.data.dataset import dataset_size
from ifan.data.splits import as_float, open_splits
from ifan.errors import IfanError
from ifan.evaluation import evaluate_task
from ifan.loggers.events import CheckpointSaved, EpochEnded, RunEnded, RunStarted, Validated
from ifan.loggers.fanout import Loggers
from ifan.manifest import Manifest
from ifan.manifest.schema import TrainConfig
from ifan.network.model import IFAN, build_model
from ifan.network.precision import use_bf16
from ifan.network.task_batchnorm import TaskBatchNorm
from ifan.progress import bar as progress_bar
from ifan.runs.checkpoint import Checkpoint, CheckpointError, save_checkpoint
from ifan.runs.history import History
from ifan.runs.layout import (
    CURVES,
    HISTORY,
    best_path,
    checkpoint_path,
    latest_checkpoint,
    prune_checkpoints,
)
from ifan.runs.meta import run_meta
from ifan.training.best import Best
from ifan.training.init_from import take_weights
from ifan.training.lr_decay import Decay
from ifan.training.processes import start_processes
from ifan.training.resume import check_schedule
from ifan.training.rng import rng_state, set_rng_state
from ifan.training.scheduler import (
    SeededCollate,
    SeededDataset,
    StreamSampler,
    TaskStream,
    Update,
    epoch_rounds,
    schedule,
)
from ifan.training.stop_request import StopRequest, ignore_stop_signals


@dataclass
class Progress:
    """Where a run is: updates done, batches consumed of each task's stream, and the training
    losses of the epoch under way (``[sum, count]`` by task, so that a run resumed within an
    epoch logs and balances with the whole epoch's mean)."""

    step: int = 0
    consumed: dict[str, int] = field(default_factory=dict)
    losses: dict[str, list[float]] = field(default_factory=dict)

    def add_loss(self, task: str, loss: float) -> None:
        total, count = self.losses.get(task, (0.0, 0))
        self.losses[task] = [total + loss, count + 1]

    def mean_losses(self) -> dict[str, float]:
        return {task: total / count for task, (total, count) in self.losses.items()}

    def state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "consumed": dict(self.consumed),
            "losses": {task: list(values) for task, values in self.losses.items()},
        }


def marking_last(updates: Iterator[Update]) -> Iterator[tuple[Update, bool]]:
    """Each update with whether it is the run's last (one ahead is looked at: updates are
    plain records, no data is read for them)."""
    ahead = next(updates, None)
    while ahead is not None:
        update, ahead = ahead, next(updates, None)
        yield update, ahead is None


class Trainer:
    """Trains the manifest's network into ``run_dir``: from ``checkpoint`` when resuming (the
    manifest may change only what :mod:`ifan.training.resume` allows), or as a new run whose
    matching weights come from the checkpoint ``init_from`` (:mod:`ifan.training.init_from`)."""

    def __init__(
        self,
        manifest: Manifest,
        run_dir: Path,
        checkpoint: Checkpoint | None = None,
        progress_bars: bool = True,
        init_from: Checkpoint | None = None,
    ):
        if checkpoint is not None and init_from is not None:
            raise IfanError("a run is either resumed or started from another run's weights")
        self.manifest = manifest
        self.config = manifest.train
        self.run_dir = Path(run_dir)
        if self.config.threads is not None:
            torch.set_num_threads(self.config.threads)
        self.procs = start_processes(self.config.device)
        self.bf16 = use_bf16(self.config.bf16, self.procs.device)
        """Whether the updates run in bfloat16 autocast (``train.bf16``, "auto" resolved here)."""
        self.bars = progress_bars and self.procs.main
        started = self.procs.on_main(
            lambda: Loggers.start(manifest.loggers, self.run_dir), "start the loggers"
        )
        self.events = started if started is not None else Loggers()
        torch.manual_seed(self.config.seed)
        self.model = build_model(manifest).to(self.procs.device).to(memory_format=self._layout())
        self.names = self.model.task_names
        self.inherited = None if init_from is None else take_weights(self.model, init_from)
        self.origin = None if self.inherited is None else self.inherited.meta()
        """Where the run's weights started (``init_from`` in its checkpoints' metadata)."""
        self.best = self._new_best()
        self.stopped = False
        """Whether ``train.patience`` stopped the run early."""
        self.signalled: int | None = None
        """The signal (Ctrl-C, SIGTERM) after which :meth:`fit` stopped, its checkpoint written."""
        self.saved_at = -1
        """The update of the last checkpoint this process took part in writing."""
        self.data = {
            name: open_splits(config, self.model.tasks[name], manifest, progress=self.procs.main)
            for name, config in manifest.tasks.items()
        }
        self.streams = self._streams()
        self.passes = {name: stream.per_pass for name, stream in self.streams.items()}
        self.rounds = epoch_rounds(self.config.finetune_rounds, self.passes)
        self.weights = {name: manifest.tasks[name].loss_weight for name in self.names}
        self.fixed = FixedWeights(self.weights)
        """Stage 1's weighing: each task's ``loss_weight``."""
        self.balancer: Balancer = manifest.balancer.make(self.weights, self.procs.device)
        """Stage 2's weighing (``train.balancer``)."""
        self.shared = _shared_parameters(self.model)
        self.optimizer = _optimizer(self.model, manifest, self.balancer)
        self.decay: Decay | None = None
        """Stage 2's learning rates (None before stage 2)."""
        self.finetuned = 0
        """Stage-2 updates done."""
        self.progress = Progress(consumed=dict.fromkeys(self.names, 0))
        self.net: nn.Module = self.model
        if self.procs.world > 1:
            self.net = nn.parallel.DistributedDataParallel(self.model, find_unused_parameters=True)
        if checkpoint is not None:
            self._restore(checkpoint)
        self.history = self.procs.on_main(
            self._start_history, f"start the run's records ({self.run_dir / HISTORY}, loggers)"
        )
        self.loaders: dict[str, Iterator] = {}
        self.trained: list[tuple[int, str, int, float]] = []
        """``(stage, task, samples, lr)`` of every update this process made (tests, logs)."""

    def _start_history(self) -> History:
        """The run's metrics log without the records after the update the run starts from (all
        of them for a new run: one killed before its first checkpoint starts anew), and the
        loggers told that the run starts."""
        history = History(self.run_dir / HISTORY)
        history.truncate_after(self.progress.step)
        self.events.send(
            RunStarted(self.run_dir, tuple(self.names), self.progress.step, self.manifest.data)
        )
        return history

    def _streams(self) -> dict[str, TaskStream]:
        streams = {}
        for index, name in enumerate(self.names):
            train = self.data[name].datasets.get("train")
            if train is None:
                raise IfanError(f"tasks.{name}.data: training needs a train split")
            size = self.manifest.tasks[name].batch_size
            if size % self.procs.world:
                raise IfanError(
                    f"tasks.{name}.batch_size = {size} is not divisible by the "
                    f"{self.procs.world} processes; the batch is split evenly between them"
                )
            weights = self.data[name].weights
            streams[name] = TaskStream(dataset_size(train), size, self.config.seed, index, weights)
        return streams

    # -- the loop ---------------------------------------------------------------------------

    def _plan(self) -> Iterator[Update]:
        """Every update of the schedule, from the first."""
        return schedule(
            self.names,
            self.passes,
            self.config.pretrain_epochs,
            self.config.finetune_epochs,
            self.rounds,
        )

    def updates(self) -> Iterator[Update]:
        """The updates still to do (all of them for a new run)."""
        return itertools.islice(self._plan(), self.progress.step, None)

    def _done_in_epoch(self) -> int:
        """The updates of the epoch under way already done: those before a resume within it."""
        done = 0
        for update in itertools.islice(self._plan(), self.progress.step):
            done = 0 if update.ends_epoch else done + 1
        return done

    def fit(self, stop_after: int | None = None, stop: StopRequest | None = None) -> Progress:
        """Train to the end of the schedule, or until ``train.patience`` stops it (or for
        ``stop_after`` more updates, for tests). With ``stop``, a Ctrl-C or SIGTERM it notes
        ends the run after the update under way, whose checkpoint is written first
        (``signalled`` says which signal); one that comes during the last update lets the run
        end as if none had come, as nothing is left to resume."""
        bar = None
        finished = True
        before = self._done_in_epoch() if self.bars else 0  # for the first bar, on a resume
        for done, (update, last) in enumerate(marking_last(self.updates())):
            if self.stopped:
                break
            if stop_after is not None and done >= stop_after:
                finished = False
                break
            if update.stage == 2 and self.decay is None:
                self._start_finetuning()
            self.step(update)
            if bar is None and self.bars:
                total = self._epoch_length(update)
                name = self._epoch_name(update)
                bar = progress_bar(total=total, initial=before, desc=name, unit="upd")
                before = 0
            if bar is not None:
                bar.update()
                bar.set_postfix({t: f"{v:.4f}" for t, v in self.progress.mean_losses().items()})
            every = self.config.checkpoint_every
            if update.ends_epoch:
                if bar is not None:
                    bar.close()
                    bar = None
                self._end_epoch(update)
            elif every and self.progress.step % every == 0:
                self.save(curves=False)  # no new metrics within an epoch: the curves stand
            if stop is not None and not last and self._asked_to_stop(stop):
                if self.saved_at != self.progress.step:
                    self.save(curves=False)
                self.signalled = stop.signum
                finished = False
                break
        if bar is not None:
            bar.close()
        if finished:
            self.events.send(RunEnded(self.progress.step, self.stopped))
        return self.progress

    def _asked_to_stop(self, stop: StopRequest) -> bool:
        """Whether any process got a stop signal: all agree, so that all stop after the same
        update (a signal may reach one process of a torchrun start only)."""
        if self.procs.world > 1:
            signum = torch.tensor([stop.signum or 0], device=self.procs.device)
            dist.all_reduce(signum, op=dist.ReduceOp.MAX)
            stop.signum = int(signum.item()) or None  # another process's signal stops this one
        return stop.signum is not None

    def close(self) -> None:
        """Stop the data loaders and leave the process group together: a process that exits
        with gloo's threads still running while another is finishing can be aborted; and close
        the loggers."""
        self.loaders.clear()
        self.events.close()
        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()

    def step(self, update: Update) -> float:
        """One optimizer step of ``update.task`` on its next batch; returns the loss."""
        images, target = self._next_batch(update.task)
        iterations = 0 if update.stage == 1 else None
        balancer = self.balancer if update.stage == 2 else self.fixed
        self.net.train()
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            # Only the trained task is decoded at the last iteration: every output then reaches
            # the loss, so DistributedDataParallel sees exactly the parameters autograd reaches.
            outputs = self.net(images, task=update.task, iterations=iterations, heads=[update.task])
            loss = self.model.loss(outputs, update.task, target)
            weighted = balancer.weigh(update.task, loss)
        reached = _parameters_reached(weighted)
        weighted.backward()
        self._keep_only_trained(update, reached)
        self._average_balancer_gradients()
        # Checked once the gradients are averaged over the processes: a loss that is not finite
        # in one of them makes its gradients so, the average carries them to every process, and
        # all stop together instead of some waiting for the others' next gradients.
        trained = [*self.model.parameters(), *self.balancer.parameters()]
        if not torch.isfinite(loss):
            raise self._diverged(update, f"loss is {float(loss.detach())}")
        if not _finite(p.grad for p in trained if p.grad is not None):
            elsewhere = (
                f" (averaged over the {self.procs.world} processes: another's batch may be the "
                "cause)"
                if self.procs.world > 1
                else ""
            )
            raise self._diverged(
                update,
                f"loss is {float(loss.detach())} but its gradient is not finite{elsewhere}",
            )
        if update.stage == 2:
            balancer.after_backward(
                update.task, [p.grad for p in self.shared if p.grad is not None]
            )
        if update.stage == 2 and self.decay is not None:
            self._set_rate(self.decay.rate(self.finetuned))
            self.finetuned += 1
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        value = float(loss.detach())
        self.progress.step += 1
        self.progress.consumed[update.task] += 1
        self.progress.add_loss(update.task, value)
        self.trained.append((update.stage, update.task, len(images), lr))
        return value

    def _average_balancer_gradients(self) -> None:
        """Average the gradients of the balancer's parameters over the processes, as
        DistributedDataParallel does the network's, so that every process keeps the same."""
        if self.procs.world == 1:
            return
        for parameter in self.balancer.parameters():
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad)
                parameter.grad /= self.procs.world

    def _diverged(self, update: Update, what: str) -> IfanError:
        """The error that stops a run whose ``update`` went non-finite: the update, the task, the
        batch (its place in the task's stream and its sample indices) and the checkpoint kept."""
        k = self.progress.consumed[update.task]
        stream = self.streams[update.task]
        pass_, position = divmod(k, stream.per_pass)
        samples = [index for index, _ in stream.batch(k)]
        shown = ", ".join(map(str, samples[:16])) + (", ..." if len(samples) > 16 else "")
        return IfanError(
            f"the {update.task} {what} at update {self.progress.step + 1} (stage {update.stage}, "
            f"epoch {update.epoch}), on {update.task} batch {position + 1} of "
            f"{stream.per_pass} in pass {pass_ + 1} over its training split (samples {shown}); "
            f"{self._kept()}. {DIVERGED}"
        )

    def _kept(self) -> str:
        """Which checkpoint a failed run keeps, and how to continue from it."""
        last = latest_checkpoint(self.run_dir)
        if last is None:
            return f"no checkpoint was written to {self.run_dir / 'checkpoints'} yet"
        return (
            f"the last checkpoint in {self.run_dir / 'checkpoints'}, {last.name}, is kept "
            f"(continue from it with `ifan train --resume {self.run_dir}`)"
        )

    def _keep_only_trained(self, update: Update, reached: set[int]) -> None:
        """Drop the gradients Algorithm 1 does not apply (see the module docstring), and those of
        parameters the loss does not reach, which DistributedDataParallel may have set to zeros
        (an optimizer with momentum would still move them; alone, they stay None)."""
        frozen = [p for p in self.model.parameters() if id(p) not in reached]
        for name, decoder in self.model.decoders.items():
            if name != update.task:
                frozen += decoder.parameters()
        if update.stage == 1 and self.model.integrator is not None:
            frozen += self.model.integrator.parameters()
        for module in self.model.modules():
            if isinstance(module, TaskBatchNorm):
                for name, norm in module.norms.items():
                    if name != update.task:
                        frozen += norm.parameters()
        for parameter in frozen:
            parameter.grad = None

    def _next_batch(self, task: str) -> tuple[torch.Tensor, Any]:
        if task not in self.loaders:
            sampler = StreamSampler(
                self.streams[task],
                self.progress.consumed[task],
                self.procs.rank,
                self.procs.world,
            )
            loader = DataLoader(
                SeededDataset(self.data[task].datasets["train"]),
                batch_sampler=sampler,
                collate_fn=SeededCollate(self.model.tasks[task].collate),
                num_workers=self.config.workers,
                persistent_workers=self.config.workers > 0,
                worker_init_fn=ignore_stop_signals if self.config.workers > 0 else None,
            )
            self.loaders[task] = iter(loader)
        images, target, seeds = next(self.loaders[task])
        images, target = images.to(self.procs.device), _to(target, self.procs.device)
        augment = self.data[task].augment
        if augment is not None:
            # On the batch, on the training device; each sample's draw comes from its own seed.
            handler = self.model.tasks[task]
            images, target = handler.augment_batch(images, target, augment.seeded(seeds))
        images = as_float(images).contiguous(memory_format=self._layout())
        return images, target

    def _layout(self) -> torch.memory_format:
        return torch.channels_last if self.config.channels_last else torch.contiguous_format

    def _autocast(self) -> Any:
        if not self.bf16:
            return nullcontext()
        return torch.autocast(self.procs.device.type, dtype=torch.bfloat16)

    def _stage2_updates(self, config: TrainConfig) -> int:
        """Updates in stage 2 of ``config``'s schedule."""
        rounds = epoch_rounds(config.finetune_rounds, self.passes)
        return config.finetune_epochs * rounds * len(self.names)

    def _start_finetuning(self) -> None:
        config = self.config
        total = self._stage2_updates(config)
        self.decay = Decay(config.lr_decay, 0, total, config.lr_finetune, config.lr_finetune_end)
        self.finetuned = 0
        self._set_rate(self.decay.rate(0))

    def _set_rate(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _epoch_length(self, update: Update) -> int:
        if update.stage == 1:
            return self.streams[update.task].per_pass
        return self.rounds * len(self.names)

    def _epoch_name(self, update: Update) -> str:
        if update.stage == 1:
            return f"stage 1 {update.task} epoch {update.epoch}/{self.config.pretrain_epochs}"
        return f"stage 2 epoch {update.epoch}/{self.config.finetune_epochs}"

    # -- epochs, checkpoints ----------------------------------------------------------------

    def _end_epoch(self, update: Update) -> None:
        lr = self.optimizer.param_groups[0]["lr"]
        losses = self.progress.mean_losses()
        weights = (self.balancer if update.stage == 2 else self.fixed).weights()
        if update.stage == 2:
            self.balancer.end_epoch(self._over_processes(self.progress.losses))
        self.progress.losses = {}
        tasks = [update.task] if update.stage == 1 else self.names
        results = self.validate(tasks, 0 if update.stage == 1 else None)
        improved = False
        if self.best is not None and update.stage == 2:
            values, _ = results[self.best.task]
            improved = self.best.offer(values[self.best.metric], self.progress.step, update.epoch)
            self.stopped = self.best.exhausted(self.config.patience)
        ended = EpochEnded(
            update.stage, update.epoch, self.progress.step, losses, weights, lr, time.time()
        )
        self.procs.on_main(
            lambda: self._record_epoch(update, ended, results), f"log {self._epoch_name(update)}"
        )
        self.save(best=improved)

    def _record_epoch(
        self, update: Update, ended: EpochEnded, results: dict[str, tuple[dict, Any]]
    ) -> None:
        """The epoch's losses and scores in ``metrics.jsonl``, on the terminal and to the
        loggers (the main process's job)."""
        assert self.history is not None  # the main process opened it
        stage, epoch, step = ended.stage, ended.epoch, ended.step
        outputs = 1 if stage == 1 else self.model.iterations + 1
        for task, loss in ended.losses.items():
            self.history.log_train(
                stage=stage,
                epoch=epoch,
                step=step,
                task=task,
                loss=loss,
                lr=ended.lr,
                time=ended.time,
                outputs=outputs,
            )
        for task, (values, metric) in results.items():
            self.history.log_eval(
                stage=stage,
                epoch=epoch,
                step=step,
                task=task,
                metrics=values,
                main=metric.main,
                higher_is_better=metric.higher_is_better,
            )
        self._print_epoch(update, ended.losses, results)
        self.events.send(ended)
        for task, (values, metric) in results.items():
            scores = {name: float(value) for name, value in values.items()}
            self.events.send(
                Validated(
                    stage, epoch, step, task, "val", scores, metric.main, metric.higher_is_better
                )
            )

    def _over_processes(self, losses: dict[str, list[float]]) -> dict[str, float]:
        """Each task's mean loss of the epoch over every process's batches (its own alone in a
        single process), the same number on every process."""
        if self.procs.world > 1:
            sums = torch.tensor(
                [losses.get(task, [0.0, 0]) for task in self.names],
                dtype=torch.float64,
                device=self.procs.device,
            )
            dist.all_reduce(sums)
            losses = dict(zip(self.names, sums.tolist(), strict=True))
        return {task: total / count for task, (total, count) in losses.items() if count}

    def _new_best(self) -> Best | None:
        """The tracker of ``train.keep_best``, with its metric's direction (None without)."""
        key = self.config.keep_best
        if key is None:
            return None
        task = self.model.tasks[key.partition(".")[0]]
        return Best(key, task.new_metric().higher_is_better)

    def best_message(self) -> str | None:
        """Where the best checkpoint is and what it scored, and why the run stopped early if it
        did (None without ``train.keep_best``)."""
        if self.best is None:
            return None
        where = f"best: {best_path(self.run_dir)} ({self.best.describe()})"
        if self.best.value is None:
            where = f"no best checkpoint yet: no finite {self.best.key} value"
        if not self.stopped:
            return where
        return (
            f"stopped early: no better {self.best.key} in {self.best.since} stage-2 validations "
            f"(train.patience = {self.config.patience})\n{where}"
        )

    def validate(self, tasks: list[str], iterations: int | None) -> dict[str, tuple[dict, Any]]:
        """Every named task's metrics on its val split (summed over processes)."""

        results = {}
        for task in tasks:
            val = self.data[task].datasets.get("val")
            if val is None:
                continue
            metric, _ = evaluate_task(
                self.model,
                task,
                val,
                self.manifest.tasks[task].batch_size,
                iterations=iterations,
                device=self.procs.device,
                shard=(self.procs.rank, self.procs.world),
            )
            results[task] = (metric.compute(), metric)
        return results

    def _print_epoch(self, update: Update, losses: dict[str, float], results: dict) -> None:
        parts = [f"{t} loss {v:.4f}" for t, v in losses.items()]
        parts += [f"{t} {m.main} {values[m.main]:.4f}" for t, (values, m) in results.items()]
        print(f"{self._epoch_name(update)}: {', '.join(parts)}")  # no progress bar is drawn now

    def save(self, curves: bool = True, best: bool = False) -> None:
        """Checkpoint the run (rank 0, which tells the others whether it could), keep the newest
        few, redraw the curves (if ``curves``); with ``best``, the checkpoint is also the run's
        best (written first: a crash between the two writes resumes from the checkpoint before,
        which validates and writes it again)."""
        self.procs.on_main(
            lambda: self._write_checkpoint(curves, best),
            f"save the checkpoint of update {self.progress.step}",
        )
        self.saved_at = self.progress.step

    def _write_checkpoint(self, curves: bool, best: bool) -> None:
        progress = {**self.progress.state(), "rng": rng_state()}
        if self.decay is not None:
            progress["decay"] = {**self.decay.state(), "done": self.finetuned}
        if self.best is not None:
            progress["best"] = self.best.state()
        progress["balancer"] = {"name": self.balancer.name, "state": self.balancer.state()}
        if not _finite(p.detach() for p in self.model.parameters()):
            raise IfanError(
                f"the weights are no longer finite after update {self.progress.step}, so they are "
                f"not saved; {self._kept()}. {DIVERGED}"
            )
        paths = [checkpoint_path(self.run_dir, self.progress.step)]
        if best:
            paths.insert(0, best_path(self.run_dir))
        meta = run_meta(self.manifest, progress, self.origin)
        try:
            for path in paths:
                save_checkpoint(path, self.model.state_dict(), self.optimizer.state_dict(), meta)
        except CheckpointError as exc:
            raise CheckpointError(
                f"{exc} Training stopped after update {self.progress.step}; continue it from its "
                f"last checkpoint with `ifan train --resume {self.run_dir}`"
            ) from exc
        for path in paths:
            self.events.send(CheckpointSaved(self.progress.step, path, best and path == paths[0]))
        prune_checkpoints(self.run_dir, self.config.keep_checkpoints)
        if curves:
            self._draw_curves()

    def _draw_curves(self) -> None:
        from ifan.plots import plot_history
        from ifan.runs.history import read_history

        path = self.run_dir / HISTORY
        records = read_history(path) if path.exists() else []
        if records:
            plot_history(records, self.run_dir / CURVES)

    def _restore(self, checkpoint: Checkpoint) -> None:
        try:
            self._restore_state(checkpoint)
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
            raise CheckpointError(
                f"checkpoint {checkpoint.path} cannot be resumed: its training state does not "
                f"fit this run ({type(exc).__name__}: {exc})"
            ) from exc

    def _restore_state(self, checkpoint: Checkpoint) -> None:
        self.model.load_state_dict(checkpoint.model)
        if checkpoint.optimizer is not None:
            self.optimizer.load_state_dict(checkpoint.optimizer)
        progress = checkpoint.meta["progress"]
        consumed = {name: int(progress["consumed"][name]) for name in self.names}
        losses = {
            task: [float(total), int(count)]
            for task, (total, count) in progress.get("losses", {}).items()
        }
        self.progress = Progress(int(progress["step"]), consumed, losses)
        if progress.get("balancer", {}).get("name") == self.balancer.name:
            self.balancer.load_state(progress["balancer"]["state"])
        was = TrainConfig.model_validate(checkpoint.meta["manifest"].get("train", {}))
        check_schedule(self.names, self.passes, was, self.config, self.progress.step)
        if "decay" in progress:
            # The shape the run's stage 2 started with, whatever train.lr_decay says now.
            self.decay, self.finetuned = Decay.from_state(
                progress["decay"], self._stage2_updates(was), was.lr_finetune_end
            )
            total = self._stage2_updates(self.config)
            if self._stage2_updates(was) != total:
                self.decay = self.decay.replanned(self.finetuned, total)
            self._set_rate(self.decay.rate(self.finetuned))
        if self.best is not None and progress.get("best", {}).get("key") == self.best.key:
            self.best = Best.from_state(progress["best"])
            self.stopped = self.best.exhausted(self.config.patience)
        self.origin = checkpoint.meta.get("init_from")
        set_rng_state(progress["rng"])


DIVERGED = (
    "Check the data, or start a new run with a lower learning rate (--resume continues with the "
    "run's own manifest)"
)
"""What to do about a run that went non-finite."""


FUSED_OPTIMIZERS = frozenset({"adam", "adamw"})
"""The manifest's optimizers that update every parameter in one fused kernel: an AdamW step of
the recipe's 2.1 million parameters took 3.5 ms fused against 18 ms in torch's per-parameter loop
on one CPU thread, 4 to 10 % of an update (``bench/results/updates.md``). The others take the
multi-tensor (``foreach``) loop: RMSprop has no fused kernel, and fused SGD fails once a
parameter without a momentum buffer yet (a task's decoder in its first update) joins parameters
that have one."""


def _optimizer(model: IFAN, manifest: Manifest, balancer: Balancer) -> torch.optim.Optimizer:
    """The manifest's optimizer from timm's factory (RMSprop as in the paper), fused where torch
    has a fused kernel for it; the balancer's parameters, if any, in a group of their own without
    weight decay (a log-variance is no weight to shrink)."""
    from timm.optim import create_optimizer_v2

    config = manifest.train
    extra: dict[str, Any] = {"momentum": 0.9} if config.optimizer == "sgd" else {}
    extra["fused" if config.optimizer in FUSED_OPTIMIZERS else "foreach"] = True
    optimizer = create_optimizer_v2(
        model,
        opt=config.optimizer,
        lr=config.lr_pretrain,
        weight_decay=config.weight_decay,
        filter_bias_and_bn=False,
        **extra,
    )
    if balancer.parameters():
        optimizer.add_param_group({"params": list(balancer.parameters()), "weight_decay": 0.0})
    return optimizer


def _shared_parameters(model: IFAN) -> list[nn.Parameter]:
    """The backbone's parameters that every task trains: all but its per-task batch-norm
    copies."""
    own = {
        id(parameter)
        for module in model.backbone.modules()
        if isinstance(module, TaskBatchNorm)
        for parameter in module.parameters()
    }
    return [p for p in model.backbone.parameters() if id(p) not in own]


def _finite(tensors: Iterable[torch.Tensor]) -> bool:
    """Whether every value of ``tensors`` is finite (one reduction; the largest magnitude, which
    unlike a sum of squares cannot overflow, is NaN or infinite exactly when some value is)."""
    tensors = list(tensors)
    if not tensors:
        return True
    return bool(torch.isfinite(torch.nn.utils.get_total_norm(tensors, norm_type=float("inf"))))


def _parameters_reached(loss: torch.Tensor) -> set[int]:
    """``id`` of every parameter that ``loss``'s autograd graph reaches."""
    reached: set[int] = set()
    seen: set[Any] = set()
    stack = [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, "variable", None)
        if variable is not None:
            reached.add(id(variable))
        stack.extend(next_node for next_node, _ in node.next_functions)
    return reached


def _to(target: Any, device: torch.device) -> Any:
    if isinstance(target, torch.Tensor):
        return target.to(device)
    if isinstance(target, dict):
        return {k: _to(v, device) for k, v in target.items()}
    if isinstance(target, list):
        return [_to(v, device) for v in target]
    return target
