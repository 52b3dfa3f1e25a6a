"""Meters that send real P1 telegram bytes, for the Home Assistant tests.

Two transports, both real and both at the meter's pace (one telegram per
``interval`` seconds, 0.2 s by default to keep tests quick):

- ``PtyMeter``: a pseudo-terminal (``os.openpty``). The integration opens
  ``meter.path`` (the slave, e.g. ``/dev/pts/7``) with pyserial exactly as it
  opens a USB P1 cable; the fixture writes the telegrams into the master.
- ``TcpMeter``: a loopback TCP server (127.0.0.1, port chosen by the OS), like a
  Wi-Fi/Ethernet P1 dongle or ser2net. It can drop its clients and stop and
  restart on the same port, for reconnect tests.

Set ``meter.payload`` at any time: the bytes sent every interval (one or more
telegrams, or garbage), or ``None`` for a meter whose P1 port is closed.
``make_pty_meter`` / ``make_tcp_meter`` create more meters in one test; every
meter is stopped at teardown, before Home Assistant's lingering-task check.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
import contextlib
import os
from pathlib import Path
import tty
from unittest.mock import PropertyMock, patch

from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from custom_components.emucs import connection
from custom_components.emucs.protocol.s1 import FRAME_SIZE
from custom_components.emucs.protocol.s1_sim import (
    Disturbance,
    PhaseSignal,
    S1Simulator,
    SimConfig,
)
from tests.telegrams import build_telegram, load_template

DEFAULT_INTERVAL = 0.2
"""Seconds between two telegrams (a real meter: 1 s)."""

SPEC_TELEGRAM = build_telegram(load_template("spec_e21_3phase.txt"))
"""eMUCS E.2.1 three-phase example: meter 1SAG3101021605, gas and water."""
SPEC_EQUIPMENT_ID = "1SAG3101021605"
SPEC_TITLE = f"T211 {SPEC_EQUIPMENT_ID}"

BAD_CRC_TELEGRAM = SPEC_TELEGRAM.replace(b"234.7*V", b"234.8*V", 1)
"""The spec telegram with one digit changed after its CRC was computed."""

DUTCH_TELEGRAM = build_telegram(
    "/ISK5\\2M550T-1012\n"
    "\n"
    "1-3:0.2.8(50)\n"
    "0-0:1.0.0(200512135409S)\n"
    "1-0:1.8.1(000123.456*kWh)\n"
    "1-0:1.8.2(000234.567*kWh)\n"
    "1-0:2.8.1(000000.000*kWh)\n"
    "1-0:2.8.2(000000.000*kWh)\n"
    "0-0:96.14.0(0002)\n"
    "1-0:1.7.0(00.345*kW)\n"
    "1-0:2.7.0(00.000*kW)\n"
    "1-0:32.7.0(229.0*V)\n"
    "1-0:31.7.0(002*A)\n"
    "!XXXX\n"
)
"""A valid Dutch DSMR 5.0 telegram: no eMUCS version (0-0:96.1.4), no 0-0:96.1.1."""


class FakeMeter:
    """What both transports share: the bytes to send and the pace."""

    def __init__(self, payload: bytes | None, interval: float) -> None:
        """Send ``payload`` every ``interval`` seconds once started."""
        self.payload = payload
        self.interval = interval


class PtyMeter(FakeMeter):
    """A meter on a pseudo-terminal; open ``path`` as a serial port."""

    def __init__(
        self, payload: bytes | None = SPEC_TELEGRAM, interval: float = DEFAULT_INTERVAL
    ) -> None:
        """Create the pseudo-terminal; nothing is written until ``start``."""
        super().__init__(payload, interval)
        self._master, self._slave = os.openpty()
        # Raw, no echo: what the integration writes must not come back as input.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start writing from the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._write_forever())

    async def _write_forever(self) -> None:
        while True:
            if self.payload is not None:
                # The fixture keeps the slave open, so writes never fail with EIO;
                # with nobody reading, the buffer fills up: drop, like a meter.
                with contextlib.suppress(BlockingIOError):
                    os.write(self._master, self.payload)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Stop writing and close both ends (the path disappears); idempotent."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # Close once only: a second close would hit whatever reused the numbers.
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1


class TcpMeter(FakeMeter):
    """A meter behind a TCP server on 127.0.0.1 (a P1 dongle, ser2net)."""

    host = "127.0.0.1"

    def __init__(
        self, payload: bytes | None = SPEC_TELEGRAM, interval: float = DEFAULT_INTERVAL
    ) -> None:
        """Prepare the server; it listens after ``start``."""
        super().__init__(payload, interval)
        self.port = 0
        self.connections = 0
        """Clients accepted since creation."""
        self._server: asyncio.Server | None = None
        self._clients: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def url(self) -> str:
        """The pyserial URL of this meter (``socket://127.0.0.1:port``)."""
        return f"socket://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen (again) on the same port; the first start picks a free one."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(
        self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients[task] = writer
        self.connections += 1
        try:
            while True:
                if self.payload is not None:
                    writer.write(self.payload)
                    await writer.drain()
                await asyncio.sleep(self.interval)
        except ConnectionError:
            pass  # the client went away
        finally:
            self._clients.pop(task, None)
            writer.close()

    async def disconnect_clients(self) -> None:
        """Drop every client connection; keep listening."""
        tasks = list(self._clients)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop listening and drop every client (``start`` brings it back)."""
        if self._server is not None:
            self._server.close()
        await self.disconnect_clients()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


SIGNALS = (
    PhaseSignal(current_rms=10.0, current_lag_deg=30.0),
    PhaseSignal(current_rms=5.0),
    PhaseSignal(current_rms=2.0),
)
# 2 kHz keeps the pseudo-terminal comfortably ahead (90 kB/s).
CONFIG = SimConfig.four_wire(
    *SIGNALS,
    sampling=20,
    neutral_measured=True,
    disturbances=(Disturbance(phase="L2", start_s=2.3, duration_s=0.2, factor=0.6),),
)
CHUNK_S = 0.05


class S1PtyMeter:
    """Streams a simulated S1 meter into a pseudo-terminal at its real pace."""

    def __init__(self, config: SimConfig) -> None:
        """Open the pseudo-terminal; nothing is written until ``start``."""
        self._sim = S1Simulator(config, seed=1)
        self._rate = config.sample_rate_hz
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._task: asyncio.Task[None] | None = None
        self.pending = b""
        self.paused = False
        """While set, the meter sends nothing (its time goes on)."""

    def start(self) -> None:
        """Start writing from the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        os.set_blocking(self._master, False)
        while True:
            if self.paused:
                self._sim.generate(CHUNK_S)
                await asyncio.sleep(CHUNK_S)
                continue
            if len(self.pending) < 4 * FRAME_SIZE * int(self._rate * CHUNK_S):
                self.pending += self._sim.generate(CHUNK_S)
            with contextlib.suppress(BlockingIOError):
                written = os.write(self._master, self.pending)
                self.pending = self.pending[written:]
            await asyncio.sleep(CHUNK_S)

    async def stop(self) -> None:
        """Stop writing and close both ends."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
async def make_pty_meter() -> AsyncGenerator[Callable[..., PtyMeter]]:
    """Return a factory of started pseudo-terminal meters, all stopped at teardown."""
    meters: list[PtyMeter] = []

    def _make(
        payload: bytes | None = SPEC_TELEGRAM, interval: float = DEFAULT_INTERVAL
    ) -> PtyMeter:
        meter = PtyMeter(payload, interval)
        meter.start()
        meters.append(meter)
        return meter

    yield _make
    for meter in meters:
        await meter.stop()


@pytest.fixture
async def pty_meter(make_pty_meter: Callable[..., PtyMeter]) -> PtyMeter:
    """Return a meter sending the eMUCS E.2.1 three-phase telegram on a PTY."""
    return make_pty_meter()


@pytest.fixture
async def make_tcp_meter(
    socket_enabled: None,
) -> AsyncGenerator[Callable[..., Awaitable[TcpMeter]]]:
    """Return a factory of listening loopback TCP meters, all stopped at teardown."""
    meters: list[TcpMeter] = []

    async def _make(
        payload: bytes | None = SPEC_TELEGRAM, interval: float = DEFAULT_INTERVAL
    ) -> TcpMeter:
        meter = TcpMeter(payload, interval)
        await meter.start()
        meters.append(meter)
        return meter

    yield _make
    for meter in meters:
        await meter.stop()


@pytest.fixture
async def tcp_meter(make_tcp_meter: Callable[..., Awaitable[TcpMeter]]) -> TcpMeter:
    """Return a loopback TCP meter sending the eMUCS E.2.1 three-phase telegram."""
    return await make_tcp_meter()


@pytest.fixture
async def s1_meter() -> AsyncGenerator[S1PtyMeter]:
    """Return a running S1 meter on a pseudo-terminal."""
    meter = S1PtyMeter(CONFIG)
    meter.start()
    yield meter
    await meter.stop()


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities that are disabled by default as enabled (HA core's fixture)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconnect after 0.05-0.2 s instead of 1-60 s."""
    monkeypatch.setattr(connection, "MIN_BACKOFF", 0.05)
    monkeypatch.setattr(connection, "MAX_BACKOFF", 0.2)


@pytest.fixture(autouse=True)
def no_deprecation_warnings(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail any test in which Home Assistant or we log a deprecation.

    HA reports what a custom integration (or a test) does that will break with
    "deprecated", "Detected that custom integration …" or "Detected code that …".
    """
    yield
    reported = [
        message
        for record in caplog.records
        if "deprecat" in (message := record.getMessage()).lower()
        or "Detected that custom integration" in message
        or "Detected code that" in message
    ]
    assert not reported


HA_SERIES = f"{MAJOR_VERSION}.{MINOR_VERSION}"
SNAPSHOTS = Path(__file__).parent / "snapshots" / f"ha{HA_SERIES}"
"""Snapshots per Home Assistant release: registry entries gain fields between
releases (e.g. ``object_id_base`` in 2026.x), so one set cannot serve all."""


class VersionedSnapshotExtension(HomeAssistantSnapshotExtension):
    """Home Assistant's serializer, with the files of this HA release."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """Return ``snapshots/ha<release>`` beside the test files."""
        return str(SNAPSHOTS)


@pytest.fixture
def snapshot(
    snapshot: SnapshotAssertion, request: pytest.FixtureRequest
) -> SnapshotAssertion:
    """Serialize states and registry entries as Home Assistant's own tests do.

    pytest-homeassistant-custom-component defines this fixture too, but syrupy's
    plugin fixture of the same name wins over it. On a release without recorded
    snapshots the test fails, saying how to record them: an HA upgrade must never
    switch the snapshot tests off silently.
    """
    if not SNAPSHOTS.is_dir() and not request.config.option.update_snapshots:
        pytest.fail(
            f"no snapshots recorded for Home Assistant {HA_SERIES}: record them "
            "with scripts/test tests/components --snapshot-update and review them"
        )
    return snapshot.use_extension(VersionedSnapshotExtension)
