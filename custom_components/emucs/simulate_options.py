"""The options of ``python -m custom_components.emucs simulate`` (see ``simulate``).

Apart from ``simulate`` so that building the command line parser imports neither the
simulators nor numpy.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import datetime

__all__ = ["add_arguments", "run"]


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``simulate`` to its subcommand parser."""
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


def run(args: argparse.Namespace) -> int:
    """Serve the meter the options describe; OSError when it cannot be served."""
    # Imported here: the simulators need numpy and asyncio, which starting the command
    # line for ``p1`` or ``--help`` does not (a third of its start-up time).
    import asyncio

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
    return asyncio.run(serve(sim, options))
