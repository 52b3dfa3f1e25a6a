"""Meter links: open a serial port or TCP socket, feed the P1 stream, reconnect.

No Home Assistant import here: the coordinator hands in callbacks. The asyncio side
only moves bytes into the framer; every callback is guarded so that no exception
escapes into the transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
from enum import Enum
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import serial
import serial_asyncio_fast

from .const import DEFAULT_SILENCE_TIMEOUT
from .protocol import EmucsError, P1Stream, S1Framer, Telegram
from .protocol.p1 import P1_BAUDRATE
from .protocol.s1 import S1_BAUDRATE

_LOGGER = logging.getLogger(__name__)

MIN_BACKOFF = 1.0
MAX_BACKOFF = 60.0
CLOSE_TIMEOUT = 5.0
"""Seconds to wait for a port to be released on unload."""
OPEN_TIMEOUT = 10.0
"""Seconds an open may take: a TCP connect to a dead dongle otherwise hangs ~2 min."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkTarget:
    """Where the meter is: a serial device/pyserial URL, or a TCP host and port."""

    device: str | None = None
    host: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        """Return a readable form for logs."""
        return self.device if self.device is not None else f"{self.host}:{self.port}"

    @classmethod
    def from_url(cls, url: str) -> LinkTarget:
        """``socket://host:port`` as plain TCP (faster than pyserial's socket class)."""
        parts = urlsplit(url)
        if parts.scheme == "socket" and parts.hostname and parts.port:
            return cls(host=parts.hostname, port=parts.port)
        return cls(device=url)


class LinkError(EmucsError):
    """Base of the errors a probe reports."""


class CannotOpenError(LinkError):
    """The port or socket could not be opened."""


class NoDataError(LinkError):
    """The link opened but no byte arrived (the P1 port is probably closed)."""


class BadDataError(LinkError):
    """Bytes arrived but no telegram passed its CRC (cable, baud rate)."""


class NotEmucsError(LinkError):
    """Valid telegrams arrived but they are not Belgian eMUCS telegrams."""

    def __init__(self, seen: str) -> None:
        """Remember what was seen, for the user."""
        super().__init__(f"not an eMUCS telegram: {seen}")
        self.seen = seen


class LinkEvent(Enum):
    """What the connection tells its owner besides telegrams."""

    OPENED = "opened"
    LOST = "lost"
    SILENT = "silent"
    OPEN_FAILED = "open_failed"


@dataclass(slots=True)
class LinkStats:
    """Counters of one connection manager, for diagnostics and sensors."""

    connects: int = 0
    disconnects: int = 0
    bytes_received: int = 0
    last_telegram: float | None = None
    """``time.monotonic()`` of the last valid telegram."""
    last_error: str | None = None
    connected: bool = False
    opened_at: float | None = None
    """``time.monotonic()`` when the current link opened, ``None`` while down."""

    def as_dict(self) -> dict[str, Any]:
        """Return the counters as a plain dict."""
        return {
            "connects": self.connects,
            "disconnects": self.disconnects,
            "bytes_received": self.bytes_received,
            "connected": self.connected,
            "last_error": self.last_error,
            "seconds_since_last_telegram": None
            if self.last_telegram is None
            else round(time.monotonic() - self.last_telegram, 1),
        }


class _LinkProtocol(asyncio.Protocol):
    """Hands received bytes on; never lets an exception escape into the transport."""

    def __init__(self, on_data: Callable[[bytes], None]) -> None:
        self._on_data = on_data
        self.closed: asyncio.Future[Exception | None] = (
            asyncio.get_running_loop().create_future()
        )

    def data_received(self, data: bytes) -> None:
        try:
            self._on_data(data)
        except Exception:
            _LOGGER.exception("Error handling data from the meter")

    def eof_received(self) -> bool | None:
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)


async def _connect(
    target: LinkTarget, protocol_factory: Callable[[], asyncio.Protocol], baudrate: int
) -> tuple[asyncio.BaseTransport, asyncio.Protocol]:
    loop = asyncio.get_running_loop()
    if target.device is not None:
        return await serial_asyncio_fast.create_serial_connection(
            loop, protocol_factory, target.device, baudrate=baudrate
        )
    if target.host is None or target.port is None:
        raise ValueError("a link target needs a device or a host and port")
    return await loop.create_connection(protocol_factory, target.host, target.port)


