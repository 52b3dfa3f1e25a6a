"""Serve a simulated meter: ``python -m custom_components.emucs simulate``.

The P1 telegrams of ``protocol.p1_sim`` go, once per meter second, to every client of a
TCP server (like a P1 Wi-Fi dongle or ser2net), to a pseudo-terminal (like a USB P1
cable) and/or to stdout. The S1 port, when asked for, is a second TCP server sending
the samples of ``protocol.s1_sim`` that match the P1 powers. Like the rest of the command
line, this module imports no Home Assistant code.

``--speed N`` runs the meter clock N times faster than real time (``0``: as fast as
possible, for ``--count``). SIGUSR1 cycles the breaker: connected → disconnected →
ready for reconnection → connected. SIGTERM and SIGINT stop it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
import math
import os
import signal
import sys
import tty
from typing import Final

from .protocol.p1_sim import P1Simulator, Tick
from .protocol.s1_sim import PhaseSignal, S1Simulator, SimConfig, harmonics

__all__ = ["BroadcastServer", "SimulationOptions", "serve"]

BREAKER_NAMES: Final = {0: "disconnected", 1: "connected", 2: "ready for reconnection"}
P1_BUFFER_LIMIT: Final = 64 * 1024
"""A client further behind than this misses telegrams, as on a real serial line."""
S1_BUFFER_LIMIT: Final = 2 * 1024 * 1024
S1_SLICES: Final = 10
"""An S1 second is sent in this many pieces, spread over the second."""
S1_CURRENT_HARMONICS: Final = harmonics((3, 0.12), (5, 0.07), (7, 0.03))


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationOptions:
    """Where and how fast to serve."""

    tcp: tuple[str, int] | None = None
    pty: bool = False
    stdout: bool = False
    s1_tcp: tuple[str, int] | None = None
    s1_sampling: int = 40
    """S1 sampling byte: × 100 Hz."""
    speed: float = 1.0
    count: int | None = None
    """Stop after this many meter seconds; ``None`` runs until stopped."""
    breaker_schedule: tuple[tuple[int, int], ...] = ()
    """(meter seconds since start, breaker state) pairs."""
    catch_up: bool = False
    """Fast-forward the meter from its start to the wall clock before serving."""


def _log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


class BroadcastServer:
    """A TCP server that sends the same bytes to every connected client."""

    def __init__(self, name: str, buffer_limit: int) -> None:
        """Name it for the log; clients further behind than ``buffer_limit`` skip data."""
        self.name = name
        self._limit = buffer_limit
        self._clients: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host``:``port`` (0: a free port, see ``port``)."""
        self._server = await asyncio.start_server(self._accept, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        _log(f"{self.name} on tcp://{host}:{self.port}")

    @property
    def has_clients(self) -> bool:
        """Whether anybody listens."""
        return bool(self._clients)

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._clients.add(writer)
        try:
            # Nothing is expected from the client; reading tells when it leaves.
            while await reader.read(1024):
                pass
        except OSError:
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    def send(self, data: bytes) -> None:
        """Queue ``data`` for every client that keeps up."""
        for writer in list(self._clients):
            if writer.is_closing():
                self._clients.discard(writer)
            elif writer.transport.get_write_buffer_size() < self._limit:
                writer.write(data)

    def drop_clients(self) -> int:
        """Close every connection (a fault); return how many there were."""
        dropped = len(self._clients)
        for writer in self._clients:
            writer.transport.abort()
        self._clients.clear()
        return dropped

    async def close(self) -> None:
        """Stop listening and drop the clients."""
        self.drop_clients()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class PtyPort:
    """A pseudo-terminal: open ``path`` as if it were the meter's serial port."""

    def __init__(self) -> None:
        """Create it; the slave stays open here so writes never fail when unread."""
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        _log(f"P1 on pseudo-terminal {self.path}")

    def send(self, data: bytes) -> None:
        """Write ``data``; drop it when nobody reads and the buffer is full."""
        with contextlib.suppress(BlockingIOError):
            os.write(self._master, data)

    def close(self) -> None:
        """Close both ends."""
        for fd in (self._master, self._slave):
            os.close(fd)


def s1_config(
    sim: P1Simulator, tick: Tick, sampling: int, first_sequence: int
) -> SimConfig:
    """S1 signals for this second: the P1 phase powers at the P1 voltages."""
    wiring = sim.config.wiring
    if wiring == "three_wire":
        # The S1 simulator takes star quantities; the meter shows line voltages.
        line = max(tick.voltage_v[0], 1.0)
        volts = [line / math.sqrt(3.0)] * 3
    else:
        volts = [v or 230.0 for v in tick.voltage_v] + [230.0] * 2
    signals = tuple(
        PhaseSignal(
            voltage_rms=volts[k],
            current_rms=abs(tick.phase_power_w[k]) / volts[k],
            current_lag_deg=180.0 if tick.phase_power_w[k] < 0 else 10.0,
            current_harmonics=S1_CURRENT_HARMONICS,
        )
        for k in range(sim.config.phases)
    )
    return SimConfig(
        wiring=wiring,
        phases=signals,
        sampling=sampling,
        meter_id=sim.config.equipment_id,
        first_sequence=first_sequence,
    )


async def serve(sim: P1Simulator, options: SimulationOptions) -> int:
    """Run the meter until ``options.count`` seconds, SIGTERM or SIGINT; return 0."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def cycle_breaker() -> None:
        sim.set_breaker({1: 0, 0: 2, 2: 1}[sim.breaker])
        _log(f"breaker: {sim.breaker} ({BREAKER_NAMES[sim.breaker]})")

    loop.add_signal_handler(signal.SIGUSR1, cycle_breaker)

    if options.catch_up:
        now = datetime.now(UTC)
        while sim.time < now:
            sim.step(build=False)
    p1_server = s1_server = None
    pty = None
    sinks: list[Callable[[bytes], None]] = []
    try:
        if options.tcp is not None:
            p1_server = BroadcastServer("P1", P1_BUFFER_LIMIT)
            await p1_server.start(*options.tcp)
            sinks.append(p1_server.send)
        if options.pty:
            pty = PtyPort()
            sinks.append(pty.send)
        if options.stdout:
            sinks.append(_write_stdout)
        if options.s1_tcp is not None:
            s1_server = BroadcastServer("S1", S1_BUFFER_LIMIT)
            await s1_server.start(*options.s1_tcp)
        _log(
            f"meter {sim.config.equipment_id}, clock {sim.local_time():%Y-%m-%d %H:%M:%S}"
        )
        await _run(
            sim,
            options=options,
            stop=stop,
            sinks=sinks,
            p1_server=p1_server,
            s1_server=s1_server,
        )
    finally:
        for server in (p1_server, s1_server):
            if server is not None:
                await server.close()
        if pty is not None:
            pty.close()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            loop.remove_signal_handler(signum)
    return 0


async def _run(
    sim: P1Simulator,
    *,
    options: SimulationOptions,
    stop: asyncio.Event,
    sinks: list[Callable[[bytes], None]],
    p1_server: BroadcastServer | None,
    s1_server: BroadcastServer | None,
) -> None:
    loop = asyncio.get_running_loop()
    interval = 1.0 / options.speed if options.speed > 0 else 0.0
    schedule = dict(options.breaker_schedule)
    sequence = 0
    deadline = loop.time()
    elapsed = 0
    silent = False
    while not stop.is_set() and (options.count is None or elapsed < options.count):
        if (state := schedule.get(elapsed)) is not None:
            sim.set_breaker(state)
            _log(f"breaker: {state} ({BREAKER_NAMES[state]})")
        tick = sim.step()
        elapsed += 1
        if tick.disconnect and p1_server is not None and p1_server.drop_clients():
            _log("fault: P1 clients dropped")
        if (tick.telegram is None) != silent:
            silent = tick.telegram is None
            _log("fault: meter silent" if silent else "meter sends again")
        if tick.telegram is not None:
            for sink in sinks:
                sink(tick.telegram)
        slices = [b""]
        if s1_server is not None and s1_server.has_clients:
            # One simulator per second, continuing the sequence numbers: a whole
            # second holds whole cycles, so the waveforms continue too.
            config = s1_config(sim, tick, options.s1_sampling, sequence)
            s1 = S1Simulator(config, seed=elapsed)
            per_slice = round(config.sample_rate_hz) // S1_SLICES
            slices = [s1.generate(samples=per_slice) for _ in range(S1_SLICES)]
            sequence = (sequence + per_slice * S1_SLICES) & 0xFF
        for k, data in enumerate(slices):
            if data and s1_server is not None:
                s1_server.send(data)
            if interval:
                target = deadline + interval * (k + 1) / len(slices)
                await _sleep_until(loop, target, stop)
            else:
                await asyncio.sleep(0)  # let the servers' clients in
        deadline += interval
        if loop.time() - deadline > 2.0:
            deadline = loop.time()  # suspended or overloaded: do not rush to catch up


async def _sleep_until(
    loop: asyncio.AbstractEventLoop, when: float, stop: asyncio.Event
) -> None:
    delay = when - loop.time()
    if delay > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)


def _write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
