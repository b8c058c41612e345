"""How to store a prepared split: the per-sample cost of reading a face crop back, for the layouts
the prepared-data cache could use.

On MTFL faces of the real data (``--data``), cropped by the crop rule at ``--side`` pixels (the
room-enlarged crop of a training split at input 64 is 80), a sample is read back from:

- raw: the uint8 array of ``ifan.data.prepared`` (memory-mapped; what ifan uses);
- JPEG at quality 90 and PNG, each crop encoded once and decoded per read (FFCV's JPEG mode and
  WebDataset's shards store encoded images like these);
- the original photo: decode, crop and resize on every read (the path the cache replaced).

Each is timed over the same ``--faces`` crops, interleaved after a warm-up pass, median of
``--repeats``; also the bytes per face of each layout. Writes ``bench/results/storage.json`` and
``storage.md``.

    .venv/bin/python -m bench.storage
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from bench.lib import options
from bench.lib.results import command_line, header, write_results
from bench.lib.timing import interleaved
from bench.reports import storage as report
from ifan.data.images import crop_square, load_rgb
from ifan.data.prepared import prepare
from ifan.data.splits import open_splits
from ifan.manifest import load_manifest


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The data, the sample, the crop side, the repetitions and where the results go."""
    parser = options.parser(__doc__)
    options.add_data(parser)
    parser.add_argument("--faces", type=int, default=500, help="faces read per layout (500)")
    parser.add_argument("--side", type=int, default=80, help="crop side in pixels (80)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per layout (3)")
    options.add_out(parser)
    return parser.parse_args(argv)


class Faces(torch.utils.data.Dataset):
    """The crops as ``(uint8 image, {})`` samples, for :func:`prepare`."""

    def __init__(self, crops: list[np.ndarray]):
        self.crops = crops

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return torch.from_numpy(self.crops[index].copy()).permute(2, 0, 1), {}


def sample_faces(data: Path, folder: Path, faces: int) -> list[Any]:
    """``faces`` MTFL faces drawn with seed 0, as (record, box) of the detector's crops."""
    manifest_path = folder / "m.toml"
    manifest_path.write_text(
        f"[model]\ninput_size = 64\n[train]\nprepared = false\n[tasks.landmarks.data]\n"
        f'format = "mtfl"\ntest = "{data.resolve()}/mtfl/training.txt"\n'
    )
    manifest = load_manifest(manifest_path)
    config = manifest.tasks["landmarks"]
    test = open_splits(config, config.build_task(), manifest, ("test",), progress=False)
    reader = test.datasets["test"]
    chosen = random.Random(0).sample(range(len(reader.records)), faces)
    return [reader.records[i] for i in chosen]


def encoded(crops: list[np.ndarray], fmt: str, **settings: Any) -> list[bytes]:
    """Each crop encoded once as ``fmt`` (``JPEG``, ``PNG``)."""
    out = []
    for crop in crops:
        buffer = io.BytesIO()
        Image.fromarray(crop).save(buffer, fmt, **settings)
        out.append(buffer.getvalue())
    return out


def layouts(sources: list[Any], side: int, folder: Path) -> tuple[dict[str, Callable], dict]:
    """A pass reading every face back from each layout, and each layout's bytes per face."""
    crops = [np.asarray(crop_square(load_rgb(record.image), box, side)) for record, box in sources]
    jpeg, png = encoded(crops, "JPEG", quality=90), encoded(crops, "PNG")
    prepared = prepare(Faces(crops), folder / "raw", {"bench": 1}, progress=None)

    def raw() -> None:
        for i in range(len(crops)):
            prepared[i]

    def decode(blobs: list[bytes]) -> Callable[[], None]:
        def run() -> None:
            for blob in blobs:
                torch.from_numpy(np.asarray(Image.open(io.BytesIO(blob)).convert("RGB")))

        return run

    def photos() -> None:
        for record, box in sources:
            np.asarray(crop_square(load_rgb(record.image), box, side))

    passes = {"raw uint8 (ifan)": raw, "JPEG q90": decode(jpeg), "PNG": decode(png)}
    passes["original photo"] = photos
    sizes = {
        "raw uint8 (ifan)": side * side * 3,
        "JPEG q90": statistics.mean(len(b) for b in jpeg),
        "PNG": statistics.mean(len(b) for b in png),
        "original photo": statistics.mean(record.image.stat().st_size for record, _ in sources),
    }
    return passes, sizes


def main(argv: list[str] | None = None) -> int:
    """Time every layout and write the results."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="ifan-bench-storage-"))
    sources = sample_faces(args.data, folder, args.faces)
    passes, sizes = layouts(sources, args.side, folder)
    times = interleaved(passes, args.repeats, seed=1)
    result = {
        **header(1),
        "command": command_line("storage", argv),
        "settings": {"faces": args.faces, "side": args.side, "repeats": args.repeats},
        "seconds_per_face": {name: [t / len(sources) for t in ts] for name, ts in times.items()},
        "bytes_per_face": sizes,
        "seconds": time.perf_counter() - started,
    }
    write_results(args.out, "storage", result, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
