"""Sans-IO protocol core of eMUCS: no Home Assistant import here.

P1: ``P1Framer`` cuts a byte stream into CRC-checked telegrams, ``decode_telegram``
turns one into a ``Telegram``; ``P1Stream`` does both. The object table lives in
``obis``.

S1: ``S1Framer`` and ``decode_frame`` are the per-frame reference decoder,
``S1BatchDecoder`` the vectorized one; ``S1Analyzer`` turns frames into
power-quality summaries; ``s1_sim`` synthesises streams. The numpy-based names
(``S1BatchDecoder``, ``S1Analyzer`` and their results) are imported on first use,
so P1 users never pay numpy's import time.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .s1_analytics import (
        PhaseValues,
        S1Analyzer,
        S1Summary,
        TotalValues,
        VoltageEvent,
    )
    from .s1_batch import S1Batch, S1BatchDecoder

_NUMPY_NAMES = {
    "PhaseValues": "s1_analytics",
    "S1Analyzer": "s1_analytics",
    "S1Summary": "s1_analytics",
    "TotalValues": "s1_analytics",
    "VoltageEvent": "s1_analytics",
    "S1Batch": "s1_batch",
    "S1BatchDecoder": "s1_batch",
}

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


def __getattr__(name: str) -> Any:
    """Import the numpy-based S1 names on first use."""
    if (module := _NUMPY_NAMES.get(name)) is not None:
        return getattr(import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
