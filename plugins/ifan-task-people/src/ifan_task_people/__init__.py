"""ifan-task-people: the ``gender``, ``race`` and ``identity`` tasks for ifan, registered through
the ``ifan`` entry-point group."""

from importlib import metadata

try:
    __version__ = metadata.version("ifan-task-people")
except metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"
