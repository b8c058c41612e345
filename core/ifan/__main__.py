"""``python -m ifan``, the same as the ``ifan`` command."""

import sys

from ifan.cli.main import main

sys.exit(main())
