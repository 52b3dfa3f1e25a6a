"""Hand-built S1 frames for the tests, independent of the simulator and the decoders.

Fields are packed with ``int.to_bytes`` and the FCS comes from the pure-Python
CRC-16/X-25, so a test that decodes these frames checks the decoders against the
spec's layout rather than against themselves.
"""

from __future__ import annotations

from custom_components.emucs.protocol.crc import pure_crc16_x25

METER_ID = b"1SAG1100000292"


def fcs(body: bytes) -> bytes:
    """Return the two FCS bytes (LSB first) of the 41 bytes from type to end of data."""
    value = pure_crc16_x25(body)
    return bytes((value & 0xFF, value >> 8))


def frame_body(
    *,
    frame_type: int = 0x08,
    meter_id: bytes = METER_ID,
    info: int = 0b0001_1101,
    sampling: int = 40,
    mhz: int = 50_000,
    sequence: int = 0,
    volts: tuple[int, int, int] = (0, 0, 0),
    amps: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> bytes:
    """Return the 41 bytes under the FCS; ``volts`` in 25 mV steps, ``amps`` in mA."""
    data = bytearray(meter_id)
    data += bytes((info, sampling))
    data += mhz.to_bytes(2, "big")
    data.append(sequence)
    for k in range(3):
        data += volts[k].to_bytes(2, "big", signed=True)
        data += amps[k].to_bytes(3, "big", signed=True)
    data += amps[3].to_bytes(3, "big", signed=True)
    assert len(data) == 37
    return bytes((frame_type, 0x2B, 0xFF, 0x03)) + bytes(data)


def frame(**fields: object) -> bytes:
    """Return a complete 45-byte frame with both flags."""
    body = frame_body(**fields)  # type: ignore[arg-type]
    return b"\x7e" + body + fcs(body) + b"\x7e"


def stream(frames: list[bytes], *, shared: bool) -> bytes:
    """Return frames back to back, sharing flags (44-byte stride) or not (45)."""
    if not shared:
        return b"".join(frames)
    return frames[0] + b"".join(f[1:] for f in frames[1:])
