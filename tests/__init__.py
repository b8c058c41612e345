"""The core's test suite, one folder per area of the source tree. A package, so that the shared
helper modules import by their path like any module (``from tests.training.short_run import
trainer``)."""
