"""Image loading with errors that name the file, and the square crops every task feeds the network.

A face enters the network as a square crop resized to ``S x S``. The crop is a :class:`Box` in the
pixels of the original image (it may reach outside the image; outside is filled), possibly turned
by an angle (an aligned face), so coordinates map both ways: ``Box.to_crop`` turns pixels into
[0, 1] crop coordinates and ``Box.from_crop`` back, and :func:`uncrop` resizes an ``S x S`` map
back onto the original image (:func:`uncrop_window` computes only the pixels the box covers).
Which box a face gets is the crop rule's (:mod:`ifan.data.crop`).
"""

from __future__ import annotations

import functools
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from ifan.data.errors import DatasetError

HEIF_SUFFIXES = (".heic", ".heif")
"""HEIF photos (what iPhones save), read through the pillow-heif plugin (``ifan[heif]``)."""
IMAGE_SUFFIXES = (
    ".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp", *HEIF_SUFFIXES
)  # fmt: skip
"""The file suffixes readers take for photos (compared in lower case)."""

UNREADABLE = (
    OSError,  # UnidentifiedImageError, a truncated file, ...
    ValueError,
    SyntaxError,  # Pillow's "broken PNG file"
    EOFError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,  # a header claiming far more pixels than Pillow allows
)
"""What Pillow raises for a file that is not a readable image."""


def require_format(path: Path) -> None:
    """Make Pillow able to read ``path``'s format where a plugin is needed (HEIF: pillow-heif,
    registered on first use); a :class:`DatasetError` saying what to install when it is not."""
    if Path(path).suffix.lower() in HEIF_SUFFIXES and not _heif_registered():
        raise DatasetError(
            f"{path}: a HEIF photo, which Pillow reads only with the pillow-heif plugin: "
            "pip install 'ifan[heif]' (or convert it to JPEG)"
        )


@functools.cache
def _heif_registered() -> bool:
    """Register pillow-heif's opener with Pillow, once; False when it is not installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


def open_image(path: Path) -> Image.Image:
    """The decoded image at ``path``; a :class:`DatasetError` naming the file when it cannot be."""
    require_format(path)
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except FileNotFoundError:
        raise DatasetError(f"{path}: image not found; check the dataset layout") from None
    except UNREADABLE as exc:
        raise DatasetError(f"{path}: not a readable image ({exc}); replace or remove it") from None


def image_size(path: Path, where: str = "") -> tuple[int, int]:
    """``(width, height)`` of the image at ``path``, from its header (fast: nothing is decoded).

    A :class:`DatasetError` names ``where`` (the annotation) and the file when it cannot be read.
    """
    prefix = f"{where}: " if where else ""
    require_format(path)
    try:
        with Image.open(path) as image:
            return image.size
    except FileNotFoundError:
        raise DatasetError(f"{prefix}image {path} not found") from None
    except UNREADABLE as exc:
        raise DatasetError(f"{prefix}{path} is not a readable image ({exc})") from None


def as_rgb(image: Image.Image) -> Image.Image:
    """``image`` in 8-bit RGB. Grey, palette and alpha images convert as Pillow converts them;
    16-bit greys (``I;16`` PNGs, ``I`` images above 255) are scaled to 8 bits first, where
    Pillow's own conversion clips every value above 255 to white."""
    if image.mode.startswith("I;16") or image.mode == "I":
        values = np.asarray(image, dtype=np.float64)
        if image.mode != "I" or values.max(initial=0) > 255:
            values = (values / 257).round()
        image = Image.fromarray(values.clip(0, 255).astype(np.uint8), "L")
    return image.convert("RGB")


def load_rgb(path: Path) -> Image.Image:
    """The image at ``path`` in 8-bit RGB (:func:`as_rgb`)."""
    return as_rgb(open_image(path))


def upright_rgb(image: Image.Image) -> Image.Image:
    """``image`` in RGB as viewers show it: its EXIF orientation applied, since a phone stores a
    portrait photo sideways with a tag saying so, and a sideways face is not found. For photos
    to predict on; datasets keep their stored pixels, where their annotations are."""
    ImageOps.exif_transpose(image, in_place=True)
    return as_rgb(image)


