"""The parser and the commands ``p1``, ``s1`` and ``simulate`` (see the package docstring)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from contextlib import closing
import io
import os
import sys
from typing import TYPE_CHECKING, Final

from custom_components.emucs import simulate_options
from custom_components.emucs.protocol.p1 import P1_BAUDRATE
from custom_components.emucs.protocol.p1_framer import Rejection
from custom_components.emucs.protocol.p1_stream import P1Stream
from custom_components.emucs.protocol.s1 import S1_BAUDRATE, STANDARD_TYPE

from . import p1_format, s1_format
from .readers import InputError, batches, read_input
from .text import plural

if TYPE_CHECKING:
    from custom_components.emucs.protocol.s1_batch import S1BatchDecoder

__all__ = ["build_parser", "main"]

S1_BATCH_BYTES: Final = 18_000
"""About 100 ms of a 4 kHz stream: a port's small reads are decoded in batches."""
EXIT_INPUT_ERROR: Final = 2
EXIT_INTERRUPTED: Final = 130
EXIT_BROKEN_PIPE: Final = 141

type Command = Callable[[argparse.Namespace], int]


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
    """Return the parser: one subcommand per meter port, and the simulator."""
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
    simulate = commands.add_parser(
        "simulate",
        help="serve a simulated meter over TCP, a pseudo-terminal or stdout",
        description="Serve the P1 telegrams (and S1 samples) of a simulated Belgian "
        "household, once per second: base load, cooking peaks, solar export at noon, "
        "gas and water every 5 minutes, quarter-hour demand and monthly peaks. "
        "Without --tcp, --pty or --stdout it listens on 127.0.0.1:8088. "
        "SIGUSR1 cycles the breaker.",
    )
    simulate_options.add_arguments(simulate)
    simulate.set_defaults(command=_run_simulate)
    return parser


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


def _run_simulate(args: argparse.Namespace) -> int:
    try:
        return simulate_options.run(args)
    except OSError as err:
        raise InputError(f"cannot serve: {err}") from err


def _run_p1(args: argparse.Namespace) -> int:
    as_json: bool = args.json
    _configure_stdout(as_json)
    show = p1_format.json_line if as_json else p1_format.format_table
    stream = P1Stream()
    shown = 0
    try:
        with closing(read_input(args.path, args.port, baudrate=P1_BAUDRATE)) as chunks:
            for chunk in chunks:
                for telegram in stream.feed(chunk):
                    _write(show(telegram))
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
        f"{plural(stats.telegrams, 'telegram')}, {rejected} rejected", file=sys.stderr
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
    # Imported here: numpy is needed for S1 only.
    from custom_components.emucs.protocol.s1_analytics import S1Analyzer
    from custom_components.emucs.protocol.s1_batch import S1BatchDecoder

    as_json: bool = args.json
    _configure_stdout(as_json)
    decoder = S1BatchDecoder()
    analyzer = S1Analyzer()
    show = s1_format.json_line if as_json else s1_format.format_s1_table
    try:
        with closing(read_input(args.path, args.port, baudrate=S1_BAUDRATE)) as chunks:
            for data in batches(chunks, S1_BATCH_BYTES):
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
            f"({plural(rest.frames, 'frame')}, {rest.missed_frames} missed)",
            file=sys.stderr,
        )
    _s1_totals(decoder)
    return 0


def _s1_totals(decoder: S1BatchDecoder) -> None:
    stats = decoder.stats
    line = (
        f"{plural(stats.frames, 'frame')}, {plural(stats.fcs_errors, 'CRC error')}, "
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
