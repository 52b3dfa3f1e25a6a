"""Build real P1 telegram bytes from the text templates in ``tests/fixtures/``.

A template is a telegram as text with LF line endings whose CRC is a placeholder
(``!XXXX``, or ``!XXX`` as the specs print it). ``build_telegram`` turns it into the
bytes a meter sends: CRLF line endings, CRC-16/ARC over ``/`` … ``!`` inclusive as
four hex digits, then CRLF.

Run ``python -m tests.telegrams NAME...`` to write the real bytes of fixtures to
stdout, e.g. to feed the CLI: ``python -m tests.telegrams quirk_relays_e21.txt |
python -m custom_components.emucs p1 -``.
"""

from __future__ import annotations

from pathlib import Path
import sys

from custom_components.emucs.protocol.crc import pure_crc16_arc

__all__ = ["FIXTURES", "build_telegram", "load_template", "template_names"]

FIXTURES = Path(__file__).parent / "fixtures"
"""Directory holding the telegram templates."""


def load_template(name: str) -> str:
    """Return the text of the template ``tests/fixtures/<name>``."""
    return (FIXTURES / name).read_text(encoding="utf-8")


def template_names(prefix: str) -> list[str]:
    """Return the sorted file names of the templates whose name starts with ``prefix``."""
    return sorted(path.name for path in FIXTURES.glob(f"{prefix}*.txt"))


def build_telegram(
    text: str | bytes, *, lowercase_crc: bool = False, crc: int | str | None = None
) -> bytes:
    """Turn a template into the bytes of a telegram as a meter sends it.

    ``text`` runs from ``/`` to the ``!`` of the CRC placeholder; anything after
    the last ``!`` (``XXXX``, blanks, line ends) is replaced. LF line endings become
    CRLF (CRLF stays CRLF). ``str`` templates must be ASCII; pass ``bytes`` to put
    any other byte into a telegram.

    The CRC is computed with the pure-Python CRC-16/ARC, independently of the
    accelerated one the framer uses. ``lowercase_crc`` prints its hex digits in
    lower case, as some field devices do. ``crc`` replaces the CRC field: an int is
    printed as four upper-case hex digits (use it to force a wrong CRC), a str is
    used verbatim (e.g. ``"12G4"`` for a CRC field that is not hex).
    """
    data = text.encode("ascii") if isinstance(text, str) else bytes(text)
    bang = data.rfind(b"!")
    if not data.startswith(b"/") or bang < 0:
        raise ValueError("a template runs from '/' to '!'")
    body = data[: bang + 1].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if crc is None:
        field = f"{pure_crc16_arc(body):04X}"
        if lowercase_crc:
            field = field.lower()
    elif isinstance(crc, int):
        field = f"{crc:04X}"
    else:
        field = crc
    return body + field.encode("latin-1") + b"\r\n"


def _main(names: list[str]) -> int:
    """Write the real bytes of the named templates to stdout."""
    for name in names:
        sys.stdout.buffer.write(build_telegram(load_template(name)))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
