"""Class sets of the parsing formats; Helen's (Smith et al. 2013) is the task's default."""

from __future__ import annotations

from ifan.contract import LabelSchema

HELEN_CLASSES = (
    "background",
    "skin",
    "left_eyebrow",
    "right_eyebrow",
    "left_eye",
    "right_eye",
    "nose",
    "upper_lip",
    "inner_mouth",
    "lower_lip",
    "hair",
)
HELEN_GROUPS = {
    "eyes": ("left_eye", "right_eye"),
    "brows": ("left_eyebrow", "right_eyebrow"),
    "mouth_all": ("upper_lip", "inner_mouth", "lower_lip"),
    "overall": tuple(c for c in HELEN_CLASSES if c not in ("background", "skin", "hair")),
}
HELEN_LABELS = LabelSchema(kind="segmentation", names=HELEN_CLASSES, groups=HELEN_GROUPS)
"""Helen relabelled by Smith et al. 2013 (``_lbl00`` .. ``_lbl10``), with the merged groups of the
paper's Table 2; ``overall`` is every facial component, without skin, hair and background."""

FASSEG_COLOURS: dict[str, tuple[int, int, int]] = {
    "background": (255, 0, 0),
    "skin": (255, 255, 0),
    "hair": (127, 0, 0),
    "eyes": (0, 0, 255),
    "nose": (0, 255, 255),
    "mouth": (0, 255, 0),
}
"""FASSEG's label colours, in class-index order (``hair`` includes the eyebrows)."""

FASSEG_LABELS = LabelSchema(
    kind="segmentation",
    names=tuple(FASSEG_COLOURS),
    groups={"overall": ("eyes", "nose", "mouth")},
)
"""``overall`` merges the facial components, as Helen's does; FASSEG counts eyebrows as hair, so
hair (like skin and background) is left out of it."""

CELEBAMASK_LABELS = LabelSchema(
    kind="segmentation",
    names=(
        "background",
        "skin",
        "nose",
        "eyeglasses",
        "left_eye",
        "right_eye",
        "left_eyebrow",
        "right_eyebrow",
        "left_ear",
        "right_ear",
        "inner_mouth",
        "upper_lip",
        "lower_lip",
        "hair",
        "hat",
        "earring",
        "necklace",
        "neck",
        "cloth",
    ),
    groups=HELEN_GROUPS,
)
"""CelebAMask-HQ index masks (``g_mask.py``: 0 background, then skin, nose, eye_g, l_eye, r_eye,
l_brow, r_brow, l_ear, r_ear, mouth, u_lip, l_lip, hair, hat, ear_r, neck_l, neck, cloth), with
Helen's merged groups."""
