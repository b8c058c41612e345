"""``ifan export RUN_OR_CHECKPOINT --onnx FILE``: the network's inference as an ONNX model;
``--weights FILE``: the weights file of a model to ship in a plugin (:mod:`ifan.pretrained`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ifan.cli.common import add_set_argument, checkpoint_label, registry_from_args
from ifan.cli.eval import add_checkpoint_argument
from ifan.errors import IfanError
from ifan.plugins import PluginRegistry
from ifan.tables import format_table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ifan.export import ATOL, DEFAULT_OPSET, EXPORTERS, INSTALL_HINT, RTOL
    from ifan.pretrained import WEIGHT_DTYPES

    parser = subparsers.add_parser(
        "export",
        help="export a trained network's predictions of every task to ONNX",
        description="Load a checkpoint (or a run folder's latest) and write its inference, "
        "every task's prediction with its own batch norm as `ifan predict` computes it, as an "
        "ONNX model: input `images` (float32, batch x 3 x S x S, RGB in [0, 1]) with a dynamic "
        "batch axis, one output per task, and ifan.* metadata (tasks, outputs, label names, input "
        "size, iterations, ifan version). The model is then run with onnxruntime on random "
        f"images and compared with PyTorch; the file is written only when every output agrees "
        f"within {ATOL:g} + {RTOL:g} x |value|. Needs onnx and onnxruntime: {INSTALL_HINT}.",
    )
    add_checkpoint_argument(parser)
    output = parser.add_mutually_exclusive_group(required=True)
    output.add_argument("--onnx", type=Path, metavar="FILE", help="the ONNX file to write")
    output.add_argument(
        "--weights",
        type=Path,
        metavar="FILE",
        help="instead, write the weights and the run's manifest without the optimizer's state "
        "(.safetensors): the file a plugin ships as a pretrained model (ifan_models hook)",
    )
    parser.add_argument(
        "--dtype",
        choices=WEIGHT_DTYPES,
        default="float32",
        help="with --weights: store the weights in this type (float16 halves the file)",
    )
    add_set_argument(
        parser,
        "with --weights: change the manifest the file carries, e.g. --set model.test_flip=true "
        "(how the model runs, not its network; repeatable)",
    )
    parser.add_argument(
        "--iterations",
        type=int,
        metavar="N",
        help="interaction iterations in the graph, 0 .. the model's (default: the model's)",
    )
    parser.add_argument(
        "--opset",
        type=int,
        default=DEFAULT_OPSET,
        metavar="K",
        help=f"ONNX opset version (default {DEFAULT_OPSET})",
    )
    parser.add_argument(
        "--exporter",
        choices=EXPORTERS,
        default=EXPORTERS[0],
        help="torchscript: torch's tracing exporter (default; needs only onnx); dynamo: the "
        "torch.export-based one (also needs onnxscript)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ifan.export import ATOL, RTOL, export_run

    registry = registry_from_args(args)
    if args.weights is not None:
        return _write_weights(args, registry)
    if args.overrides:
        raise IfanError("--set changes the manifest of a --weights file; --onnx takes none")
    report, predictor = export_run(
        args.checkpoint,
        args.onnx,
        iterations=args.iterations,
        opset=args.opset,
        exporter=args.exporter,
        registry=registry,
    )
    model = predictor.model
    size = model.config.input_size
    print(
        f"{checkpoint_label(predictor)} -> {report.path} ({report.size_bytes / 1e6:.1f} MB, opset "
        f"{report.opset}, {report.exporter} exporter, {report.seconds:.1f} s)"
    )
    bn = "per-task" if model.norm.per_task else "shared"
    print(
        f"input images: float32 batch x 3 x {size} x {size}, RGB in [0, 1]; iterations "
        f"{report.iterations}, {bn} batch norm: {report.backbone_passes} backbone passes\n"
    )
    rows = [
        (
            spec.name,
            " x ".join(["batch", *(str(s) for s in spec.shape)]),
            f"{report.max_abs_diff[spec.name]:.2g}",
            f"{report.max_abs_value[spec.name]:.3g}",
        )
        for spec in report.outputs
    ]
    print(format_table(["output", "shape", "max |onnx - torch|", "max |torch|"], rows))
    batches = " and ".join(str(b) for b in report.checked_batches)
    print(
        f"\nchecked with onnxruntime on random batches of {batches}: every value within "
        f"{ATOL:g} + {RTOL:g} x |value| of PyTorch"
    )
    return 0


def _write_weights(args: argparse.Namespace, registry: PluginRegistry) -> int:
    from ifan.pretrained import write_weights

    source, step = write_weights(
        args.checkpoint, args.weights, registry, args.dtype, args.overrides
    )
    size = args.weights.stat().st_size / 1e6
    print(
        f"{source} (step {step}) -> {args.weights} ({size:.1f} MB, {args.dtype} weights and "
        "the manifest)"
    )
    return 0
