"""CRC-16 checks used by the meter's ports.

P1 telegrams carry CRC-16/ARC (reflected polynomial 0x8005, init 0, no final XOR).
S1 frames carry the HDLC FCS-16, i.e. CRC-16/X-25 (reflected 0x1021, init and
final XOR 0xFFFF). Both use the Rust-backed ``fastcrc`` wheel when it is installed
and fall back to table-driven pure Python that consumes 16 bits per step.
"""

from __future__ import annotations

from collections.abc import Buffer, Callable
import sys

__all__ = ["crc16_arc", "crc16_x25", "pure_crc16_arc", "pure_crc16_x25"]


def _table8(poly: int) -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


def _table16(table8: list[int]) -> list[int]:
    # One lookup consumes two bytes: for a 16-bit reflected CRC,
    # crc' = T16[crc ^ word] with word = first byte | second byte << 8. The table
    # is indexed by the native 16-bit word so memoryview.cast("H") can feed it.
    def step(word: int) -> int:
        crc = (word >> 8) ^ table8[word & 0xFF]
        return (crc >> 8) ^ table8[crc & 0xFF]

    if sys.byteorder == "little":
        return [step(word) for word in range(65536)]
    return [step(((word & 0xFF) << 8) | (word >> 8)) for word in range(65536)]


class _PureCrc16:
    """Reflected CRC-16 in pure Python, built on first use (a 64 Ki-entry table)."""

    __slots__ = ("_init", "_poly", "_t8", "_t16", "_xorout")

    def __init__(self, poly: int, init: int, xorout: int) -> None:
        self._poly = poly
        self._init = init
        self._xorout = xorout
        self._t8: list[int] = []
        self._t16: list[int] = []

    def __call__(self, data: Buffer) -> int:
        if not self._t16:
            self._t8 = _table8(self._poly)
            self._t16 = _table16(self._t8)
        view = memoryview(data).cast("B")
        even = len(view) & ~1
        crc = self._init
        t16 = self._t16
        for word in view[:even].cast("H"):
            crc = t16[crc ^ word]
        if len(view) & 1:
            crc = (crc >> 8) ^ self._t8[(crc ^ view[even]) & 0xFF]
        return crc ^ self._xorout


crc16_arc: Callable[[Buffer], int]
crc16_x25: Callable[[Buffer], int]
pure_crc16_arc: Callable[[Buffer], int] = _PureCrc16(0xA001, 0x0000, 0x0000)
pure_crc16_x25: Callable[[Buffer], int] = _PureCrc16(0x8408, 0xFFFF, 0xFFFF)

try:
    from fastcrc import crc16 as _fast
except ImportError:  # pragma: no cover - exercised on platforms without the wheel
    crc16_arc = pure_crc16_arc
    crc16_x25 = pure_crc16_x25
else:
    crc16_arc = _fast.arc
    crc16_x25 = _fast.ibm_sdlc
