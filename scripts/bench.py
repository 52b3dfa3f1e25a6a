"""Benchmarks of the eMUCS protocol core; ``scripts/bench`` runs this file.

Sections (``--list`` shows them, ``--only`` picks sections or whole groups), one
module of ``scripts/benchmarks/`` per benchmark:

- ``p1-speed`` (``benchmarks/p1.py``): P1 decode throughput against dsmr_parser, and
  bytes to JSON text against its parse + ``to_json``, all in one run so the ratios
  are meaningful.
- ``p1-diff`` (``benchmarks/p1_diff.py``): what dsmr_parser returns where it differs
  from our decoder, observed on real bytes in this run.
- ``s1-speed`` and ``s1-loop`` (``benchmarks/s1.py``): the S1 pipeline against real
  time and the reference decoder; the event loop's share.

A new benchmark (the recorder's, say) is a module registering its sections with
``benchmarks.harness.section``, imported in ``BENCHMARKS`` below. Speed is never
asserted anywhere: ``tests/test_bench.py`` only checks the JSON structure and that the
decoders agree where they should.

Usage: ``scripts/bench [--quick] [--json] [--only p1|s1] [--list]``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
import sys

SCRIPTS = Path(__file__).resolve().parent
for path in (SCRIPTS.parent, SCRIPTS):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from benchmarks import harness  # noqa: E402

BENCHMARKS = ("benchmarks.p1", "benchmarks.p1_diff", "benchmarks.s1")
"""Modules whose sections run, in this order."""


if __name__ == "__main__":
    for name in BENCHMARKS:
        importlib.import_module(name)
    sys.exit(harness.main(__doc__.split("\n\n")[0]))
