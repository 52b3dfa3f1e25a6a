"""``python -m custom_components.emucs``: the command line (see ``cli``)."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
