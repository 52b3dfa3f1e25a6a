"""Command line: ``python -m custom_components.emucs {p1,s1,simulate} …``.

``p1`` and ``s1`` read a byte stream from a file, stdin or a live port. ``p1`` prints
every valid telegram and reports rejected telegrams on stderr; ``s1`` prints a
power-quality summary per second of meter time. Output is a table, or one JSON object
per line with ``--json``. ``simulate`` serves a simulated meter (see ``simulate``).
This package and the protocol package import no Home Assistant code (``python -m``
still runs the integration's ``__init__``, which does).

Modules: ``commands`` (the parser and what each command does), ``readers`` (bytes from
a file, stdin or a port), ``p1_format`` and ``s1_format`` (table and JSON output).

Exit status: 0 at end of input (also when a port is closed by its peer), 2 when the
input cannot be opened or read, 130 on Ctrl-C, 141 when stdout is closed (``| head``).
"""

from __future__ import annotations

from .commands import main

__all__ = ["main"]
