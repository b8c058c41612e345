"""``ifan export``: a trained network's inference as an ONNX model, checked with onnxruntime.

The exported graph is :meth:`IFAN.predict_all` for a fixed number of interaction iterations:
input ``images``, a ``B x 3 x S x S`` float32 batch of RGB images in [0, 1] (as the readers and
:meth:`ifan.inference.Predictor.network_input` make them), with a dynamic batch axis ``batch``;
one output per task (``<task>``), or per tensor of a task whose prediction is a dict, list or
tuple of tensors (``<task>.<key>``, ``<task>.<index>``). With per-task batch norm, each task's
output is computed with that task's own batch-norm copies, exactly as ``predict_all`` does:
the graph holds T x (iterations + 1) backbone passes (unrolled, sharing one copy of every
convolution's weights), or iterations + 1 with shared batch norm.

Every ONNX model written here carries ``ifan.*`` entries in its ``metadata_props``: the tasks,
their outputs and label names, the input size, iterations, batch norm, backbone and the ifan
version (see :data:`METADATA_KEYS`). Right after export the model is run with onnxruntime on
random images at two batch sizes other than the traced one and compared with PyTorch; the file
is written only when every output agrees within the tolerance.

Needs ``onnx`` and ``onnxruntime`` (``pip install 'ifan[export]'``); the ``dynamo`` exporter
(``torch.export``-based) also needs ``onnxscript``.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

import ifan
from ifan.errors import IfanError
from ifan.files import write_atomically, write_failure

if TYPE_CHECKING:
    from ifan.inference import Predictor
    from ifan.network.model import IFAN
    from ifan.plugins import PluginRegistry

INPUT_NAME = "images"
BATCH_AXIS = "batch"
DEFAULT_OPSET = 18
EXPORTERS = ("torchscript", "dynamo")
TRACE_BATCH = 2
"""Batch size of the example input the graph is traced with."""
CHECK_BATCHES = (1, 3)
"""Batch sizes the exported model is checked at: not the traced one, so a batch size baked into
the graph shows."""
ATOL = 1e-4
RTOL = 1e-3
"""The check passes where ``|onnx - torch| <= ATOL + RTOL * |torch|`` for every value."""

METADATA_KEYS = (
    "ifan.version",
    "ifan.tasks",
    "ifan.outputs",
    "ifan.labels",
    "ifan.input",
    "ifan.input_size",
    "ifan.iterations",
    "ifan.batchnorm",
    "ifan.backbone",
    "ifan.backbone_passes",
)
"""Keys every exported model has in ``metadata_props`` (a run's export adds ``ifan.checkpoint``
and ``ifan.step``). Values are strings; ``tasks``, ``outputs`` and ``labels`` are JSON."""

INSTALL_HINT = "pip install 'ifan[export]'"


class ExportError(IfanError):
    """A network cannot be exported, or its ONNX model does not match it."""


def require(module: str, hint: str = INSTALL_HINT) -> Any:
    """``import module``, or an :class:`ExportError` that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError(f"ONNX export needs the {module} package: {hint}") from None


@dataclass(frozen=True)
class OutputSpec:
    """One output of the exported graph."""

    name: str
    task: str
    shape: tuple[int, ...]
    """Per image (the batch axis left out)."""
    key: str | int | None = None
    """Where the tensor sits in the task's prediction: None for a plain tensor."""


@dataclass
class ExportReport:
    """What :func:`export_model` wrote and how well it matched PyTorch."""

    path: Path
    outputs: list[OutputSpec]
    iterations: int
    opset: int
    exporter: str
    backbone_passes: int
    size_bytes: int
    seconds: float
    """Export and check together."""
    checked_batches: tuple[int, ...]
    max_abs_diff: dict[str, float] = field(default_factory=dict)
    """Per output: the largest ``|onnx - torch|`` over the checked batches."""
    max_abs_value: dict[str, float] = field(default_factory=dict)
    """Per output: the largest ``|torch|`` (the scale of the difference)."""
    metadata: dict[str, str] = field(default_factory=dict)


def _flatten(task: str, prediction: Any) -> list[tuple[str | int | None, Tensor]]:
    """A task's prediction batch as (key, tensor) pairs; an error for anything else."""
    if isinstance(prediction, Tensor):
        return [(None, prediction)]
    if isinstance(prediction, dict):
        items = list(prediction.items())
    elif isinstance(prediction, (list, tuple)):
        items = list(enumerate(prediction))
    else:
        items = []
    if not items or not all(isinstance(value, Tensor) for _, value in items):
        raise ExportError(
            f"task {task}: its prediction is a {type(prediction).__name__}; ONNX export needs a "
            "tensor, or a dict, list or tuple of tensors, each with the batch first"
        )
    return items


def _output_name(task: str, key: str | int | None) -> str:
    return task if key is None else f"{task}.{key}"


