"""The manifest's pydantic models: the fixed ``[model]`` and ``[train]`` tables, and the per-task
tables, which are assembled from each installed task's own options and dataset formats.

Every limit is stated in the field, so validation errors and the JSON Schema (``ifan schema``)
both tell a user what is allowed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from ifan.contract import (
    MAX_BATCH_SIZE,
    RESERVED_DATA_KEYS,
    RESERVED_TASK_KEYS,
    SPLITS,
    DatasetFormat,
    Task,
)
from ifan.data.augment import AugmentOptions
from ifan.data.bad_samples import OnBadSample
from ifan.data.crop import CropRule

MAX_INPUT_SIZE = 1024
MAX_ITERATIONS = 8
MAX_EPOCHS = 100_000
MAX_UPDATES = 10_000_000
"""The most updates a count of updates may name (``finetune_rounds``, ``checkpoint_every``)."""
DEVICES = re.compile(r"auto|cpu|cuda(:\d+)?")
"""``train.device``: ``auto``, ``cpu``, ``cuda`` or one GPU by its index, ``cuda:1``."""


def _resolve_against_manifest(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    try:
        value = value.expanduser()
    except RuntimeError:  # ~name of a user this machine does not have
        raise ValueError(f"cannot expand {value}: no such user's home folder") from None
    if base is not None and not value.is_absolute():
        value = Path(base) / value
    return Path(os.path.normpath(value))


ResolvedPath = Annotated[Path, AfterValidator(_resolve_against_manifest)]
"""A path that is resolved against the manifest's folder when relative; use it in plugin options."""


class _Strict(BaseModel):
    # NaN and infinity are refused outright (TOML can write them): a comparison with NaN is
    # always false, so a limit alone would report it confusingly.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ModelConfig(_Strict):
    """``[model]``: the network."""

    backbone: str = Field(
        default="fc-densenet",
        description="'fc-densenet' (the paper's) or the name of a timm encoder, e.g. 'resnet18'",
    )
    backbone_checkpoint: ResolvedPath | None = Field(
        default=None,
        description="local weights file for a timm encoder (nothing is ever downloaded)",
    )
    input_size: int = Field(
        default=128,
        ge=32,
        le=MAX_INPUT_SIZE,
        multiple_of=32,
        description="side of the square face crop in pixels (a multiple of 32; the paper uses 128)",
    )
    iterations: int = Field(
        default=2,
        ge=0,
        le=MAX_ITERATIONS,
        description="task interaction iterations through the integrator; 0 = plain multi-task",
    )
    batchnorm: Literal["per-task", "shared"] = Field(
        default="per-task",
        description="'per-task': every batch norm keeps statistics and affine parameters per "
        "task (the paper's); 'shared': one set for all tasks (ablation, section 4.3.3)",
    )
    reencoder: Literal["learned", "resize"] = Field(
        default="learned",
        description="'learned': each task's re-encoder encodes its predictions (the paper's); "
        "'resize': the raw predictions resized to each feedback level (ablation, section 4.3.2)",
    )
    feedback_channels: int = Field(
        default=8,
        ge=1,
        le=256,
        description="channels each task's re-encoder feeds back at every feedback level",
    )
    test_flip: bool = Field(
        default=False,
        description="evaluate and predict every face also mirrored, averaging the two "
        "predictions (test-time augmentation: each task maps the mirrored one back; twice the "
        "backbone passes)",
    )
    crop: CropRule = Field(
        default_factory=CropRule,
        description="how a face is found and cropped, the same in training, evaluation and "
        "prediction (stored in every checkpoint)",
    )

    @field_validator("backbone")
    @classmethod
    def _known_backbone(cls, value: str) -> str:
        from ifan.network.backbones.names import backbone_problem

        problem = backbone_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class BalancerChoice(BaseModel):
    """``[train.balancer]``: the loss balancer of stage 2 by name, and its options beside the
    name (checked against the balancer's own options model when the manifest is loaded)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    name: str = Field(
        default="fixed",
        description="'fixed' (each task's loss_weight), 'uncertainty', 'dwa', 'gradnorm' or a "
        "plugin's balancer",
    )

    @model_validator(mode="before")
    @classmethod
    def _name_alone(cls, value: Any) -> Any:
        """``balancer = "dwa"`` is short for ``balancer = { name = "dwa" }``."""
        if isinstance(value, str):
            return {"name": value}
        if not isinstance(value, dict):
            raise ValueError(
                'expected a balancer\'s name ("dwa") or a table of its name and options '
                '({ name = "dwa", temperature = 2.0 })'
            )
        return value

    @property
    def options(self) -> dict[str, Any]:
        """The keys beside ``name``: the balancer's options."""
        return dict(self.model_extra or {})


