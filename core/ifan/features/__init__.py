"""Features out of a trained model: each face's vector from one task's decoder, saved with the
faces it came from and the model it came from.

A task's **features** are its decoder's last hidden layer: the input of the last ``nn.Linear`` of
the task's decoder (in the order the decoder defines its modules), captured with a forward hook
while the network runs that task as :meth:`ifan.network.model.IFAN.predict_all` does (the full
iterative forward with the task's own batch norm; the last call of the layer, the final iteration's,
is kept). For the built-in decoders (:class:`ifan.network.decoders.MLPHead`) that is the
``hidden``-wide vector after the ReLU, from which the task's logits or values are one linear map
away. A decoder without an ``nn.Linear`` (a pixel classifier) has no such vector.

:func:`~ifan.features.extract.extract_features` (:mod:`~ifan.features.extract`) reads photos (each
face found and cropped by the model's crop rule, as ``ifan predict`` does) or a task's split from a
run's manifest (its reader's faces and labels). :class:`~ifan.features.store.Features`
(:mod:`~ifan.features.store`) holds the ``N x D`` matrix, each face's image path, its labels when
known and the model's identity (:class:`ModelIdentity`: run, checkpoint, step, task, layer and a
fingerprint of every weight), and saves them as safetensors: tensors ``features``, ``boxes``,
``faces`` and ``target`` (``target.<key>`` for a dict target), everything else as JSON under the
metadata key :data:`~ifan.features.store.META_KEY`. No pickle: a features file holds tensors and
text only. :func:`~ifan.features.store.read_features` loads one and, given the model it should come
from, refuses features of another model.
"""

from ifan.errors import FeaturesError
from ifan.features.extract import extract_features, photo_features
from ifan.features.store import Features, ModelIdentity, identity, read_features

__all__ = [
    "Features",
    "FeaturesError",
    "ModelIdentity",
    "extract_features",
    "identity",
    "photo_features",
    "read_features",
]
