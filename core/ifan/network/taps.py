"""The taps: the named backbone layers a task's decoder reads and the integrator writes back to.

Every backbone, native or timm, exposes the same names (:class:`ifan.network.backbones.Backbone`),
so a task's ``default_tap`` means the same resolution whichever backbone a manifest picks.
"""

from __future__ import annotations

DEPTH = 5
"""Number of halvings of the resolution in the down path (input 128 -> 4)."""

DOWN_TAPS = tuple(f"down{level}" for level in range(DEPTH + 1))
UP_TAPS = tuple(f"up{level}" for level in range(DEPTH - 1, -1, -1))
TAP_NAMES = DOWN_TAPS + UP_TAPS
"""Named taps every backbone exposes. ``downL``/``upL`` have resolution input / 2**L: at input
128, ``down4`` is 8x8 (landmarks), ``down5`` 4x4 (emotion) and ``up0`` 128x128 (parsing)."""