class PredictAll(nn.Module):
    """``model.predict_all(images, iterations)`` as a flat tuple of tensors (the ONNX outputs)."""

    def __init__(self, model: IFAN, iterations: int, outputs: Sequence[OutputSpec]):
        super().__init__()
        self.model = model
        self.iterations = iterations
        self.outputs = list(outputs)

    def forward(self, images: Tensor) -> tuple[Tensor, ...]:
        predictions = self.model.predict_all(images, iterations=self.iterations)
        return tuple(
            predictions[o.task] if o.key is None else predictions[o.task][o.key]
            for o in self.outputs
        )


def output_specs(model: IFAN, iterations: int) -> list[OutputSpec]:
    """The outputs of ``model``'s export: one per task, or per tensor of a task's prediction."""
    size = model.config.input_size
    images = torch.zeros(TRACE_BATCH, 3, size, size, device=next(model.parameters()).device)
    with torch.inference_mode():
        predictions = model.predict_all(images, iterations=iterations)
    specs = []
    for task in model.task_names:
        for key, value in _flatten(task, predictions[task]):
            if value.dim() == 0 or value.shape[0] != TRACE_BATCH:
                raise ExportError(
                    f"task {task}: prediction {_output_name(task, key)} has shape "
                    f"{tuple(value.shape)}; ONNX export needs the batch as its first axis"
                )
            specs.append(OutputSpec(_output_name(task, key), task, tuple(value.shape[1:]), key))
    return specs


def _check_iterations(model: IFAN, iterations: int | None) -> int:
    iterations = model.iterations if iterations is None else iterations
    if not 0 <= iterations <= model.iterations:
        raise ExportError(
            f"cannot export {iterations} iterations: this network was built with iterations = "
            f"{model.iterations}, so 0 .. {model.iterations} are possible"
        )
    return iterations


def model_metadata(model: IFAN, iterations: int, outputs: Sequence[OutputSpec]) -> dict[str, str]:
    """The ``ifan.*`` metadata of an export of ``model`` (see :data:`METADATA_KEYS`)."""
    size = model.config.input_size
    labels = {name: task.labels.model_dump(mode="json") for name, task in model.tasks.items()}
    return {
        "ifan.version": ifan.__version__,
        "ifan.tasks": json.dumps(model.task_names),
        "ifan.outputs": json.dumps(
            {o.name: {"task": o.task, "shape": ["batch", *o.shape]} for o in outputs}
        ),
        "ifan.labels": json.dumps(labels),
        "ifan.input": f"{INPUT_NAME}: float32 batch x 3 x {size} x {size}, RGB in [0, 1]",
        "ifan.input_size": str(size),
        "ifan.iterations": str(iterations),
        "ifan.batchnorm": model.config.batchnorm,
        "ifan.backbone": model.config.backbone,
        "ifan.backbone_passes": str(model.backbone_passes(iterations)),
    }


def _trace_torchscript(wrapper: PredictAll, images: Tensor, opset: int) -> bytes:
    names = [o.name for o in wrapper.outputs]
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The legacy exporter is deprecated in favour of torch.export (exporter "dynamo"), and
        # the tracer warns about the network's checks of spatial sizes, which the fixed input
        # size makes constants: neither says anything about this export.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            wrapper,
            (images,),
            # the TorchScript exporter (dynamo=False) writes to a file object too; the
            # annotation names the paths alone
            buffer,  # type: ignore[arg-type]
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=names,
            dynamic_axes={name: {0: BATCH_AXIS} for name in [INPUT_NAME, *names]},
            opset_version=opset,
            do_constant_folding=True,
        )
    return buffer.getvalue()


