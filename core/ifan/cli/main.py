"""Entry point of the ``ifan`` command."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import ifan
from ifan.cli import (
    compare,
    data,
    eval,
    export,
    features,
    model,
    models,
    new_task,
    plugins,
    predict,
    probe,
    schema,
    tasks,
    train,
    validate,
)
from ifan.contract import CONTRACT_VERSION
from ifan.errors import IfanError

COMMANDS = (
    tasks,
    plugins,
    validate,
    data,
    train,
    eval,
    compare,
    predict,
    features,
    probe,
    export,
    models,
    schema,
    model,
    new_task,
)
"""Each module adds its subparser with ``add_parser`` and runs with ``run(args) -> exit code``."""


class Terminated(KeyboardInterrupt):
    """SIGTERM as an exception: a command stopped by it (a shut-down session, ``kill``) says so
    and unwinds like after Ctrl-C, instead of vanishing without a word. ``ifan train`` catches the
    signal itself to checkpoint first (:mod:`ifan.training.stop_request`)."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def _on_sigterm() -> object | None:
    """Raise :class:`Terminated` on SIGTERM, returning the handler to put back (None where a
    handler cannot be set: outside the main thread, or SIGTERM ignored on purpose)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_IGN:
        return None
    signal.signal(signal.SIGTERM, _terminate)
    return previous


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ifan",
        description="Integrated face analytics: one network, many face tasks, plugin tasks.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"ifan {ifan.__version__} (task contract {CONTRACT_VERSION})",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail when any plugin is broken (also IFAN_STRICT_PLUGINS=1)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    late = getattr(args, "late_positionals", None)
    if late is not None:
        # argparse gives an optional positional list (nargs="*") what precedes the first option,
        # so `predict RUN --device cpu photo.jpg` would leave photo.jpg over: it belongs there.
        getattr(args, late).extend(Path(value) for value in extra if not value.startswith("-"))
        extra = [value for value in extra if value.startswith("-")]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    previous = _on_sigterm()
    try:
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at exit
        return status
    except IfanError as exc:
        # one write, so that the lines of processes sharing a stderr (torchrun) never interleave
        sys.stderr.write(f"error: {exc}\n")
        sys.stderr.flush()
        return 2
    except Terminated:
        print(f"stopped by SIGTERM: ifan {args.command} did not finish", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`ifan model M | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
