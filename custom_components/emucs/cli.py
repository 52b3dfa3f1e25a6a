"""Command line: ``python -m custom_components.emucs p1 [PATH|-] [--json] [--port URL]``.

Reads a P1 byte stream from a file, stdin or a live port, prints every valid telegram
(a table, or one JSON object per line with ``--json``) and reports rejected telegrams
on stderr. This module and the protocol package import no Home Assistant code
(``python -m`` still runs the package ``__init__``, which does).

Exit status: 0 at end of input (also when a port is closed by its peer), 2 when the
input cannot be opened or read, 130 on Ctrl-C, 141 when stdout is closed (``| head``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from datetime import datetime
import io
import json
import os
import sys
from typing import BinaryIO, Final

from .protocol import P1Stream, Rejection, Telegram
from .protocol.obis import ValueType

__all__ = ["main"]

CHUNK_SIZE: Final = 64 * 1024
P1_BAUDRATE: Final = 115200
EXIT_INPUT_ERROR: Final = 2
EXIT_INTERRUPTED: Final = 130
EXIT_BROKEN_PIPE: Final = 141

type Command = Callable[[argparse.Namespace], int]


class InputError(Exception):
    """The input could not be opened or read."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = build_parser().parse_args(argv)
    command: Command = args.command
    try:
        return command(args)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``). Point stdout at /dev/null so the
        # interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def build_parser() -> argparse.ArgumentParser:
    """Return the parser: one subcommand per meter port."""
    parser = argparse.ArgumentParser(
        prog="python -m custom_components.emucs",
        description="Decode the ports of Belgian digital electricity meters (eMUCS).",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_p1(
        commands.add_parser(
            "p1",
            help="decode P1 telegrams",
            description="Decode P1 telegrams (DSMR-P1 5.0.2 / eMUCS-P1) from a file, stdin or a live port.",
        )
    )
    return parser


def _add_p1(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="file with captured bytes, '-' for stdin",
    )
    source.add_argument(
        "--port",
        metavar="URL",
        help="live port at 115200 8N1: /dev/ttyUSB0, socket://host:port, rfc2217://host:port",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line (the documented contract)",
    )
    parser.set_defaults(command=_run_p1)


def _run_p1(args: argparse.Namespace) -> int:
    as_json: bool = args.json
    _configure_stdout(as_json)
    stream = P1Stream()
    shown = 0
    try:
        with closing(read_input(args.path, args.port, baudrate=P1_BAUDRATE)) as chunks:
            for chunk in chunks:
                for telegram in stream.feed(chunk):
                    _write(_json_line(telegram) if as_json else format_table(telegram))
                shown = _report(stream.pop_rejections(), stream, shown)
    except KeyboardInterrupt:
        _summary(stream, 0)
        raise
    rejected = 0
    if buffered := stream.framer.buffered:
        rejected = 1
        print(
            f"rejected: truncated: input ended {buffered} bytes into a telegram",
            file=sys.stderr,
        )
    _summary(stream, rejected)
    return 0


def _summary(stream: P1Stream, rejected: int) -> None:
    stats = stream.stats
    rejected += stats.crc_errors + stats.malformed
    print(
        f"{_plural(stats.telegrams, 'telegram')}, {rejected} rejected", file=sys.stderr
    )


def _report(rejections: list[Rejection], stream: P1Stream, shown: int) -> int:
    """Print rejections on stderr; return how many have been accounted for."""
    for rejection in rejections:
        print(
            f"rejected: {rejection.reason.value}: {rejection.detail}", file=sys.stderr
        )
    shown += len(rejections)
    total = stream.stats.crc_errors + stream.stats.malformed
    if total > shown:
        # The stream keeps only the newest rejections of one feed.
        print(f"rejected: {total - shown} more not shown", file=sys.stderr)
    return total


def read_input(
    path: str | None, port: str | None, *, baudrate: int
) -> Generator[bytes]:
    """Yield chunks of bytes from a file, stdin (``-``) or a port URL until end of input.

    Raises InputError when the input cannot be opened, or a file cannot be read.
    A port whose peer goes away (TCP closed, PTY master closed, adapter unplugged)
    is the end of input.
    """
    if port is not None:
        yield from _read_port(port, baudrate)
    elif path == "-":
        if sys.stdin is None:
            raise InputError("stdin is closed")
        yield from _read_file(sys.stdin.buffer, "stdin")
    elif path is not None:
        try:
            file = open(path, "rb")
        except OSError as err:
            raise InputError(f"cannot open {path}: {err.strerror or err}") from err
        with file:
            yield from _read_file(file, path)


def _read_file(file: BinaryIO, name: str) -> Generator[bytes]:
    # read1 returns what one system call gives, so a pipe is decoded as it arrives.
    read = file.read1 if isinstance(file, io.BufferedIOBase) else file.read
    while True:
        try:
            chunk = read(CHUNK_SIZE)
        except OSError as err:
            raise InputError(f"cannot read {name}: {err.strerror or err}") from err
        if not chunk:
            return
        yield chunk


def _read_port(url: str, baudrate: int) -> Generator[bytes]:
    try:
        import serial
    except ImportError as err:
        raise InputError("--port needs pyserial (pip install pyserial)") from err
    try:
        port = serial.serial_for_url(
            url, baudrate=baudrate, bytesize=8, parity="N", stopbits=1, timeout=0.5
        )
    except (OSError, ValueError) as err:
        raise InputError(f"cannot open {url}: {err}") from err
    with port:
        # Opening flushed what arrived before; from here on nothing is lost.
        print(
            f"reading {url} at {baudrate} 8N1 (Ctrl-C to stop)",
            file=sys.stderr,
            flush=True,
        )
        while True:
            try:
                # Ask only for what is there (at least one byte, waiting up to the
                # timeout): pyserial drops a partial read when the peer closes.
                data: bytes = port.read(port.in_waiting or 1)
            except (OSError, ValueError) as err:
                print(f"port closed: {err}", file=sys.stderr)
                return
            if data:
                yield data


def format_table(telegram: Telegram) -> str:
    """Return a telegram as a readable table (ends with a blank line)."""
    lines = [f"Telegram /{telegram.header}  CRC {telegram.crc}"]
    lines.append(f"  Meter    {telegram.equipment_id or '-'}")
    version = telegram.version or "-"
    if telegram.dsmr_version:
        version += f" (DSMR {telegram.dsmr_version}, eMUCS {telegram.emucs_version})"
    lines.append(f"  Version  {version}")
    rows: list[tuple[str, str, str, str]] = []
    for obis, obj in telegram.objects.items():
        if obj.spec is None:
            rows.append((obis, "unknown", obj.raw or "", ""))
            continue
        if obj.error is not None:
            value = f"{obj.raw}  invalid: {obj.error}"
        elif obj.deactivated:
            value = "deactivated"
        elif isinstance(obj.value, tuple):
            value = _plural(len(obj.value), "month")
        else:
            value = _text(obj.value, obj.unit)
        timed = obj.spec.value_type is ValueType.TIMED_NUMBER
        rows.append((obis, obj.spec.name, value, _time(obj.timestamp) if timed else ""))
        if isinstance(obj.value, tuple):
            rows.extend(
                (
                    "",
                    f"  from {_time(rec.period_start)}",
                    _text(rec.value, rec.unit),
                    _time(rec.timestamp),
                )
                for rec in obj.value
            )
    widths = (
        [max(len(row[column]) for row in rows) for column in range(3)]
        if rows
        else [0, 0, 0]
    )
    lines.extend(
        "  "
        + "  ".join(
            cell.ljust(width) for cell, width in zip(row, [*widths, 0], strict=True)
        ).rstrip()
        for row in rows
    )
    for device in telegram.mbus:
        lines.append(
            f"  M-Bus channel {device.channel}: {device.medium or 'unknown medium'} (device type {device.device_type})"
        )
        lines.append(
            f"    equipment id {device.equipment_id or '-'}, EAN {device.ean or '-'}, valve {_text(device.valve, None)}"
        )
        reading = device.reading
        lines.append(
            "    no reading yet"
            if reading is None
            else f"    reading {_text(reading.value, reading.unit)} at {_time(reading.timestamp)}"
        )
    if telegram.relays:
        relays = ", ".join(
            f"{number}: {state}" for number, state in sorted(telegram.relays.items())
        )
        lines.append(f"  Virtual relays  {relays}")
    return "\n".join(lines) + "\n\n"


def _text(value: object, unit: str | None) -> str:
    if value is None:
        return "-"
    text = _time(value) if isinstance(value, datetime) else str(value)
    return f"{text} {unit}" if unit else text


def _time(value: datetime | None) -> str:
    return "no time" if value is None else value.isoformat()


def _json_line(telegram: Telegram) -> str:
    return json.dumps(telegram.to_dict(), ensure_ascii=False) + "\n"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _configure_stdout(as_json: bool) -> None:
    stdout = sys.stdout
    if isinstance(stdout, io.TextIOWrapper):
        # JSON is UTF-8 by definition; a table may land on any console.
        if as_json:
            stdout.reconfigure(encoding="utf-8")
        else:
            stdout.reconfigure(errors="backslashreplace")


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