class TrainConfig(_Strict):
    """``[train]``: the cross-dataset hybrid training schedule (Algorithm 1)."""

    pretrain_epochs: int = Field(
        default=30,
        ge=0,
        le=MAX_EPOCHS,
        description="stage 1: task-wise pre-training epochs per task",
    )
    finetune_epochs: int = Field(
        default=200,
        ge=0,
        le=MAX_EPOCHS,
        description="stage 2: batch-wise alternating fine-tuning epochs",
    )
    optimizer: Literal["rmsprop", "adam", "adamw", "sgd"] = Field(
        default="rmsprop",
        description="optimizer of both stages (the paper uses RMSprop); adam and adamw update "
        "every parameter in one fused kernel, the others in torch's multi-tensor loop",
    )
    lr_pretrain: float = Field(default=1e-3, gt=0, le=10, description="stage 1 learning rate")
    lr_finetune: float = Field(
        default=1e-3, gt=0, le=10, description="stage 2 starting learning rate"
    )
    lr_finetune_end: float = Field(
        default=1e-6, gt=0, le=10, description="stage 2 final learning rate"
    )
    lr_decay: Literal["cosine", "exponential"] = Field(
        default="cosine",
        description="how stage 2's rate falls from lr_finetune to lr_finetune_end over its "
        "updates: 'cosine' (still half of lr_finetune halfway, so short runs learn) or "
        "'exponential' (the same factor every update; runs before this option decayed so)",
    )
    weight_decay: float = Field(
        default=0.0, ge=0, le=1, description="L2 weight decay of the optimizer"
    )
    balancer: BalancerChoice = Field(
        default_factory=BalancerChoice,
        description="how each task's loss is weighed in stage 2 (stage 1 always takes "
        "loss_weight): a table with the balancer's name and its options, or the name alone",
    )
    seed: int = Field(
        default=0, ge=0, le=2**32 - 1, description="seed of weights, sampling and augmentation"
    )
    finetune_rounds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_UPDATES,
        description="rounds of a stage-2 epoch (a round is one batch of every task); default: "
        "the batches in one pass over the largest training split",
    )
    workers: int = Field(default=0, ge=0, le=64, description="data-loading processes per task")
    prepared: bool = Field(
        default=True,
        description="read each split from a prepared copy (its faces cropped once, stored as raw "
        "pixels in the cache) instead of decoding every photo on every pass",
    )
    room: float = Field(
        default=1.25,
        ge=1,
        le=2,
        description="a prepared training split keeps this much more than the crop around each "
        "face, so that augmentation's rotations, zooms and shifts show real pixels",
    )
    checkpoint_every: int = Field(
        default=0,
        ge=0,
        le=MAX_UPDATES,
        description="also checkpoint every this many updates (0: at epoch ends only)",
    )
    keep_checkpoints: int = Field(
        default=3, ge=1, le=1000, description="checkpoints kept in the run"
    )
    keep_best: str | None = Field(
        default=None,
        description="'<task>.<metric>' (the task's main metric, e.g. 'landmarks.nme'): also keep "
        "the checkpoint of the best stage-2 validation by it, as checkpoints/best.safetensors",
    )
    patience: int | None = Field(
        default=None,
        ge=1,
        le=MAX_EPOCHS,
        description="stop after this many stage-2 validations in a row without a better "
        "keep_best value (early stopping; default: never)",
    )
    loggers: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="where the run's events also go, besides metrics.jsonl and curves.png: "
        "'csv' (RUN/csv/), 'tensorboard' (RUN/tensorboard/) or a plugin's logger",
    )
    device: str = Field(
        default="auto",
        description="'auto': a GPU when there is one (each process its own), else CPU; 'cpu', "
        "'cuda', or one GPU of a single process: 'cuda:1'",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description="CPU threads of the training process's tensor operations (default: "
        "torch's, one per core)",
    )
    bf16: bool | Literal["auto"] = Field(
        default=False,
        description="bfloat16 autocast for forward passes (about 2x faster steps on CPUs with "
        "AVX512-BF16 or AMX and on recent GPUs; other numbers than float32); on a CPU, grouped "
        "(depthwise) convolutions stay float32, where oneDNN's bfloat16 kernels are slower. "
        "'auto': only where the device computes bfloat16 natively (on a CPU without it, "
        "autocast is several times slower than float32)",
    )
    channels_last: bool = Field(
        default=True,
        description="convolution weights and activations in channels-last memory layout (faster "
        "convolutions on CPUs and GPUs; the same model)",
    )
    out_dir: ResolvedPath = Field(
        default=Path("runs"), validate_default=True, description="where runs are written"
    )

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not DEVICES.fullmatch(value):
            raise ValueError("expected 'auto', 'cpu', 'cuda' or one GPU by its index, 'cuda:1'")
        return value

    @field_validator("bf16", mode="before")
    @classmethod
    def _bool_or_auto(cls, value: Any) -> Any:
        if value == "auto" or isinstance(value, bool):
            return value
        raise ValueError('expected true, false or "auto"')

    @field_validator("loggers")
    @classmethod
    def _each_once(cls, value: list[str]) -> list[str]:
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(f"{', '.join(map(repr, twice))} listed twice: name each logger once")
        return value

    @field_validator("keep_best")
    @classmethod
    def _task_dot_metric(cls, value: str | None) -> str | None:
        task, dot, metric = (value or "").partition(".")
        if value is not None and not (task and dot and metric):
            raise ValueError("expected '<task>.<metric>', e.g. 'landmarks.nme'")
        return value

    @model_validator(mode="after")
    def _decaying(self) -> TrainConfig:
        if self.lr_finetune_end > self.lr_finetune:
            raise ValueError(
                f"lr_finetune_end ({self.lr_finetune_end}) is above lr_finetune "
                f"({self.lr_finetune}); stage 2 decays the learning rate"
            )
        return self

    @model_validator(mode="after")
    def _best_needs_stage_2(self) -> TrainConfig:
        if self.patience is not None and self.keep_best is None:
            raise ValueError(
                "patience counts validations without a better keep_best value: set keep_best "
                'too (e.g. keep_best = "landmarks.nme"), or drop patience'
            )
        if self.keep_best is not None and self.finetune_epochs == 0:
            raise ValueError(
                f"keep_best = {self.keep_best!r} compares stage-2 validations, and "
                "finetune_epochs = 0 leaves no stage 2: train at least one stage-2 epoch"
            )
        return self


