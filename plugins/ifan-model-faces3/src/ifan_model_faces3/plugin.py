"""Entry point of the ``faces3`` model (named in ``[project.entry-points.ifan]``)."""

from ifan import hookimpl
from ifan.pretrained import PretrainedModel

from ifan_model_faces3 import CARD, WEIGHTS


@hookimpl
def ifan_models() -> list[PretrainedModel]:
    return [
        PretrainedModel(
            name="faces3",
            weights=WEIGHTS,
            card=CARD,
            summary="5 landmarks (MTFL), 6-class parsing (FASSEG), 7 emotions (FER2013); 96 px",
        )
    ]
