"""One synthetic face drawn from a few parameters: the photo, its parsing mask and its 5 landmarks.

Every part is a polygon in a face-centred frame (x right, y down, in fractions of the image side)
that is rotated with the face and drawn at ``SUPERSAMPLE`` times the size. The photo is the average
of each pixel's sub-pixels (anti-aliased), the mask their majority class, and the points come from
the same polygons, so all three agree. "Left" is the image's left (smaller x), as in MTFL.

The expression is carried by the mouth and the brows only: ``happy`` curves the mouth up,
``sad`` curves it down and raises the brows' inner ends, ``surprise`` opens a small round mouth
and raises the brows, ``neutral`` keeps a straight closed mouth and level brows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

CLASSES = (
    "background",
    "skin",
    "left_brow",
    "right_brow",
    "left_eye",
    "right_eye",
    "nose",
    "mouth",
)
"""Parsing classes in mask index order."""
POINTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
"""Landmarks in MTFL order: eye centres, nose tip, mouth corners."""
EXPRESSIONS = ("happy", "neutral", "sad", "surprise")
SUPERSAMPLE = 4
"""Sub-pixels per pixel side."""

RGB = tuple[float, float, float]
Range = tuple[float, float]


@dataclass(frozen=True)
class Palette:
    """The colour statistics of one dataset: mean skin and background colours, their spread
    (uniform, per channel), the background's blotches (their amplitude, and how coloured they are
    from 0, grey, to 1), per-pixel grain, and grey photos or not."""

    skin: RGB
    background: RGB
    spread: float
    texture: float
    texture_colour: float
    grain: float
    grey: bool = False


@dataclass(frozen=True)
class Expression:
    """Ranges of the parameters that make an expression (lengths in fractions of the side)."""

    mouth_width: Range
    """Half width, times the face's half width."""
    mouth_curve: Range
    """How much lower the mouth's middle is than its corners (negative: higher)."""
    mouth_open: Range
    brow_tilt: Range
    """How much higher the brows' inner ends are than their outer ends."""
    brow_raise: Range
    eye_open: Range
    """Eye height factor."""


EXPRESSION_SHAPES = {
    "happy": Expression((0.44, 0.54), (0.035, 0.05), (0.0, 0.012), (-0.004, 0.004), (0.0, 0.006),
                        (0.8, 0.95)),
    "neutral": Expression((0.36, 0.46), (-0.004, 0.004), (0.0, 0.0), (-0.003, 0.003), (0.0, 0.004),
                          (0.95, 1.05)),
    "sad": Expression((0.36, 0.46), (-0.05, -0.034), (0.0, 0.0), (0.024, 0.036), (0.0, 0.004),
                      (0.8, 0.95)),
    "surprise": Expression((0.2, 0.26), (0.0, 0.0), (0.04, 0.055), (-0.003, 0.003), (0.028, 0.04),
                           (1.3, 1.5)),
}  # fmt: skip


@dataclass(frozen=True)
class FaceParams:
    """Everything that defines one face. Lengths are fractions of the image side; positions of
    parts are relative to the face centre before the face's rotation, y growing downwards (a part
    above the centre has a negative y)."""

    expression: str
    centre: tuple[float, float]
    radii: tuple[float, float]
    """Half width and half height of the face ellipse."""
    angle: float
    """Rotation in radians, clockwise on screen."""
    skin: RGB
    background: RGB
    hair: RGB
    """Colour of the brows and irises."""
    palette: Palette
    """The dataset's colours, for the background's blotches, the grain and greyness."""
    light: tuple[float, float]
    """Brightness gradient across the image in x and y (fraction per image side)."""
    noise_seed: int
    eye_x: float
    """Distance of each eye centre from the face's midline."""
    eye_y: float
    eye_size: tuple[float, float]
    brow_length: float
    """Half length of a brow."""
    brow_thickness: float
    brow_gap: float
    """Height of the brow above the top of its eye."""
    brow_tilt: float
    brow_arch: float
    nose_y: float
    """y of the nose tip."""
    nose_width: float
    mouth_y: float
    """y of the mouth corners."""
    mouth_width: float
    mouth_curve: float
    mouth_open: float
    lip: float
    """Half thickness of the lips."""


def _colour(rng: np.random.Generator, mean: RGB, spread: float) -> RGB:
    red, green, blue = (float(np.clip(c + rng.uniform(-spread, spread), 0, 255)) for c in mean)
    return red, green, blue


def _scaled(colour: RGB, factor: float) -> RGB:
    red, green, blue = colour
    return red * factor, green * factor, blue * factor


