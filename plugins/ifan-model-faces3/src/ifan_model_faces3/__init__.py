"""faces3: a pretrained ifan model of three face tasks, shipped through the ``ifan_models`` hook."""

from pathlib import Path

HERE = Path(__file__).parent
WEIGHTS = HERE / "faces3.safetensors"
CARD = HERE / "MODEL_CARD.md"