class TaskCommon(_Strict):
    """Keys every ``[tasks.<name>]`` table has, whatever the task."""

    batch_size: int = Field(
        default=32,
        ge=1,
        le=MAX_BATCH_SIZE,
        description="images per batch (default: the task's own)",
    )
    loss_weight: float = Field(default=1.0, ge=0, le=1e6, description="weight of this task's loss")
    tap: str | None = Field(
        default=None, description="backbone tap the decoder reads (default: task's)"
    )
    on_bad_sample: OnBadSample = Field(
        default="error",
        description="a sample the reader cannot use (unreadable image, missing label, malformed "
        "line, ...): 'error' stops with its file and line, 'skip' skips and counts it",
    )
    augment: AugmentOptions = Field(
        default_factory=AugmentOptions, description="random changes to each training crop"
    )


assert frozenset(TaskCommon.model_fields) | {"data"} == RESERVED_TASK_KEYS


class DataCommon(_Strict):
    """Keys every ``[tasks.<name>.data]`` table has, whatever the format."""

    train: ResolvedPath | None = Field(default=None, description="training split")
    val: ResolvedPath | None = Field(default=None, description="validation split")
    test: ResolvedPath | None = Field(default=None, description="test split")
    val_fraction: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="carve this share of train out as the val split (chosen by train.seed; the "
        "two never overlap); only when the dataset has no val split",
    )
    train_samples: int | None = Field(
        default=None,
        ge=1,
        le=100_000_000,
        description="train on this many samples of the training split, drawn by train.seed after "
        "val is carved out (quick experiments, learning curves); val and test stay whole",
    )
    oversample: dict[str, dict[int, Annotated[float, Field(gt=0, le=1e6)]]] = Field(
        default_factory=dict,
        description="draw training samples by an integer target: { KEY = { VALUE = WEIGHT } } "
        "draws a sample whose target KEY is VALUE WEIGHT times as often as one of weight 1 "
        "(values not listed), e.g. MTFL's pose = { 1 = 4.0, 2 = 2.0, 4 = 2.0, 5 = 4.0 } for "
        "more turned faces; each pass keeps its length",
    )

    @model_validator(mode="after")
    def _some_split(self) -> DataCommon:
        if all(getattr(self, split) is None for split in SPLITS):
            raise ValueError("give at least one of train, val and test")
        if self.val_fraction is not None and (self.val is not None or self.train is None):
            raise ValueError(
                "val_fraction carves val out of train: give train and no val (or drop it)"
            )
        if self.train_samples is not None and self.train is None:
            raise ValueError("train_samples limits the training split: give train (or drop it)")
        if self.oversample and self.train is None:
            raise ValueError("oversample draws from the training split: give train (or drop it)")
        return self