def sample_face(rng: np.random.Generator, palette: Palette, expression: str) -> FaceParams:
    """A random face of ``expression`` coloured from ``palette``."""
    shape = EXPRESSION_SHAPES[expression]
    rx = rng.uniform(0.27, 0.33)
    ry = rx * rng.uniform(1.18, 1.3)
    eye_w = rx * rng.uniform(0.16, 0.2)
    return FaceParams(
        expression=expression,
        centre=(0.5 + rng.uniform(-0.035, 0.035), 0.5 + rng.uniform(-0.03, 0.03)),
        radii=(rx, ry),
        angle=rng.uniform(-0.14, 0.14),
        skin=_colour(rng, palette.skin, palette.spread),
        background=_colour(rng, palette.background, palette.spread),
        hair=_scaled((55.0, 40.0, 32.0), rng.uniform(0.5, 1.5)),
        palette=palette,
        light=(rng.uniform(-0.12, 0.12), rng.uniform(-0.12, 0.12)),
        noise_seed=int(rng.integers(2**32)),
        eye_x=rx * rng.uniform(0.38, 0.45),
        eye_y=-ry * rng.uniform(0.12, 0.2),
        eye_size=(eye_w, eye_w * rng.uniform(0.5, 0.6) * rng.uniform(*shape.eye_open)),
        brow_length=eye_w * rng.uniform(1.15, 1.4),
        brow_thickness=rng.uniform(0.011, 0.016),
        brow_gap=rng.uniform(0.03, 0.042) + rng.uniform(*shape.brow_raise),
        brow_tilt=rng.uniform(*shape.brow_tilt),
        brow_arch=rng.uniform(0.003, 0.009),
        nose_y=ry * rng.uniform(0.12, 0.2),
        nose_width=rx * rng.uniform(0.12, 0.16),
        mouth_y=ry * rng.uniform(0.5, 0.58),
        mouth_width=rx * rng.uniform(*shape.mouth_width),
        mouth_curve=rng.uniform(*shape.mouth_curve),
        mouth_open=rng.uniform(*shape.mouth_open),
        lip=rng.uniform(0.016, 0.022),
    )


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _band(xs: np.ndarray, ys: np.ndarray, half: np.ndarray) -> np.ndarray:
    """The polygon around the curve ``(xs, ys)``, ``half`` thick on each side (vertically)."""
    top = np.stack([xs, ys - half], axis=1)
    bottom = np.stack([xs, ys + half], axis=1)[::-1]
    return np.concatenate([top, bottom])


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    red, green, blue = ((1 - t) * x + t * y for x, y in zip(a, b, strict=True))
    return red, green, blue


class _Canvas:
    """The photo and the mask at ``SUPERSAMPLE`` times the size, drawn in face coordinates."""

    def __init__(self, params: FaceParams, size: int):
        big = size * SUPERSAMPLE
        self.size = size
        self.params = params
        self.photo = Image.new("RGB", (big, big), tuple(round(c) for c in params.background))
        self.mask = Image.new("L", (big, big), 0)
        self._photo = ImageDraw.Draw(self.photo)
        self._mask = ImageDraw.Draw(self.mask)

    def pixels(self, local: np.ndarray) -> np.ndarray:
        """Face coordinates ``N x 2`` -> pixel coordinates of the output (pixel centres at
        integers)."""
        cos, sin = np.cos(self.params.angle), np.sin(self.params.angle)
        rotated = local @ np.array([[cos, sin], [-sin, cos]])
        return (rotated + self.params.centre) * self.size - 0.5

    def _big(self, local: np.ndarray) -> list[float]:
        return (self.pixels(local) * SUPERSAMPLE + (SUPERSAMPLE - 1) / 2).ravel().tolist()

    def fill(self, local: np.ndarray, colour: RGB, label: int | None = None) -> None:
        """Fill a polygon in the photo, and with class ``label`` in the mask when given."""
        xy = self._big(local)
        self._photo.polygon(xy, fill=tuple(round(c) for c in colour))
        if label is not None:
            self._mask.polygon(xy, fill=label)

    def line(self, local: np.ndarray, colour: RGB, width: float) -> None:
        """A line through the points in the photo only, ``width`` pixels of the output wide."""
        xy = self._big(local)
        self._photo.line(xy, fill=tuple(round(c) for c in colour), width=round(width * SUPERSAMPLE))


def _draw_eyes(canvas: _Canvas, p: FaceParams) -> list[np.ndarray]:
    sclera = _mix(p.skin, (250.0, 250.0, 245.0), 0.75)
    w, h = p.eye_size
    iris = min(h * 0.95, w * 0.5)
    centres = []
    for side, label in ((-1, CLASSES.index("left_eye")), (1, CLASSES.index("right_eye"))):
        x = side * p.eye_x
        canvas.fill(_ellipse(x, p.eye_y, w, h), sclera, label)
        canvas.fill(_ellipse(x, p.eye_y, iris, iris, 24), _mix(p.hair, (0.0, 0.0, 0.0), 0.3))
        canvas.fill(_ellipse(x, p.eye_y, iris * 0.5, iris * 0.5, 16), (12.0, 12.0, 12.0))
        centres.append(np.array([x, p.eye_y]))
    return centres


