"""Command line: ``python -m custom_components.emucs {p1,s1,simulate} …``.

``p1`` and ``s1`` read a byte stream from a file, stdin or a live port. ``p1`` prints
every valid telegram and reports rejected telegrams on stderr; ``s1`` prints a
power-quality summary per second of meter time. Output is a table, or one JSON object
per line with ``--json``. ``simulate`` serves a simulated meter (see ``simulate``).
This module and the protocol package import no Home Assistant code (``python -m``
still runs the package ``__init__``, which does).

Exit status: 0 at end of input (also when a port is closed by its peer), 2 when the
input cannot be opened or read, 130 on Ctrl-C, 141 when stdout is closed (``| head``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Generator, Iterable, Sequence
from contextlib import closing
from datetime import datetime
import io
import json
import os
import select
import sys
from typing import BinaryIO, Final

from .protocol import (
    P1Stream,
    Rejection,
    S1Analyzer,
    S1BatchDecoder,
    S1Summary,
    Telegram,
)
from .protocol.obis import ValueType
from .protocol.s1 import STANDARD_TYPE

__all__ = ["main"]

CHUNK_SIZE: Final = 64 * 1024
READ_TIMEOUT: Final = 0.5
"""Seconds a port read waits, so Ctrl-C is seen on every platform."""
P1_BAUDRATE: Final = 115200
S1_BAUDRATE: Final = 2_000_000
S1_BATCH_BYTES: Final = 18_000
"""About 100 ms of a 4 kHz stream: a port's small reads are decoded in batches."""
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
    _add_command(
        commands.add_parser(
            "p1",
            help="decode P1 telegrams",
            description="Decode P1 telegrams (DSMR-P1 5.0.2 / eMUCS-P1) from a file, stdin or a live port.",
        ),
        _run_p1,
        P1_BAUDRATE,
    )
    _add_command(
        commands.add_parser(
            "s1",
            help="summarise an S1 sample stream per second",
            description="Decode an eMUCS-S1 sample stream from a file, stdin or a live port "
            "and print RMS values, powers, THD and frequency per second of meter time.",
        ),
        _run_s1,
        S1_BAUDRATE,
    )
    _add_simulate(
        commands.add_parser(
            "simulate",
            help="serve a simulated meter over TCP, a pseudo-terminal or stdout",
            description="Serve the P1 telegrams (and S1 samples) of a simulated Belgian "
            "household, once per second: base load, cooking peaks, solar export at noon, "
            "gas and water every 5 minutes, quarter-hour demand and monthly peaks. "
            "Without --tcp, --pty or --stdout it listens on 127.0.0.1:8088. "
            "SIGUSR1 cycles the breaker.",
        )
    )
    return parser