def _trace_dynamo(wrapper: PredictAll, images: Tensor, opset: int) -> bytes:
    require("onnxscript", "pip install onnxscript (the torch.export-based ONNX exporter needs it)")
    names = [o.name for o in wrapper.outputs]
    batch = torch.export.Dim(BATCH_AXIS, min=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        program = torch.onnx.export(
            wrapper,
            (images,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=names,
            dynamic_shapes=({0: batch},),
            opset_version=opset,
            external_data=False,
            verbose=False,
        )
    if program is None:  # pragma: no cover - torch returns the program when no file is given
        raise ExportError("torch.onnx.export returned no program")
    return program.model_proto.SerializeToString()


def _session(model_bytes: bytes) -> Any:
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.log_severity_level = 3
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def _compare(
    wrapper: PredictAll, model_bytes: bytes, batches: Sequence[int], seed: int
) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """Max |difference| and |value| per output over random batches, and what failed."""
    session = _session(model_bytes)
    size = wrapper.model.config.input_size
    device = next(wrapper.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    diff = {o.name: 0.0 for o in wrapper.outputs}
    scale = dict(diff)
    problems = []
    for batch in batches:
        images = torch.rand(batch, 3, size, size, generator=generator)
        with torch.inference_mode():
            expected = [t.float().cpu().numpy() for t in wrapper(images.to(device))]
        got = session.run([o.name for o in wrapper.outputs], {INPUT_NAME: images.numpy()})
        for spec, want, have in zip(wrapper.outputs, expected, got, strict=True):
            if have.shape != want.shape:
                problems.append(
                    f"{spec.name}: shape {have.shape} at batch {batch}, PyTorch {want.shape}"
                )
                continue
            error = np.abs(have.astype(np.float64) - want.astype(np.float64))
            diff[spec.name] = max(diff[spec.name], float(error.max(initial=0.0)))
            scale[spec.name] = max(scale[spec.name], float(np.abs(want).max(initial=0.0)))
            if not np.all(error <= ATOL + RTOL * np.abs(want)):
                problems.append(
                    f"{spec.name}: max |difference| {float(error.max()):.3g} at batch {batch}"
                )
    return diff, scale, problems


def export_model(
    model: IFAN,
    path: str | os.PathLike,
    iterations: int | None = None,
    opset: int = DEFAULT_OPSET,
    exporter: str = "torchscript",
    metadata: dict[str, str] | None = None,
    check: bool = True,
    seed: int = 0,
) -> ExportReport:
    """Write ``model.predict_all`` at ``iterations`` (default: the model's) as ONNX to ``path``.

    The model is exported as it is (its device and weights; put into eval mode for the export and
    restored after). ``metadata`` adds entries to the ``ifan.*`` ones. With ``check`` the ONNX
    model runs in onnxruntime on random images at :data:`CHECK_BATCHES` and must match PyTorch
    within ``ATOL + RTOL * |value|``, else nothing is written and :class:`ExportError` says by
    how much it differs.
    """
    if exporter not in EXPORTERS:
        raise ExportError(f"unknown exporter {exporter!r}; expected one of {', '.join(EXPORTERS)}")
    onnx = require("onnx")
    if check:
        require("onnxruntime")
    iterations = _check_iterations(model, iterations)
    start = time.perf_counter()
    was_training = model.training
    model.eval()
    try:
        outputs = output_specs(model, iterations)
        wrapper = PredictAll(model, iterations, outputs).eval()
        size = model.config.input_size
        generator = torch.Generator().manual_seed(seed)
        images = torch.rand(TRACE_BATCH, 3, size, size, generator=generator)
        images = images.to(next(model.parameters()).device)
        trace = _trace_dynamo if exporter == "dynamo" else _trace_torchscript
        try:
            with torch.no_grad():
                traced = trace(wrapper, images, opset)
        except ExportError:
            raise
        except Exception as exc:  # the exporters raise many kinds; say which step failed
            raise ExportError(
                f"the {exporter} exporter could not export this network at opset {opset}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        proto = onnx.load_from_string(traced)
        entries = {**model_metadata(model, iterations, outputs), **(metadata or {})}
        for key, value in entries.items():
            prop = proto.metadata_props.add()
            prop.key, prop.value = key, value
        proto.producer_name = "ifan"
        proto.producer_version = ifan.__version__
        proto.doc_string = (
            f"ifan predict_all: {', '.join(model.task_names)} at {iterations} iterations"
        )
        data = proto.SerializeToString()
        diff: dict[str, float] = {}
        scale: dict[str, float] = {}
        if check:
            diff, scale, problems = _compare(wrapper, data, CHECK_BATCHES, seed)
            if problems:
                raise ExportError(
                    "the ONNX model does not match PyTorch within "
                    f"{ATOL:g} + {RTOL:g} x |value| (nothing written): " + "; ".join(problems)
                )
    finally:
        model.train(was_training)
    target = Path(path)
    try:
        write_atomically(target, data)
    except OSError as exc:
        kept = "A previous file at this path, if any, is intact."
        raise ExportError(write_failure("the ONNX model", target, len(data), exc, kept)) from exc
    opset_used = max(
        (o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=opset
    )
    return ExportReport(
        path=target,
        outputs=outputs,
        iterations=iterations,
        opset=opset_used,
        exporter=exporter,
        backbone_passes=model.backbone_passes(iterations),
        size_bytes=len(data),
        seconds=time.perf_counter() - start,
        checked_batches=CHECK_BATCHES if check else (),
        max_abs_diff=diff,
        max_abs_value=scale,
        metadata=entries,
    )


def export_run(
    run: str | os.PathLike,
    path: str | os.PathLike,
    iterations: int | None = None,
    opset: int = DEFAULT_OPSET,
    exporter: str = "torchscript",
    check: bool = True,
    registry: PluginRegistry | None = None,
) -> tuple[ExportReport, Predictor]:
    """Export the network of a run folder (its latest checkpoint) or a checkpoint file.

    Runs on the CPU; the checkpoint's file name and step are added to the metadata
    (``ifan.checkpoint``, ``ifan.step``).
    """
    from ifan.inference import load

    require("onnx")
    if check:
        require("onnxruntime")
    predictor = load(run, device="cpu", registry=registry)
    step = predictor.meta.get("progress", {}).get("step")
    extra = {"ifan.checkpoint": predictor.checkpoint.name}
    if step is not None:
        extra["ifan.step"] = str(step)
    report = export_model(
        predictor.model, path, iterations, opset, exporter, metadata=extra, check=check
    )
    return report, predictor


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file, e.g. ``json.loads(meta["ifan.tasks"])``."""
    onnx = require("onnx")
    proto = onnx.load(os.fspath(path), load_external_data=False)
    return {prop.key: prop.value for prop in proto.metadata_props}
