"""The report of ``python -m bench.predict``: faces per second of ``ifan predict`` on photos and
video, in float32 and bf16, and where the time goes."""

from __future__ import annotations

from typing import Any

from bench.lib.markdown import provenance, table, what_this_shows
from bench.lib.results import PYTHON

BEFORE = "float32, before (masks over the whole photo, PNG level 6)"
"""The cases run as the pipeline ran before (``bench.predict.as_before``)."""


def findings(r: dict[str, Any]) -> list[str]:
    """Speed in each precision, the stages' shares, and whether bf16 runs in hardware."""
    cases = r["cases"]
    lines = []
    for kind, what in (("photos", "photos of"), ("video", "frames of the pan video,")):
        f32, bf16 = cases[f"{kind}, float32"], cases[f"{kind}, bf16"]
        speed, faster = f32["faces_per_second"], bf16["faces_per_second"]
        lines.append(
            f"{kind}: {speed:.1f} faces/s in float32 and {faster:.1f} in bf16 "
            f"({faster / speed:.2f}x) over {f32['inputs']} {what} {f32['faces']} faces, "
            f"batch {r['settings']['batch_size']}"
        )
        share = f32["stage_share"]
        rest = 1 - sum(share.values())
        lines.append(
            f"{kind}, float32, where the time goes: "
            + ", ".join(f"{stage} {value:.0%}" for stage, value in share.items())
            + f", reading, writing and encoding {rest:.0%}"
        )
    for kind in ("photos", "video"):
        now, before = cases[f"{kind}, float32"], cases.get(f"{kind}, {BEFORE}")
        if before:
            lines.append(
                f"{kind}, float32: {now['faces_per_second']:.1f} faces/s now against "
                f"{before['faces_per_second']:.1f} before "
                f"({before['median_seconds'] / now['median_seconds']:.2f}x), with the parsing "
                "mask's argmax only where the face's box lies and overlays at PNG level 1"
            )
    flags = r["machine"]["cpu_flags"]
    native = [f for f in ("avx512_bf16", "amx_tile") if f in flags]
    lines.append(
        "this CPU has "
        + (" and ".join(native) if native else "neither avx512_bf16 nor amx_tile")
        + ", so bf16 runs "
        + ("in hardware" if native else "emulated, through float32 arithmetic")
    )
    return lines


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    stages = list(next(iter(r["cases"].values()))["stage_share"])
    rows = []
    for name, c in r["cases"].items():
        share = c["stage_share"]
        rows.append(
            [
                name,
                c["inputs"],
                c["faces"],
                f"{c['median_seconds']:.2f}",
                f"{c['faces_per_second']:.1f}",
                f"{c['inputs_per_second']:.1f}",
                *(f"{share[stage]:.0%}" for stage in stages),
                f"{1 - sum(share.values()):.0%}",
            ]
        )
    headers = ["case", "photos or frames", "faces", "median s", "faces/s", "inputs/s"]
    headers += [*stages, "reading, writing, encoding"]
    blocks = [
        "# `ifan predict`: faces per second on photos and video",
        provenance(f"{PYTHON} -m bench.predict", r),
        f"Command: `{r['command']}`",
        table(headers, rows),
        what_this_shows(r["findings"]),
    ]
    return "\n\n".join(blocks) + "\n"
