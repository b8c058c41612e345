"""bench/lib, what the benchmarks share: result files and the commands they record, Markdown,
options, interleaved timing, profiles, and the resumable ``ifan`` runs; and every benchmark's
modules import and parse their options."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import bench
from bench.lib import markdown, options, paths, profiling, results, runs, timing

ENTRY_POINTS = [
    "balancers", "compiled", "crops", "gpu_check", "inference.__main__", "performance", "predict",
    "precision", "pretrained", "reproduce.__main__", "storage", "training", "updates",
    "fusion.__main__",
]  # fmt: skip


def test_the_command_a_result_records_reruns_it_from_the_root(monkeypatch):
    assert results.command_line("crops", ["--faces", "50", "--out", "/tmp/a b"]) == (
        ".venv/bin/python -m bench.crops --faces 50 --out '/tmp/a b'"
    )
    assert results.command_line("storage", []) == ".venv/bin/python -m bench.storage"
    monkeypatch.setattr(sys, "argv", ["bench/storage.py", "--faces", "9"])
    assert results.command_line("storage") == ".venv/bin/python -m bench.storage --faces 9"


def test_results_are_written_with_their_findings_and_read_back(tmp_path, capsys):
    report = SimpleNamespace(
        findings=lambda r: [f"value {r['value']}"], markdown=lambda r: r["findings"][0]
    )
    results.write_results(tmp_path, "x", {"value": 3}, report)
    assert json.loads((tmp_path / "x.json").read_text()) == {"value": 3, "findings": ["value 3"]}
    assert (tmp_path / "x.md").read_text() == "value 3"
    assert capsys.readouterr().out == f"wrote {tmp_path}/x.json and {tmp_path}/x.md\n"
    report.findings = lambda r: [f"now {r['value']}"]  # the report's code changed
    results.rewrite_report(tmp_path, "x", report)
    assert results.read_results(tmp_path, "x") == {"value": 3, "findings": ["now 3"]}
    assert (tmp_path / "x.md").read_text() == "now 3"
    with pytest.raises(SystemExit, match=r"y\.json: no results to report on; run the benchmark"):
        results.rewrite_report(tmp_path, "y", report)


def test_a_report_is_made_of_tables_and_findings():
    assert markdown.table(["a", "b"], [[1, "x"], [2, None]]) == (
        "| a | b |\n|---|---|\n| 1 | x |\n| 2 | None |"
    )
    assert markdown.what_this_shows(["one", "two"]) == "## What this shows\n\n- one\n- two"
    assert (markdown.pct(0.12345), markdown.pct(None)) == ("12.35", "-")
    r = {
        "date": "2026-12-06 12:00 UTC", "seconds": 61.4,
        "machine": {"cpu": "a CPU", "cpus_available": 2, "cpu_flags": ["avx2"],
                    "memory_gib": 8.0, "load_average_at_start": [0.5], "torch_threads": 1},
        "versions": {"ifan": "0.1.0", "onnx": None},
    }  # fmt: skip
    assert markdown.provenance(".venv/bin/python -m bench.x", r) == (
        "Written by `.venv/bin/python -m bench.x` on 2026-12-06 12:00 UTC in 61 s. Machine: a "
        "CPU, 2 CPUs (avx2), 8.0 GiB, load average at start [0.5]; 1 torch thread(s). Versions: "
        "ifan 0.1.0."
    )


def test_shared_options_have_one_default_each(tmp_path):
    parser = options.parser("What it does.\n\nMore.")
    options.add_data(parser)
    options.add_out(parser)
    options.add_work(parser, tmp_path, "runs")
    options.add_threads(parser, 2, "threads")
    options.add_name(parser, "thing")
    options.add_report_only(parser, "report")
    args = parser.parse_args([])
    assert parser.description == "What it does."
    assert (args.data, args.out, args.work) == (paths.DATA, paths.RESULTS, tmp_path)
    assert (args.threads, args.name, args.report_only) == (2, "thing", False)
    assert parser.parse_args(["--report-only", "--threads", "0"]).threads == 0


def test_paths_are_shown_from_the_root():
    assert paths.shown_path(paths.ROOT / "build" / "x") == "build/x"
    assert paths.shown_path("/elsewhere/x") == "/elsewhere/x"
    assert (paths.ROOT / "bench" / "__init__.py").is_file()


def test_interleaved_runs_each_case_once_to_warm_up_then_once_a_round():
    calls: list[str] = []
    cases = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    times = timing.interleaved(cases, repeats=4, seed=0)
    assert calls[:3] == ["a", "b", "c"]  # the warm-up
    assert sorted(calls[3:]) == sorted(["a", "b", "c"] * 4)
    assert [calls[3 + 3 * i : 6 + 3 * i] for i in range(4)] != [["a", "b", "c"]] * 4  # shuffled
    assert {name: len(t) for name, t in times.items()} == {"a": 4, "b": 4, "c": 4}


def test_interleaved_groups_times_every_group_apart_and_says_when_each_ended(capsys):
    calls: list[str] = []
    groups = {
        group: {case: (lambda key=f"{group}/{case}": calls.append(key)) for case in ("x", "y")}
        for group in ("first", "second")
    }
    times = timing.interleaved_groups(groups, repeats=2, start=time.perf_counter())
    assert {g: {c: len(t) for c, t in cases.items()} for g, cases in times.items()} == {
        "first": {"x": 2, "y": 2},
        "second": {"x": 2, "y": 2},
    }
    assert all(key.startswith("first/") for key in calls[:6])  # one group after the other
    assert [line.split(":")[0] for line in capsys.readouterr().out.splitlines()] == [
        "first",
        "second",
    ]


def test_operator_shares_rank_the_self_time():
    events = [SimpleNamespace(key=k, self_cpu_time_total=t, count=c)
              for k, t, c in (("aten::add", 10, 3), ("aten::mkldnn_convolution", 30, 2),
                              ("aten::relu", 0, 1))]  # fmt: skip
    assert profiling.operator_shares(events, 2) == [
        {"operator": "aten::mkldnn_convolution", "share": 0.75, "calls": 2},
        {"operator": "aten::add", "share": 0.25, "calls": 3},
    ]
    assert [profiling.is_convolution(e.key) for e in events] == [False, True, False]
    assert profiling.self_time([]) == 1


def test_a_run_folder_resumes_from_checkpoints_and_keeps_its_recipe(tmp_path):
    assert runs.load_json(tmp_path / "timing.json", {}) == {}
    (tmp_path / "timing.json").write_text('{"train": 5.0}')
    assert runs.load_json(tmp_path / "timing.json") == {"train": 5.0}
    run = tmp_path / "run"
    assert not runs.has_checkpoints(run)
    (run / "checkpoints").mkdir(parents=True)
    assert not runs.has_checkpoints(run)  # an empty folder: nothing to resume from
    (run / "checkpoints" / "step-1.safetensors").write_bytes(b"")
    assert runs.has_checkpoints(run)
    assert not runs.trained_as(tmp_path, {"settings": []})  # a run without its recipe
    (tmp_path / "recipe.json").write_text('{"settings": []}')
    assert runs.trained_as(tmp_path, {"settings": []})
    assert not runs.trained_as(tmp_path, {"settings": ["x=1"]})


def test_ifan_commands_get_their_threads_and_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/before")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    env = runs.ifan_environment(3, tmp_path)
    assert (env["OMP_NUM_THREADS"], env["TQDM_DISABLE"]) == ("3", "1")
    assert env["PYTHONPATH"] == f"{tmp_path}:/before"
    assert "OMP_NUM_THREADS" not in runs.ifan_environment(0)
    assert runs.ifan_environment(0)["PYTHONPATH"] == "/before"


def test_a_failing_ifan_command_stops_the_benchmark_naming_its_log(tmp_path):
    log = tmp_path / "logs" / "log.txt"
    with pytest.raises(SystemExit, match=r"`ifan no-such-command` failed \(exit 2\); see .*log"):
        runs.run_ifan(["no-such-command"], runs.ifan_environment(1), log)
    assert log.read_text().startswith("$ ifan no-such-command\n")


def test_a_real_data_benchmark_leaves_no_temporary_folder(tmp_path):
    (tmp_path / "mtfl").mkdir()
    (tmp_path / "mtfl" / "training.txt").write_text("")
    script = (
        "import argparse, pathlib\n"
        "from bench.lib.realdata import begin\n"
        f"args = argparse.Namespace(report_only=False, data=pathlib.Path({str(tmp_path)!r}), "
        "threads=1)\n"
        "_, folder = begin(args, 'probe', None)\n"
        "(folder / 'run').mkdir()\n"
        "print(folder)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=paths.ROOT
    )
    folder = Path(done.stdout.strip())
    assert folder.name.startswith("ifan-bench-probe-")
    assert not folder.exists()


def test_every_benchmark_module_imports_and_its_options_parse():
    names = [m.name for m in pkgutil.walk_packages(bench.__path__, "bench.")]
    assert {"bench.lib.results", "bench.reports.fusion", "bench.reproduce.experiments"} <= set(
        names
    )
    for name in names:
        if name != "bench.reproduce.peers":  # runs in an environment of its own (cv2, mediapipe)
            importlib.import_module(name)
    for entry in ENTRY_POINTS:
        module = importlib.import_module(f"bench.{entry}")
        with pytest.raises(SystemExit) as done:
            module.parse_args(["--help"])
        assert done.value.code == 0, entry
