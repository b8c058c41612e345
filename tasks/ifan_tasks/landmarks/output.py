"""One landmark prediction as JSON and as dots on its photo: those of every points task
(:mod:`ifan.outputs.points`), by the names the landmarks task calls them."""

from __future__ import annotations

from ifan.outputs.points import points_json as landmarks_json
from ifan.outputs.points import points_overlay as landmarks_overlay

__all__ = ["landmarks_json", "landmarks_overlay"]
