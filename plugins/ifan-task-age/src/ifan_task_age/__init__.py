"""ifan-task-age: an ``age`` task for ifan, registered through the ``ifan`` entry-point group."""

from importlib import metadata

try:
    __version__ = metadata.version("ifan-task-age")
except metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"