async def _open(
    target: LinkTarget, protocol_factory: Callable[[], asyncio.Protocol], baudrate: int
) -> tuple[asyncio.BaseTransport, asyncio.Protocol]:
    """Open the link. Raises CannotOpenError."""
    try:
        async with asyncio.timeout(OPEN_TIMEOUT):
            return await _connect(target, protocol_factory, baudrate)
    except TimeoutError as err:
        raise CannotOpenError(f"no answer within {OPEN_TIMEOUT:g} s") from err
    except (OSError, serial.SerialException, ValueError) as err:
        raise CannotOpenError(str(err) or type(err).__name__) from err


def _ignore(*_args: object) -> None:
    """Drop data and events until the link's owner subscribes."""


class MeterLink:
    """Keeps a link to a meter port: open, read, detect silence, reconnect with backoff.

    ``on_data`` gets every chunk of bytes; the owner calls ``mark_alive`` when the
    bytes made sense (a valid telegram or frame): silence means nothing valid. The
    owner sets ``on_data`` and ``on_event`` before ``run`` (the link is built first
    and handed to its coordinator).
    """

    def __init__(
        self,
        target: LinkTarget,
        *,
        silence_timeout: float = DEFAULT_SILENCE_TIMEOUT,
        baudrate: int = P1_BAUDRATE,
        backoff: tuple[float, float] | None = None,
    ) -> None:
        """Create a link manager; nothing is opened until ``run``."""
        self.target = target
        self.stats = LinkStats()
        self.on_data: Callable[[bytes], None] = _ignore
        self.on_event: Callable[[LinkEvent, str | None], None] = _ignore
        self._silence_timeout = silence_timeout
        self._baudrate = baudrate
        # Read the module constants now, not at import: tests shorten them.
        self._backoff = backoff or (MIN_BACKOFF, MAX_BACKOFF)
        self._link: tuple[asyncio.BaseTransport, _LinkProtocol] | None = None
        self._stopped = False

    def _emit(self, event: LinkEvent, detail: str | None) -> None:
        try:
            self.on_event(event, detail)
        except Exception:
            _LOGGER.exception("Error handling link event %s", event)

    def _data_received(self, data: bytes) -> None:
        self.stats.bytes_received += len(data)
        self.on_data(data)

    def mark_alive(self) -> None:
        """Note that valid data arrived (resets the silence watchdog)."""
        self.stats.last_telegram = time.monotonic()

    def _opened(self) -> None:
        """Start afresh on a new link; subclasses reset their decoders here."""

    async def async_connect(self) -> None:
        """Open the link; raises CannotOpenError. ``run`` then reads from it."""
        protocol = _LinkProtocol(self._data_received)
        try:
            transport, _ = await _open(self.target, lambda: protocol, self._baudrate)
        except CannotOpenError as err:
            self.stats.last_error = f"cannot open {self.target}: {err}"
            raise
        self._link = (transport, protocol)
        self._opened()
        self.stats.connects += 1
        self.stats.connected = True
        self.stats.opened_at = time.monotonic()
        self._emit(LinkEvent.OPENED, None)

    async def run(self) -> None:
        """Read, and reopen with exponential backoff, until cancelled."""
        shortest, longest = self._backoff
        delay = shortest
        while not self._stopped:
            if self._link is None:
                try:
                    await self.async_connect()
                except CannotOpenError as err:
                    self._emit(LinkEvent.OPEN_FAILED, str(err))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, longest)
                    continue
            link = self._link
            if link is not None and await self._read_until_down(*link):
                delay = shortest  # a link that delivered valid data starts afresh
            if self._stopped:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)

    async def _read_until_down(
        self, transport: asyncio.BaseTransport, protocol: _LinkProtocol
    ) -> bool:
        """Wait until the link is lost or silent; return whether valid data arrived."""
        stats = self.stats
        opened = stats.opened_at or time.monotonic()
        event, detail = LinkEvent.LOST, "connection closed"
        try:
            while True:
                last = max(opened, stats.last_telegram or opened)
                remaining = last + self._silence_timeout - time.monotonic()
                if remaining <= 0:
                    event = LinkEvent.SILENT
                    detail = f"no valid data for {self._silence_timeout:g} s"
                    break
                done, _ = await asyncio.wait({protocol.closed}, timeout=remaining)
                if done:
                    exc = protocol.closed.result()
                    detail = (
                        f"connection lost: {exc}"
                        if exc
                        else "connection closed by peer"
                    )
                    break
        finally:
            transport.close()
            self._link = None
            stats.connected = False
            stats.opened_at = None
            stats.disconnects += 1
        stats.last_error = detail
        self._emit(event, detail)
        return stats.last_telegram is not None and stats.last_telegram > opened

    def close(self) -> None:
        """Close the current link now (the run loop reconnects unless cancelled)."""
        if self._link is not None:
            self._link[0].close()

    async def async_close(self) -> None:
        """Stop reconnecting and close the link; return once the port is released.

        HA 2026.11 opens serial ports exclusively, and pyserial-asyncio-fast closes
        them in an executor: a reload must not reopen the port before that is done.
        """
        self._stopped = True
        if self._link is None:
            return
        transport, protocol = self._link
        transport.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await asyncio.shield(protocol.closed)


