"""Bytes in, decoded telegrams out: the framer and the decoder together."""

from __future__ import annotations

from .errors import P1DecodeError
from .p1 import Telegram, decode_telegram
from .p1_framer import MAX_TELEGRAM_SIZE, FramerStats, P1Framer, Rejection

__all__ = ["P1Stream"]


class P1Stream:
    """Feed it whatever the port delivers; it returns the valid telegrams, decoded.

    Never raises on input. Rejected candidates are counted in ``stats`` and the
    newest are available from ``pop_rejections``.
    """

    __slots__ = ("framer",)

    def __init__(self, max_size: int = MAX_TELEGRAM_SIZE) -> None:
        """Create a stream holding at most ``max_size`` buffered bytes."""
        self.framer = P1Framer(max_size)

    @property
    def stats(self) -> FramerStats:
        """Counters since creation."""
        return self.framer.stats

    def feed(self, data: bytes | bytearray | memoryview) -> list[Telegram]:
        """Add bytes; return the telegrams they completed."""
        telegrams = []
        for raw in self.framer.feed(data):
            try:
                telegrams.append(decode_telegram(raw, verify_crc=False))
            except P1DecodeError as err:
                self.framer.reject_undecodable(raw, str(err))
        return telegrams

    def pop_rejections(self) -> list[Rejection]:
        """Return and forget the rejections since the last call."""
        return self.framer.pop_rejections()

    def reset(self) -> None:
        """Drop any partial telegram, e.g. after a reconnect."""
        self.framer.reset()
