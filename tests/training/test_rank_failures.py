"""A failure in the first process under torchrun (rank 0 cannot write a checkpoint, say) reaches
every process, which all stop with a clear error instead of waiting forever in a collective for
a process that has stopped. Two gloo processes on the CPU."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ifan_tasks.synthetic.writer import write_datasets

ON_MAIN = """
import torch.distributed as dist
from ifan.training.processes import Processes

dist.init_process_group("gloo")
procs = Processes(dist.get_rank(), dist.get_world_size())
print("result", procs.on_main(lambda: 42, "answer"), flush=True)

def full_disk():
    raise OSError(28, "No space left on device")

try:
    procs.on_main(full_disk, "save the checkpoint of update 3")
except Exception as exc:
    print(f"raised {type(exc).__name__}: {exc}", flush=True)
dist.barrier()  # every process came out of the failure at the same point: still in step
print("together", flush=True)
dist.destroy_process_group()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _finish(processes: list[subprocess.Popen], timeout: float) -> list[tuple[int, str, str]]:
    """Each process's exit status and output; a process still waiting after ``timeout`` seconds
    (the hang this file is about) fails the test, and every process is stopped."""
    try:
        return [(p, *p.communicate(timeout=timeout)) for p in processes]  # type: ignore[misc]
    except subprocess.TimeoutExpired:
        pytest.fail(f"a process still waits after {timeout} s")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()


def test_a_failure_on_the_main_process_raises_in_every_process() -> None:
    port = str(_free_port())
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", ON_MAIN],
            env={
                **os.environ,
                "OMP_NUM_THREADS": "1",
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": port,
                "RANK": str(rank),
                "WORLD_SIZE": "2",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    (main, main_out, main_err), (other, other_out, _) = _finish(processes, timeout=120)
    assert main.returncode == other.returncode == 0, main_err
    assert main_out.splitlines() == [
        "result 42",
        "raised OSError: [Errno 28] No space left on device",
        "together",
    ]
    assert other_out.splitlines() == [
        "result None",
        "raised IfanError: process 0 failed to save the checkpoint of update 3, so process 1 "
        "stops too: OSError: [Errno 28] No space left on device",
        "together",
    ]


@pytest.mark.slow
def test_a_checkpoint_rank_0_cannot_write_stops_both_training_processes(tmp_path: Path) -> None:
    counts = {task: {"train": 4, "val": 1, "test": 1} for task in ("parsing", "landmarks")}
    counts["emotion"] = {"train": 4, "val": 1, "test": 1}
    write_datasets(tmp_path / "faces", seed=0, size=32, counts=counts)
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoints").write_text("a file where rank 0 writes its checkpoints\n")
    settings = [
        "model.iterations=0",
        "model.crop.detector='none'",
        "train.pretrain_epochs=1",
        "train.finetune_epochs=0",
        "train.checkpoint_every=1",
        "train.workers=0",
        *(f"tasks.{task}.batch_size=2" for task in ("parsing", "landmarks", "emotion")),
    ]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node=2",
        f"--master-port={_free_port()}",
        "-m",
        "ifan",
        "train",
        str(tmp_path / "faces" / "manifest.toml"),
        "--out",
        str(run),
        "--quiet",
        "--tasks=landmarks",
        *(f"--set={setting}" for setting in settings),
    ]
    torchrun = subprocess.Popen(
        command,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ((process, _, err),) = _finish([torchrun], timeout=300)
    assert process.returncode != 0
    errors = sorted(line for line in err.splitlines() if line.startswith("error: "))
    assert len(errors) == 2, err[-3000:]
    assert errors[0].startswith(f"error: cannot write checkpoint {run / 'checkpoints'}")
    assert errors[1].startswith(
        "error: process 0 failed to save the checkpoint of update 1, so process 1 stops too: "
        f"cannot write checkpoint {run / 'checkpoints'}"
    )