class P1Connection(MeterLink):
    """A P1 link: bytes go through a P1Stream, valid telegrams to ``on_telegram``."""

    def __init__(
        self,
        target: LinkTarget,
        *,
        silence_timeout: float = DEFAULT_SILENCE_TIMEOUT,
        backoff: tuple[float, float] | None = None,
    ) -> None:
        """Create a P1 link manager; nothing is opened until ``run``."""
        super().__init__(
            target,
            silence_timeout=silence_timeout,
            baudrate=P1_BAUDRATE,
            backoff=backoff,
        )
        self.on_data = self._feed
        self.stream = P1Stream()
        self.on_telegram: Callable[[Telegram], None] = _ignore

    def _opened(self) -> None:
        self.stream.reset()

    def _feed(self, data: bytes) -> None:
        for telegram in self.stream.feed(data):
            self.mark_alive()
            try:
                self.on_telegram(telegram)
            except Exception:
                _LOGGER.exception("Error handling a telegram")


async def _first_items[T](
    target: LinkTarget,
    decode: Callable[[bytes], list[T]],
    *,
    timeout: float,  # noqa: ASYNC109 - how long a meter may take to speak, not a cancel scope
    baudrate: int,
) -> tuple[list[T], int]:
    """Open the link, decode what arrives until one item or ``timeout``, close.

    Returns the items and the number of bytes received. Raises CannotOpenError.
    """
    items: list[T] = []
    received = 0
    got_one = asyncio.Event()

    def on_data(data: bytes) -> None:
        nonlocal received
        received += len(data)
        items.extend(decode(data))
        if items:
            got_one.set()

    protocol = _LinkProtocol(on_data)
    transport, _ = await _open(target, lambda: protocol, baudrate)
    waiter: asyncio.Future[Any] = asyncio.ensure_future(got_one.wait())
    try:
        await asyncio.wait(
            {waiter, protocol.closed},
            timeout=timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        waiter.cancel()
        transport.close()
    if not items and not received:
        raise NoDataError(f"no data from {target} within {timeout:g} s")
    return items, received


async def async_probe(
    target: LinkTarget,
    *,
    timeout: float,  # noqa: ASYNC109 - how long a meter may take to speak, not a cancel scope
) -> Telegram:
    """Open the link and wait for one valid eMUCS telegram.

    Raises CannotOpenError, NoDataError, BadDataError or NotEmucsError.
    """
    stream = P1Stream()
    telegrams, received = await _first_items(
        target, stream.feed, timeout=timeout, baudrate=P1_BAUDRATE
    )
    if not telegrams:
        stats = stream.stats
        raise BadDataError(
            f"{received} bytes, {stats.crc_errors} CRC errors, {stats.malformed} malformed"
        )
    telegram = telegrams[0]
    if telegram.version is None or telegram.equipment_id is None:
        raise NotEmucsError(
            f"/{telegram.header} without eMUCS version or equipment identifier"
        )
    return telegram


async def async_probe_s1(
    target: LinkTarget,
    *,
    timeout: float,  # noqa: ASYNC109 - how long a meter may take to speak, not a cancel scope
) -> str:
    """Open an S1 link and wait for one frame that passes its FCS; return the meter ID.

    Raises CannotOpenError, NoDataError or BadDataError.
    """
    framer = S1Framer()
    frames, received = await _first_items(
        target, framer.feed, timeout=timeout, baudrate=S1_BAUDRATE
    )
    if not frames:
        raise BadDataError(f"{received} bytes, {framer.stats.fcs_errors} FCS errors")
    return frames[0].meter_id