def load_upright_rgb(path: Path) -> Image.Image:
    """The photo at ``path`` as :func:`upright_rgb` makes it (errors as :func:`open_image`)."""
    return upright_rgb(open_image(path))


def find_image(folder: Path, stem: str) -> Path | None:
    """The image called ``stem`` with any usual suffix in ``folder``, or None."""
    for suffix in IMAGE_SUFFIXES:
        for candidate in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


@dataclass(frozen=True)
class Box:
    """A square crop: top-left corner ``(x0, y0)`` and side, in pixels of the original image,
    turned by ``angle`` degrees about its centre (the crop's x axis points along
    ``(cos angle, sin angle)`` in the image, y down: a positive angle follows a face tilted
    clockwise on screen)."""

    x0: int
    y0: int
    side: int
    angle: float = 0.0

    @property
    def centre(self) -> tuple[float, float]:
        """The box's centre in image pixels."""
        return self.x0 + self.side / 2, self.y0 + self.side / 2

    def _rotation(self, dtype: torch.dtype) -> torch.Tensor:
        """``2 x 2``: crop axes (columns) in image coordinates."""
        a = math.radians(self.angle)
        return torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=dtype)

    def to_crop(self, points: torch.Tensor) -> torch.Tensor:
        """``N x 2`` pixel coordinates (x, y) -> coordinates in [0, 1] of the crop."""
        centre = torch.tensor(self.centre, dtype=points.dtype)
        if not self.angle:
            return (points - centre) / self.side + 0.5
        return (points - centre) @ self._rotation(points.dtype) / self.side + 0.5

    def from_crop(self, points: torch.Tensor) -> torch.Tensor:
        """``N x 2`` crop coordinates in [0, 1] -> pixel coordinates of the original image."""
        centre = torch.tensor(self.centre, dtype=points.dtype)
        if not self.angle:
            return (points - 0.5) * self.side + centre
        return (points - 0.5) * self.side @ self._rotation(points.dtype).T + centre

    def scaled(self, factor: float) -> Box:
        """The box with the same centre and angle, its side times ``factor``."""
        if factor == 1:
            return self
        cx, cy = self.centre
        side = max(1, round(self.side * factor))
        return Box(round(cx - side / 2), round(cy - side / 2), side, self.angle)


def letterbox(width: int, height: int) -> Box:
    """The smallest square centred on a ``width x height`` image: the whole image, padded."""
    side = max(width, height)
    return Box((width - side) // 2, (height - side) // 2, side)


def box_around(points: torch.Tensor, margin: float) -> Box:
    """A square centred on the points' bounding box, its side the larger extent times
    ``1 + 2 * margin`` (``margin`` is added on each side, as a fraction of that extent)."""
    low = points.min(dim=0).values
    high = points.max(dim=0).values
    centre = (low + high) / 2
    side = max(float((high - low).max()) * (1 + 2 * margin), 1.0)
    return Box(round(float(centre[0]) - side / 2), round(float(centre[1]) - side / 2), round(side))


def crop_square(
    image: Image.Image,
    box: Box,
    size: int,
    resample: Image.Resampling = Image.Resampling.BILINEAR,
    fill: int | tuple[int, ...] = 0,
) -> Image.Image:
    """The ``box`` region of ``image`` resized to ``size x size``; outside the image is ``fill``."""
    if box.angle and size < box.side:
        # Turn at the box's own resolution, then shrink with the resize's anti-aliasing.
        return crop_square(image, box, box.side, resample, fill).resize((size, size), resample)
    if box.angle:
        # One affine resampling: output pixel centre (u + 0.5) -> image point (Pillow samples
        # pixel centres), scaled by side / size and turned by the box's angle about its centre.
        k = box.side / size
        a = math.radians(box.angle)
        cos, sin = math.cos(a) * k, math.sin(a) * k
        cx, cy = box.centre
        h = size / 2
        data = (cos, -sin, cx - cos * h + sin * h, sin, cos, cy - sin * h - cos * h)
        return image.transform((size, size), Image.Transform.AFFINE, data, resample, fillcolor=fill)
    canvas = Image.new(image.mode, (box.side, box.side), fill)
    canvas.paste(image, (-box.x0, -box.y0))
    return canvas.resize((size, size), resample)


def to_tensor(image: Image.Image) -> torch.Tensor:
    """An RGB image as a float tensor ``3 x H x W`` in [0, 1]."""
    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255)


