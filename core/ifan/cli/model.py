"""``ifan model MANIFEST``: the network a manifest describes, its parameters and FLOPs."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ifan.cli.common import add_manifest_arguments, manifest_from_args, registry_from_args
from ifan.tables import format_table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "model",
        help="print the network of a manifest: taps, heads, parameters, FLOPs",
        description="Build the network a manifest describes (shapes only: no weights are read, "
        "initialised or downloaded) and print its backbone taps, each task's tap, decoder and "
        "re-encoder, the parameter count of every part and the forward FLOPs per image for "
        "0 .. iterations.",
    )
    add_manifest_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ifan.network.summary import (
        count_flops,
        describe,
        meta_model,
        parameter_counts,
        prediction_shapes,
    )

    manifest = manifest_from_args(args, registry_from_args(args))
    config = manifest.model
    model = meta_model(manifest)  # shapes only: counting parameters and FLOPs computes nothing
    tasks = model.task_names
    bn = f"per-task ({len(tasks)} sets)" if model.norm.per_task else "shared"
    print(
        f"{manifest.source}: backbone {config.backbone}, input {config.input_size}, iterations "
        f"{config.iterations}, batchnorm {bn}, reencoder {config.reencoder}"
    )

    print("\nTaps (per image; feedback points are where the integrator feeds back):")
    feedback = model.integrator is not None
    rows: list[Sequence[object]] = [
        (
            tap,
            f"{spec.channels} x {spec.height} x {spec.width}",
            "yes" if feedback and tap.startswith("down") else "",
            ", ".join(n for n in tasks if model.taps[n] == tap),
        )
        for tap, spec in model.tap_specs.items()
    ]
    print(format_table(["tap", "shape", "feedback", "read by"], rows))

    print("\nTasks:")
    shapes = prediction_shapes(model)
    rows = []
    for name in tasks:
        if model.integrator is None:
            reencoder = "- (iterations = 0)"
        elif model.reencoders is None:
            channels = model.tasks[name].prediction_channels
            reencoder = f"resize ({channels} prediction maps)"
        else:
            reencoder = f"{describe(model.reencoders[name])} ({config.feedback_channels} ch/level)"
        shape = " x ".join(str(s) for s in shapes[name])
        rows.append((name, model.taps[name], describe(model.decoders[name]), shape, reencoder))
    print(format_table(["task", "tap", "decoder", "prediction", "re-encoder"], rows))

    print("\nParameters:")
    counts = parameter_counts(model)
    print(format_table(["part", "parameters"], [(p, f"{n:,}") for p, n in counts]))

    print(
        "\nFLOPs per image (torch.utils.flop_counter: 2 per multiply-add of convolutions and "
        "matrix products;\nelement-wise ops, pooling and batch norm are not counted).\n"
        "forward: one training forward, every task decoded at every iteration, one task's batch "
        "norm.\npredict_all: every task's prediction, each with its own batch norm."
    )
    rows = []
    for iterations in range(config.iterations + 1):
        flops = count_flops(model, iterations)
        rows.append(
            (
                iterations,
                f"{flops.forward / 1e9:.3f}",
                iterations + 1,
                f"{flops.predict_all / 1e9:.3f}",
                flops.passes,
            )
        )
    headers = ["iterations", "forward GFLOPs", "passes", "predict_all GFLOPs", "passes"]
    print(format_table(headers, rows))
    return 0
