"""Sans-IO protocol core of eMUCS: no Home Assistant import here.

P1: ``P1Framer`` cuts a byte stream into CRC-checked telegrams, ``decode_telegram``
turns one into a ``Telegram``; ``P1Stream`` does both. The object table lives in
``obis``.

S1: ``S1Framer`` and ``decode_frame`` are the per-frame reference decoder,
``S1BatchDecoder`` the vectorized one; ``S1Analyzer`` turns frames into
power-quality summaries; ``s1_sim`` synthesises streams.
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
from .s1 import FRAME_SIZE, S1Frame, S1Framer, S1Stats, decode_frame
from .s1_analytics import PhaseValues, S1Analyzer, S1Summary, TotalValues, VoltageEvent
from .s1_batch import S1Batch, S1BatchDecoder

__all__ = [
    "FRAME_SIZE",
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
    "PhaseValues",
    "RejectReason",
    "Rejection",
    "S1Analyzer",
    "S1Batch",
    "S1BatchDecoder",
    "S1Frame",
    "S1Framer",
    "S1Stats",
    "S1Summary",
    "Telegram",
    "TotalValues",
    "VoltageEvent",
    "crc16_arc",
    "crc16_x25",
    "decode_frame",
    "decode_telegram",
    "parse_timestamp",
]