Window = tuple[int, int, int, int]
"""A rectangle of image pixels ``(x0, y0, x1, y1)``, ``x1`` and ``y1`` excluded."""


def box_window(box: Box, width: int, height: int) -> Window:
    """The pixels of a ``width x height`` image that ``box`` can cover: its bounding rectangle
    (of the turned square for a turned box) clipped to the image; empty when it lies outside."""
    if box.angle:
        corners = box.from_crop(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        low, high = corners.min(dim=0).values, corners.max(dim=0).values
        x0, y0 = math.floor(float(low[0])), math.floor(float(low[1]))
        x1, y1 = math.ceil(float(high[0])), math.ceil(float(high[1]))
    else:
        x0, y0, x1, y1 = box.x0, box.y0, box.x0 + box.side, box.y0 + box.side
    x0, x1 = min(max(x0, 0), width), min(max(x1, 0), width)
    y0, y1 = min(max(y0, 0), height), min(max(y1, 0), height)
    return x0, y0, max(x0, x1), max(y0, y1)


def uncrop(
    maps: torch.Tensor, box: Box, width: int, height: int, mode: str = "bilinear"
) -> torch.Tensor:
    """``C x S x S`` maps of the crop resized onto the ``width x height`` original image.

    ``mode`` is ``bilinear`` (scores, as the paper resizes its parsing prediction) or ``nearest``
    (class indices). Parts of the image outside the box are zero.
    """
    x0, y0, x1, y1 = window = box_window(box, width, height)
    out = maps.new_zeros((maps.shape[0], height, width))
    out[:, y0:y1, x0:x1] = uncrop_window(maps, box, window, mode)
    return out


def uncrop_window(
    maps: torch.Tensor, box: Box, window: Window, mode: str = "bilinear"
) -> torch.Tensor:
    """The ``window`` of :func:`uncrop`'s result, ``C x (y1 - y0) x (x1 - x0)``, computed for
    those pixels alone: a face's box is a small part of a large photo, so its maps (and their
    argmax) need not be computed for the rest, which is zero."""
    x0, y0, x1, y1 = window
    dtype = maps.dtype
    if x1 <= x0 or y1 <= y0:
        return maps.new_zeros((maps.shape[0], y1 - y0, x1 - x0))
    if box.angle:
        return _uncrop_turned(maps.float(), box, window, mode).to(dtype)
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    scaled = F.interpolate(maps[None].float(), size=(box.side, box.side), mode=mode, **kwargs)[0]
    return scaled[:, y0 - box.y0 : y1 - box.y0, x0 - box.x0 : x1 - box.x0].to(dtype)


def _uncrop_turned(maps: torch.Tensor, box: Box, window: Window, mode: str) -> torch.Tensor:
    """:func:`uncrop_window` for a turned box: each pixel centre of the window looks up its crop
    coordinates."""
    x0, y0, x1, y1 = window
    ys, xs = torch.meshgrid(
        torch.arange(y0, y1, dtype=torch.float32) + 0.5,
        torch.arange(x0, x1, dtype=torch.float32) + 0.5,
        indexing="ij",
    )
    crop = box.to_crop(torch.stack([xs.flatten(), ys.flatten()], dim=1)).reshape(*xs.shape, 2)
    inside = ((crop >= 0) & (crop < 1)).all(dim=-1)
    grid = (crop * 2 - 1)[None]  # the [-1, 1] grid of grid_sample (align_corners=False)
    out = F.grid_sample(maps[None], grid, mode=mode, padding_mode="border", align_corners=False)
    return out[0] * inside