assert frozenset(DataCommon.model_fields) | {"format"} == RESERVED_DATA_KEYS


def data_model(fmt: DatasetFormat[Any]) -> type[BaseModel]:
    """``[tasks.<name>.data]`` for one format: the splits plus the format's own options."""
    # A Literal of a name known at run time: a type to pydantic, a value to a type checker.
    name: Any = Literal[fmt.name]
    return create_model(
        f"Data_{fmt.name.replace('-', '_')}",
        __base__=(DataCommon, fmt.Options),
        __doc__=f"{fmt.description} (splits: {fmt.split_paths})",
        format=(name, Field(description="dataset format")),
    )


def task_model(task: type[Task], with_data: bool = True) -> type[BaseModel]:
    """``[tasks.<name>]`` for one task: the common keys, its options and (for the schema) its data.

    Validation checks ``data`` separately (see the loader) so that its errors say which format
    was meant; the JSON Schema includes it as a union discriminated by ``format``.
    """
    fields: dict[str, Any] = {
        "batch_size": (
            int,
            Field(
                default=task.default_batch_size,
                ge=1,
                le=MAX_BATCH_SIZE,
                description=f"images per batch (default for {task.name}: "
                f"{task.default_batch_size})",
            ),
        ),
    }
    if with_data:
        models = tuple(data_model(fmt) for fmt in task.formats)
        union: Any = models[0]
        if len(models) > 1:
            union = Annotated[Union[models], Field(discriminator="format")]  # noqa: UP007
        fields["data"] = (union, Field(description="the task's dataset"))
    return create_model(
        f"Task_{task.name}",
        __base__=(TaskCommon, task.Options),
        __doc__=task.description or None,
        **fields,
    )


def manifest_model(tasks: dict[str, type[Task]]) -> type[BaseModel]:
    """The whole manifest for a set of installed tasks (used for ``ifan schema``)."""
    task_fields: dict[str, Any] = {
        name: (task_model(cls) | None, Field(default=None, description=cls.description or None))
        for name, cls in sorted(tasks.items())
    }
    tasks_table = create_model("Tasks", __config__=ConfigDict(extra="forbid"), **task_fields)
    return create_model(
        "Manifest",
        __config__=ConfigDict(extra="forbid", title="ifan manifest"),
        model=(ModelConfig, Field(default_factory=ModelConfig)),
        train=(TrainConfig, Field(default_factory=TrainConfig)),
        tasks=(tasks_table, ...),
    )
