"""How to store a prepared split: the per-sample cost of reading a face crop back, for the layouts
the prepared-data cache could use.

On MTFL faces of the real data (``--data``), cropped by the crop rule at ``--side`` pixels (the
room-enlarged crop of a training split at input 64 is 80), a sample is read back from:

- raw: the uint8 array of ``ifan.data.prepared`` (memory-mapped; what ifan uses);
- JPEG at quality 90 and PNG, each crop encoded once and decoded per read (FFCV's JPEG mode and
  WebDataset's shards store encoded images like these);
- the original photo: decode, crop and resize on every read (the path the cache replaced).

Each is timed over the same ``--faces`` crops, interleaved, median of ``--repeats``; also the
bytes per face of each layout. Writes ``bench/results/storage.json`` and ``storage.md``.

    .venv/bin/python bench/storage.py
"""

from __future__ import annotations

import argparse
import datetime
import io
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import machine, provenance, table, versions, write_results  # noqa: E402

from ifan.data.images import crop_square, load_rgb  # noqa: E402
from ifan.data.prepared import prepare  # noqa: E402
from ifan.data.splits import open_splits  # noqa: E402
from ifan.manifest import load_manifest  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--faces", type=int, default=500, help="faces read per layout (500)")
    parser.add_argument("--side", type=int, default=80, help="crop side in pixels (80)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per layout (3)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    return parser.parse_args(argv)


class Faces(torch.utils.data.Dataset):
    """The crops as ``(uint8 image, {})`` samples, for :func:`prepare`."""

    def __init__(self, crops: list[np.ndarray]):
        self.crops = crops

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return torch.from_numpy(self.crops[index].copy()).permute(2, 0, 1), {}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    path = Path(tempfile.mkdtemp(prefix="ifan-bench-storage-"))
    manifest_path = path / "m.toml"
    manifest_path.write_text(
        f"[model]\ninput_size = 64\n[train]\nprepared = false\n[tasks.landmarks.data]\n"
        f'format = "mtfl"\ntest = "{args.data.resolve()}/mtfl/training.txt"\n'
    )
    manifest = load_manifest(manifest_path)
    config = manifest.tasks["landmarks"]
    test = open_splits(config, config.build_task(), manifest, ("test",), progress=False)
    reader = test.datasets["test"]
    chosen = random.Random(0).sample(range(len(reader.records)), args.faces)
    sources = [reader.records[i] for i in chosen]  # (record, box)
    crops = [
        np.asarray(crop_square(load_rgb(record.image), box, args.side)) for record, box in sources
    ]
    jpeg, png = [], []
    for crop in crops:
        for store, fmt, extra in ((jpeg, "JPEG", {"quality": 90}), (png, "PNG", {})):
            buffer = io.BytesIO()
            Image.fromarray(crop).save(buffer, fmt, **extra)
            store.append(buffer.getvalue())
    prepared = prepare(Faces(crops), path / "raw", {"bench": 1}, progress=None)

    def raw() -> None:
        for i in range(len(crops)):
            prepared[i]

    def decode(blobs: list[bytes]) -> Any:
        def run() -> None:
            for blob in blobs:
                torch.from_numpy(np.asarray(Image.open(io.BytesIO(blob)).convert("RGB")))

        return run

    def photos() -> None:
        for record, box in sources:
            np.asarray(crop_square(load_rgb(record.image), box, args.side))

    layouts = {"raw uint8 (ifan)": raw, "JPEG q90": decode(jpeg), "PNG": decode(png)}
    layouts["original photo"] = photos
    sizes = {
        "raw uint8 (ifan)": args.side * args.side * 3,
        "JPEG q90": statistics.mean(len(b) for b in jpeg),
        "PNG": statistics.mean(len(b) for b in png),
        "original photo": statistics.mean(record.image.stat().st_size for record, _ in sources),
    }
    times: dict[str, list[float]] = {name: [] for name in layouts}
    rng = random.Random(1)
    for _ in range(args.repeats):
        order = list(layouts)
        rng.shuffle(order)
        for name in order:
            start = time.perf_counter()
            layouts[name]()
            times[name].append((time.perf_counter() - start) / len(crops))
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(1),
        "versions": versions(),
        "command": "python bench/storage.py " + " ".join(argv or sys.argv[1:]),
        "settings": {"faces": args.faces, "side": args.side, "repeats": args.repeats},
        "seconds_per_face": times,
        "bytes_per_face": sizes,
        "seconds": time.perf_counter() - started,
    }
    write_results(args.out, "storage", result, findings, markdown)
    return 0


def findings(r: dict[str, Any]) -> list[str]:
    times = {k: statistics.median(v) for k, v in r["seconds_per_face"].items()}
    raw = times["raw uint8 (ifan)"]
    out = [
        f"{name}: {t * 1e6:.0f} µs a face ({t / raw:.0f}x the raw array), "
        f"{r['bytes_per_face'][name] / 1024:.1f} KiB"
        for name, t in times.items()
    ]
    jpeg = times["JPEG q90"]
    out.append(
        "the raw array costs the most disk but no decoding at all: JPEG would store a face in "
        f"{r['bytes_per_face']['raw uint8 (ifan)'] / r['bytes_per_face']['JPEG q90']:.0f}x less "
        f"space at {jpeg / raw:.0f}x the read time; at these sizes a raw face is "
        f"{r['bytes_per_face']['raw uint8 (ifan)'] / 1024:.0f} KiB, so FER2013's 28,709 training "
        "faces take about half a GB, and ifan keeps the raw array"
    )
    return out


def markdown(r: dict[str, Any]) -> str:
    rows = [
        [
            name,
            f"{statistics.median(v) * 1e6:.0f}",
            f"{r['bytes_per_face'][name] / 1024:.1f}",
        ]
        for name, v in r["seconds_per_face"].items()
    ]
    s = r["settings"]
    return "\n".join(
        [
            "# Storage of a prepared split",
            "",
            provenance("bench/storage.py", r),
            "",
            f"{s['faces']} MTFL faces cropped at {s['side']} px, read back one at a time; median "
            f"of {s['repeats']} interleaved passes.",
            "",
            table(["layout", "µs per face", "KiB per face"], rows),
            "",
            "## What this shows",
            "",
            *[f"- {f}" for f in r["findings"]],
            "",
            f"Command: `{r['command']}`",
            "",
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
