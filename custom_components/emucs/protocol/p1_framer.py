"""Cut a P1 byte stream into CRC-checked telegrams.

The framer accepts chunks of any size, never raises and never holds more than
``max_size`` bytes. A telegram runs from ``/`` to ``!`` plus four hex digits; it is
emitted as soon as the last CRC digit arrives (the CRLF after it is not waited for).
A ``/`` before the ``!`` means the telegram was cut short: the framer restarts there, so
a damaged telegram never costs the valid one that follows.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from .crc import crc16_arc

__all__ = ["MAX_TELEGRAM_SIZE", "FramerStats", "P1Framer", "RejectReason", "Rejection"]

MAX_TELEGRAM_SIZE: Final = 16 * 1024
"""Longest telegram accepted: 13 months of history and 8 M-Bus channels need < 3 KiB."""

_HEX: Final = frozenset(b"0123456789ABCDEFabcdef")


class RejectReason(Enum):
    """Why a candidate telegram was dropped."""

    CRC_MISMATCH = "crc_mismatch"
    """The CRC digits do not match the bytes (line noise, wrong baud rate)."""
    BAD_CRC_FIELD = "bad_crc_field"
    """``!`` is not followed by four hex digits."""
    TRUNCATED = "truncated"
    """A new ``/`` arrived before the ``!``: the telegram was cut short."""
    OVERSIZE = "oversize"
    """No ``!`` within ``max_size`` bytes."""
    UNDECODABLE = "undecodable"
    """The CRC matched but the content is not a P1 telegram (e.g. no identification line)."""


@dataclass(slots=True, frozen=True)
class Rejection:
    """A dropped candidate with the start of its bytes, for logs and diagnostics."""

    reason: RejectReason
    detail: str
    head: bytes
    """Up to the first 64 bytes of the candidate."""


@dataclass(slots=True)
class FramerStats:
    """Counters since the framer was created."""

    telegrams: int = 0
    crc_errors: int = 0
    malformed: int = 0
    """Truncated, oversize, bad CRC field or undecodable."""
    discarded_bytes: int = 0
    """Bytes outside any telegram (line noise, a partial telegram at start-up)."""
    rejections: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the counters as a plain dict."""
        return {
            "telegrams": self.telegrams,
            "crc_errors": self.crc_errors,
            "malformed": self.malformed,
            "discarded_bytes": self.discarded_bytes,
            "rejections": dict(self.rejections),
        }


