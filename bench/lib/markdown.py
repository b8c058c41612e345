"""The pieces every report is made of: its provenance line, tables, and the findings."""

from __future__ import annotations

from typing import Any


def provenance(command: str, r: dict[str, Any]) -> str:
    """The report's first line: the command that wrote it, when, on what machine and versions."""
    m = r["machine"]
    return (
        f"Written by `{command}` on {r['date']} in {r['seconds']:.0f} s. Machine: {m['cpu']}, "
        f"{m['cpus_available']} CPUs ({', '.join(m['cpu_flags'])}), {m['memory_gib']} GiB, load "
        f"average at start {m['load_average_at_start']}; {m['torch_threads']} torch thread(s). "
        "Versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items() if v) + "."
    )


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def bullets(lines: list[str]) -> str:
    """A Markdown list, one item a line."""
    return "\n".join(f"- {line}" for line in lines)


def what_this_shows(findings: list[str]) -> str:
    """The section every report ends its tables with: the findings, as a list."""
    return "## What this shows\n\n" + bullets(findings)


def pct(value: float | None) -> str:
    """A fraction in % with two decimals; ``-`` for none."""
    return "-" if value is None else f"{100 * value:.2f}"