def _endpoint(text: str) -> tuple[str, int]:
    """``[HOST:]PORT`` → (host, port); the host defaults to 127.0.0.1."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not [HOST:]PORT: {text!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {number}")
    return host or "127.0.0.1", number


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a rate is between 0 and 1: {text}")
    return value


def _breaker_change(text: str) -> tuple[int, int]:
    seconds, _, state = text.partition("=")
    try:
        change = int(seconds), int(state)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not SECONDS=STATE: {text!r}") from None
    if change[1] not in (0, 1, 2) or change[0] < 0:
        raise argparse.ArgumentTypeError(f"not SECONDS=STATE (state 0-2): {text!r}")
    return change


def _start_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the UTC offset: {text!r}")
    return value


def _add_simulate(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("where to send")
    out.add_argument(
        "--tcp",
        type=_endpoint,
        metavar="[HOST:]PORT",
        help="P1 over a TCP server, like a P1 dongle (port 0: any free port)",
    )
    out.add_argument(
        "--pty", action="store_true", help="P1 on a pseudo-terminal (path printed)"
    )
    out.add_argument(
        "--stdout", action="store_true", help="P1 bytes on stdout, e.g. into 'p1 -'"
    )
    out.add_argument(
        "--s1-tcp",
        type=_endpoint,
        metavar="[HOST:]PORT",
        help="S1 samples over a TCP server (socket://HOST:PORT for the S1 port)",
    )
    out.add_argument(
        "--s1-sampling",
        type=int,
        default=40,
        choices=range(1, 41),
        metavar="N",
        help="S1 samples per second in hundreds (default 40 = 4 kHz)",
    )
    meter = parser.add_argument_group("the meter")
    meter.add_argument(
        "--wiring",
        choices=["four_wire", "three_wire", "single_phase"],
        default="four_wire",
        help="T211 on 3N400 V (default), T211 on 3x230 V, or S211",
    )
    meter.add_argument("--id", default="1SAG3105040611", help="equipment identifier")
    meter.add_argument("--no-gas", action="store_true", help="no gas meter")
    meter.add_argument("--no-water", action="store_true", help="no water meter")
    meter.add_argument(
        "--pv-kw", type=float, default=4.0, help="solar peak power (0: none)"
    )
    meter.add_argument(
        "--start",
        type=_start_time,
        metavar="ISO",
        help="meter clock at start, e.g. 2026-06-21T11:30:00+02:00 (default: now)",
    )
    meter.add_argument(
        "--breaker",
        type=_breaker_change,
        action="append",
        default=[],
        metavar="SECONDS=STATE",
        help="set the breaker after SECONDS of meter time (0 off, 1 on, 2 ready); repeatable",
    )
    run = parser.add_argument_group("how it runs")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument(
        "--catch-up",
        action="store_true",
        help="run the meter from --start to now at once, then serve (a day takes seconds)",
    )
    run.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="meter seconds per real second (default 1; 0: as fast as possible)",
    )
    run.add_argument(
        "--count", type=int, metavar="N", help="stop after N meter seconds"
    )
    faults = parser.add_argument_group("faults (rates between 0 and 1)")
    faults.add_argument(
        "--crc-errors", type=_rate, default=0.0, help="share of damaged telegrams"
    )
    faults.add_argument(
        "--silence",
        type=_rate,
        default=0.0,
        help="chance per second that the meter goes silent for 15-45 s",
    )
    faults.add_argument(
        "--disconnects",
        type=_rate,
        default=0.0,
        help="chance per second that the TCP clients are dropped",
    )
    parser.set_defaults(command=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    import asyncio
    from dataclasses import replace

    from .protocol.p1_sim import Faults, MeterConfig, P1Simulator
    from .simulate import SimulationOptions, serve

    config = MeterConfig(
        wiring=args.wiring,
        equipment_id=args.id,
        pv_peak_kw=args.pv_kw,
        faults=Faults(
            crc_error_rate=args.crc_errors,
            silence_rate=args.silence,
            disconnect_rate=args.disconnects,
        ),
    )
    if args.no_gas:
        config = replace(config, gas_id=None)
    if args.no_water:
        config = replace(config, water_id=None)
    start = args.start or datetime.now().astimezone()
    sim = P1Simulator(config, start=start, seed=args.seed)
    tcp = args.tcp
    if tcp is None and not (args.pty or args.stdout):
        tcp = ("127.0.0.1", 8088)
    options = SimulationOptions(
        tcp=tcp,
        pty=args.pty,
        stdout=args.stdout,
        s1_tcp=args.s1_tcp,
        s1_sampling=args.s1_sampling,
        speed=args.speed,
        count=args.count,
        breaker_schedule=tuple(args.breaker),
        catch_up=args.catch_up,
    )
    try:
        return asyncio.run(serve(sim, options))
    except OSError as err:
        raise InputError(f"cannot serve: {err}") from err


def _add_command(
    parser: argparse.ArgumentParser, command: Command, baudrate: int
) -> None:
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
        help=f"live port at {baudrate} 8N1: /dev/ttyUSB0, socket://host:port, rfc2217://host:port",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line (the documented contract)",
    )
    parser.set_defaults(command=command)


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


def _run_s1(args: argparse.Namespace) -> int:
    as_json: bool = args.json
    _configure_stdout(as_json)
    decoder = S1BatchDecoder()
    analyzer = S1Analyzer()
    show = _s1_json_line if as_json else format_s1_table
    try:
        with closing(read_input(args.path, args.port, baudrate=S1_BAUDRATE)) as chunks:
            for data in _batches(chunks, S1_BATCH_BYTES):
                for summary in analyzer.feed(decoder.feed(data)):
                    _write(show(summary))
    except KeyboardInterrupt:
        _s1_totals(decoder)
        raise
    # A window is printed once a frame beyond its end arrives. The unfinished one is
    # not: over a part of a cycle its values would miss the accuracy of a whole one.
    if (rest := analyzer.flush()) is not None:
        print(
            f"not summarised: input ended {rest.duration_s:.3f} s into a window "
            f"({_plural(rest.frames, 'frame')}, {rest.missed_frames} missed)",
            file=sys.stderr,
        )
    _s1_totals(decoder)
    return 0


def _batches(chunks: Iterable[bytes], size: int) -> Generator[bytes]:
    """Join small chunks until ``size`` bytes (or the end): one decode per batch."""
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        if len(pending) >= size:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def _s1_totals(decoder: S1BatchDecoder) -> None:
    stats = decoder.stats
    line = (
        f"{_plural(stats.frames, 'frame')}, {_plural(stats.fcs_errors, 'CRC error')}, "
        f"{stats.missed_frames} missed, {stats.discarded_bytes} bytes discarded"
    )
    if stats.invalid_sample_frames:
        line += f", {stats.invalid_sample_frames} with invalid samples"
    if set(stats.frame_types) - {STANDARD_TYPE}:
        types = ", ".join(
            f"0x{ftype:02X} x{count}"
            for ftype, count in sorted(stats.frame_types.items())
        )
        line += f"; frame types {types}"
    print(line, file=sys.stderr)


def _s1_json_line(summary: S1Summary) -> str:
    data = summary.to_dict()
    data["events"] = [event.to_dict() for event in summary.events]
    return json.dumps(data, ensure_ascii=False) + "\n"


def format_s1_table(summary: S1Summary) -> str:
    """Return one S1 window as a readable table (ends with a blank line)."""
    end = summary.start_s + summary.duration_s
    if not summary.polyphase:
        wiring = "single-phase"
    elif summary.four_wire:
        wiring = "3-phase 4-wire"
    else:
        wiring = "3-phase 3-wire (Aron: L1 = U12, L3 = U32)"
    sampling = summary.sampling.replace("_", " ")
    frequency = _number(summary.frequency_hz, ".3f", " Hz")
    counts = (
        f"{_plural(summary.frames, 'frame')}, "
        f"{_plural(summary.crc_errors, 'CRC error')}, {summary.missed_frames} missed"
    )
    lines = [
        f"S1 {summary.start_s:.3f}-{end:.3f} s  meter {summary.meter_id}  {wiring}",
        f"  {summary.sample_rate_hz:.2f} samples/s ({sampling}), {frequency}; {counts}",
    ]
    rows: list[tuple[str, ...]] = [
        ("", "U V", "I A", "P W", "S VA", "N var", "PF", "THD U %", "THD I %")
    ]
    rows.extend(
        (
            name,
            _number(p.voltage_rms, ".2f"),
            _number(p.current_rms, ".3f"),
            _number(p.active_power, ".1f"),
            _number(p.apparent_power, ".1f"),
            _number(p.reactive_power, ".1f"),
            _number(p.power_factor, ".3f"),
            _number(p.thd_voltage, ".2f"),
            _number(p.thd_current, ".2f"),
        )
        for name, p in summary.phases.items()
    )
    if (total := summary.total) is not None:
        rows.append(
            (
                "Total",
                "",
                "",
                _number(total.active_power, ".1f"),
                _number(total.apparent_power, ".1f"),
                _number(total.reactive_power, ".1f"),
                _number(total.power_factor, ".3f"),
                "",
                "",
            )
        )
    if summary.neutral_current_rms is not None and summary.phases:
        rows.append(
            ("Neutral", "", _number(summary.neutral_current_rms, ".3f"), *[""] * 6)
        )
    if len(rows) == 1:
        lines.append("  too few samples for values")
    else:
        widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
        lines.extend(
            "  "
            + "  ".join(
                cell.ljust(width) if k == 0 else cell.rjust(width)
                for k, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            for row in rows
        )
    lines.extend(
        f"  {event.kind} {event.phase} at {event.start_s:.3f} s for {event.duration_s:.3f} s: "
        f"{event.depth_percent:.1f} % ({event.extreme_voltage:.1f} V)"
        for event in summary.events
    )
    return "\n".join(lines) + "\n\n"


def _number(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


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
    # pyserial's in_waiting of a socket:// port says only 0 or 1, so reading that
    # much would take one byte per call (far too slow for S1). There we wait with
    # select and read without a timeout: one recv per call, whatever it holds.
    tcp = url.startswith("socket://")
    try:
        port = serial.serial_for_url(
            url,
            baudrate=baudrate,
            bytesize=8,
            parity="N",
            stopbits=1,
            timeout=0 if tcp else READ_TIMEOUT,
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
                if tcp:
                    if not select.select([port], [], [], READ_TIMEOUT)[0]:
                        continue
                    data: bytes = port.read(CHUNK_SIZE)
                else:
                    # Ask only for what is there (at least one byte, waiting up to
                    # the timeout): pyserial drops a partial read when the peer closes.
                    data = port.read(port.in_waiting or 1)
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