class P1Framer:
    """Incremental P1 framer with CRC check and a bounded buffer."""

    __slots__ = ("_buffer", "_in_body", "_rejections", "_scan", "max_size", "stats")

    def __init__(self, max_size: int = MAX_TELEGRAM_SIZE) -> None:
        """Create a framer holding at most ``max_size`` bytes."""
        self.max_size = max_size
        self.stats = FramerStats()
        self._buffer = bytearray()
        # Offset up to which the buffered candidate is known to hold no '!' or '/'.
        self._scan = 1
        # Whether the candidate's identification line has ended (at a line break).
        self._in_body = False
        self._rejections: deque[Rejection] = deque(maxlen=32)

    @property
    def buffered(self) -> int:
        """Bytes currently held (at most ``max_size``)."""
        return len(self._buffer)

    @property
    def recent_rejections(self) -> tuple[Rejection, ...]:
        """The newest rejections (32 at most), without forgetting them."""
        return tuple(self._rejections)

    def pop_rejections(self) -> list[Rejection]:
        """Return and forget the rejections since the last call (the newest 32 at most)."""
        rejections = list(self._rejections)
        self._rejections.clear()
        return rejections

    def reset(self) -> None:
        """Drop any partial telegram, e.g. after a reconnect."""
        self._buffer.clear()
        self._scan = 1
        self._in_body = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Add bytes; return the complete telegrams with a valid CRC (``/`` to CRC digits)."""
        data = bytes(data)
        if len(data) <= self.max_size:
            return self._feed(data)
        # Take a huge chunk in slices so the buffer never exceeds twice max_size.
        telegrams: list[bytes] = []
        for offset in range(0, len(data), self.max_size):
            telegrams += self._feed(data[offset : offset + self.max_size])
        return telegrams

    def _feed(self, data: bytes) -> list[bytes]:
        buf = self._buffer
        if not buf:
            start = data.find(b"/")
            if start < 0:
                self.stats.discarded_bytes += len(data)
                return []
            self.stats.discarded_bytes += start
            buf += data[start:] if start else data
            self._scan = 1
            self._in_body = False
        else:
            buf += data
        telegrams: list[bytes] = []
        while buf:
            # buf[0] is always '/' here. Every scan starts at self._scan and runs of
            # dead candidates are dropped in one step, so the work stays O(1) per byte
            # whatever arrives: a flood of '/' or '/!' costs a few C-level scans per
            # chunk, not Python work per byte.
            if not self._in_body:
                # A '!' inside the identification line cannot end a telegram: look for
                # it only after the line break.
                newline = buf.find(b"\n", self._scan)
                last = buf.rfind(b"/", self._scan, len(buf) if newline < 0 else newline)
                if last >= 0:
                    self._reject_truncated(last)
                    continue
                if newline < 0:
                    if len(buf) > self.max_size:
                        self._reject(
                            RejectReason.OVERSIZE,
                            f"no line break within {self.max_size} bytes",
                            len(buf),
                        )
                        continue
                    self._scan = len(buf)
                    break
                self._in_body = True
                self._scan = newline + 1
            bang = buf.find(b"!", self._scan)
            last = buf.rfind(b"/", self._scan, len(buf) if bang < 0 else bang)
            if last >= 0:
                self._reject_truncated(last)
                continue
            if bang < 0:
                if len(buf) > self.max_size:
                    self._reject(
                        RejectReason.OVERSIZE,
                        f"no '!' within {self.max_size} bytes",
                        len(buf),
                    )
                    continue
                self._scan = len(buf)
                break
            if bang + 5 > self.max_size:
                # Checked before waiting for the CRC digits: otherwise a '!' late in
                # a big chunk would let the buffer (and an emitted telegram) exceed
                # max_size.
                self._reject(
                    RejectReason.OVERSIZE,
                    f"telegram longer than {self.max_size} bytes",
                    bang + 1,
                )
                continue
            if len(buf) < bang + 5:
                self._scan = bang
                break
            digits = buf[bang + 1 : bang + 5]
            if not _HEX.issuperset(digits):
                self._reject(
                    RejectReason.BAD_CRC_FIELD,
                    f"'!' followed by {bytes(digits)!r}",
                    bang + 1,
                )
                continue
            expected = int(digits, 16)
            computed = crc16_arc(memoryview(buf)[: bang + 1])
            if computed == expected:
                telegrams.append(bytes(buf[: bang + 5]))
                self.stats.telegrams += 1
                self._consume(bang + 5)
            else:
                self._reject(
                    RejectReason.CRC_MISMATCH,
                    f"CRC {digits.decode().upper()} sent, {computed:04X} computed",
                    bang + 5,
                )
        return telegrams

    def reject_undecodable(self, telegram: bytes, detail: str) -> None:
        """Count an emitted telegram that its decoder refused."""
        self.stats.telegrams -= 1
        self._count(Rejection(RejectReason.UNDECODABLE, detail, telegram[:64]))

    def _reject(self, reason: RejectReason, detail: str, end: int) -> None:
        """Drop the candidate up to ``end`` and count why."""
        self._count(Rejection(reason, detail, bytes(self._buffer[: min(end, 64)])))
        self._consume(end)

    def _reject_truncated(self, last: int) -> None:
        """Drop every candidate before the '/' at ``last``: each was cut short.

        All of them are counted, but one rejection is recorded for the run: a burst
        of '/' must not cost an object per byte.
        """
        cut = self._buffer.count(b"/", 0, last)
        detail = "a new telegram started before '!'"
        if cut > 1:
            detail += f" ({cut} telegrams in a row)"
        head = bytes(self._buffer[: min(last, 64)])
        self._count(Rejection(RejectReason.TRUNCATED, detail, head), cut)
        self._consume(last)

    def _count(self, rejection: Rejection, times: int = 1) -> None:
        self._rejections.append(rejection)
        stats = self.stats
        if rejection.reason is RejectReason.CRC_MISMATCH:
            stats.crc_errors += times
        else:
            stats.malformed += times
        key = rejection.reason.value
        stats.rejections[key] = stats.rejections.get(key, 0) + times

    def _consume(self, end: int) -> None:
        """Drop ``buf[:end]`` and everything up to the next ``/``."""
        buf = self._buffer
        start = buf.find(b"/", end)
        if start < 0:
            self.stats.discarded_bytes += len(buf) - end
            buf.clear()
        else:
            self.stats.discarded_bytes += start - end
            del buf[:start]
        self._scan = 1
        self._in_body = False