def _draw_brows(canvas: _Canvas, p: FaceParams) -> None:
    t = np.linspace(0, 1, 12)  # 0 at the outer end, 1 at the inner end
    base = p.eye_y - p.eye_size[1] - p.brow_gap
    ys = base + p.brow_tilt * (0.5 - t) - p.brow_arch * np.sin(np.pi * t)
    half = p.brow_thickness * (1 - 0.35 * (1 - t))
    for side, label in ((-1, CLASSES.index("left_brow")), (1, CLASSES.index("right_brow"))):
        xs = side * (p.eye_x + p.brow_length * (1 - 2 * t))
        canvas.fill(_band(xs, ys, half), p.hair, label)


def _draw_nose(canvas: _Canvas, p: FaceParams) -> np.ndarray:
    w = p.nose_width
    top = p.eye_y + p.eye_size[1] * 0.5
    bridge = np.array([[-0.35 * w, top], [0.35 * w, top], [w, p.nose_y], [-w, p.nose_y]])
    shade = _mix(p.skin, (90.0, 50.0, 40.0), 0.22)
    label = CLASSES.index("nose")
    canvas.fill(bridge, shade, label)
    canvas.fill(_ellipse(0.0, p.nose_y, w, w * 0.55), shade, label)
    for side in (-1, 1):
        nostril = _ellipse(side * 0.45 * w, p.nose_y + 0.2 * w, 0.22 * w, 0.14 * w, 12)
        canvas.fill(nostril, _mix(shade, (0.0, 0.0, 0.0), 0.45))
    return np.array([0.0, p.nose_y])


def _draw_mouth(canvas: _Canvas, p: FaceParams) -> list[np.ndarray]:
    xs = np.linspace(-p.mouth_width, p.mouth_width, 33)
    round_ = np.sqrt(1 - (xs / p.mouth_width) ** 2)
    ys = p.mouth_y + p.mouth_curve * round_**2
    lips = _mix(p.skin, (165.0, 45.0, 55.0), 0.5)
    inside = (55.0, 20.0, 25.0)
    canvas.fill(
        _band(xs, ys, 0.5 * p.lip + (p.lip + p.mouth_open) * round_), lips, CLASSES.index("mouth")
    )
    if p.mouth_open > 0:
        canvas.fill(_band(xs, ys, p.mouth_open * round_), inside)
    else:
        canvas.line(np.stack([xs, ys], axis=1)[2:-2], inside, 0.6)
    return [np.array([-p.mouth_width, p.mouth_y]), np.array([p.mouth_width, p.mouth_y])]


def _downsample(canvas: _Canvas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The photo as float ``H x W x 3``, the majority-class mask, and each pixel's background
    fraction."""
    size, k, n = canvas.size, SUPERSAMPLE, len(CLASSES)
    photo = np.asarray(canvas.photo.reduce(k), dtype=np.float32)
    blocks = np.asarray(canvas.mask).reshape(size, k, size, k).transpose(0, 2, 1, 3)
    # one bincount over (pixel, class) pairs counts every pixel's sub-pixels of every class
    pairs = blocks.reshape(size * size, k * k) + n * np.arange(size * size)[:, None]
    counts = np.bincount(pairs.ravel(), minlength=n * size * size).reshape(size, size, n)
    return photo, counts.argmax(axis=2).astype(np.uint8), counts[..., 0] / k**2


def _finish(photo: np.ndarray, background: np.ndarray, p: FaceParams) -> Image.Image:
    """Background blotches, lighting and grain on the photo; grey when the palette says so."""
    size = photo.shape[0]
    rng = np.random.default_rng(p.noise_seed)
    palette = p.palette
    grey, colour = rng.standard_normal((4, 4, 1)), rng.standard_normal((4, 4, 3))
    coarse = grey + palette.texture_colour * (colour - grey)
    coarse = np.clip(128 + 40 * coarse, 0, 255).astype(np.uint8)
    smooth = Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC)
    blotches = (np.asarray(smooth, dtype=np.float32) - 128) / 40 * palette.texture
    ramp = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    light = 1 + p.light[0] * ramp[None, :, None] + p.light[1] * ramp[:, None, None]
    photo = (photo + blotches * background[..., None]) * light
    photo += rng.normal(0, palette.grain, photo.shape)
    image = Image.fromarray(np.clip(np.rint(photo), 0, 255).astype(np.uint8))
    return image.convert("L").convert("RGB") if palette.grey else image


def draw_face(params: FaceParams, size: int) -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """``(photo, mask, points)``: an RGB ``size x size`` photo, its ``size x size`` uint8 mask of
    :data:`CLASSES` indices and the ``5 x 2`` :data:`POINTS` (x, y) in pixels, pixel centres at
    integer coordinates (0-based)."""
    canvas = _Canvas(params, size)
    canvas.fill(_ellipse(0.0, 0.0, *params.radii, 96), params.skin, CLASSES.index("skin"))
    _draw_brows(canvas, params)
    eyes = _draw_eyes(canvas, params)
    nose = _draw_nose(canvas, params)
    mouth = _draw_mouth(canvas, params)
    photo, mask, background = _downsample(canvas)
    points = canvas.pixels(np.stack([*eyes, nose, *mouth]))
    return _finish(photo, background, params), mask, points
