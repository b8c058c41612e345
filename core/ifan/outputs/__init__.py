"""What the tasks of one kind of label share in their outputs: ``to_json`` data, in the photo's
pixels where the prediction has a place, and the overlays ``ifan predict`` and ``ifan eval``
draw. One module per kind: :mod:`~ifan.outputs.classes`, :mod:`~ifan.outputs.points`,
:mod:`~ifan.outputs.masks`."""
