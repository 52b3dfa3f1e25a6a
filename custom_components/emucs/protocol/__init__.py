"""Sans-IO protocol core of eMUCS: no Home Assistant import here.

P1: ``P1Framer`` cuts a byte stream into CRC-checked telegrams, ``decode_telegram``
turns one into a ``Telegram``; ``P1Stream`` does both. The object table lives in
``obis``.
"""

from __future__ import annotations

from .crc import crc16_arc, crc16_x25
from .errors import EmucsError, P1DecodeError
from .p1 import (
    CosemObject,
    MBusDevice,
    MBusReading,
    PeakRecord,
    Telegram,
    decode_telegram,
    parse_timestamp,
)
from .p1_framer import MAX_TELEGRAM_SIZE, FramerStats, P1Framer, Rejection, RejectReason
from .p1_stream import P1Stream

__all__ = [
    "MAX_TELEGRAM_SIZE",
    "CosemObject",
    "EmucsError",
    "FramerStats",
    "MBusDevice",
    "MBusReading",
    "P1DecodeError",
    "P1Framer",
    "P1Stream",
    "PeakRecord",
    "RejectReason",
    "Rejection",
    "Telegram",
    "crc16_arc",
    "crc16_x25",
    "decode_telegram",
    "parse_timestamp",
]
