"""S1 frames (eMUCS-S1 V1.0) and the reference per-frame framer.

A frame is 45 bytes on the wire::

    7E | type | 2B | FF | 03 | 37 data bytes | FCS lo | FCS hi | 7E

The FCS is CRC-16/X-25 (HDLC FCS-16) over the 41 bytes from the type byte to the end
of the data, sent least significant byte first. Transparency is disabled, so 0x7E
also occurs inside the data: the framer never splits on flags. It looks for a flag
with the fixed header and a flag 44 bytes later, accepts the candidate when the FCS
verifies and otherwise advances a single byte. A frame's closing flag may double as
the next frame's opening flag (44-byte stride) or not (45-byte stride).

``S1Framer`` is the plain reference: one frame at a time in pure Python. The numpy
decoder in ``s1_batch`` must produce exactly the same frames and counters; both
follow the rules written down in ``S1Framer.feed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from .crc import crc16_x25

__all__ = [
    "FRAME_SIZE",
    "S1Frame",
    "S1Framer",
    "S1Stats",
    "decode_frame",
    "sample_rate",
]

S1_BAUDRATE: Final = 2_000_000
"""8N1 over RS-422 (eMUCS-S1 V1.0)."""
FRAME_SIZE: Final = 45
"""Bytes of one frame, both flags included."""
FLAG: Final = 0x7E
LENGTH: Final = 0x2B
"""Format field: 43 bytes between the flags."""
ADDRESS: Final = 0xFF
CONTROL: Final = 0x03
STANDARD_TYPE: Final = 0x08
VOLT_PER_LSB: Final = 0.025
AMPERE_PER_LSB: Final = 0.001
MAX_CHUNK: Final = 64 * 1024
"""The reference framer takes larger chunks in slices so its buffer stays bounded."""

# Offsets inside the 45-byte frame. Data byte k of the spec (1-based) is at 4 + k.
OFF_TYPE: Final = 1
OFF_METER_ID: Final = 5
OFF_INFO: Final = 19
OFF_SAMPLING: Final = 20
OFF_FREQUENCY: Final = 21
OFF_SEQUENCE: Final = 23
OFF_VOLTAGES: Final = (24, 29, 34)
"""int16 fields V1, V2, V3."""
OFF_CURRENTS: Final = (26, 31, 36, 39)
"""int24 fields I1, I2, I3, IN."""
OFF_FCS: Final = 42
OFF_CLOSE: Final = 44

# Bits of the information byte (spec table 6, LSB first).
INFO_POLYPHASE: Final = 0x01
INFO_PER_PERIOD: Final = 0x02
INFO_FOUR_WIRE: Final = 0x04
INFO_VALID: Final = 0x08
INFO_NEUTRAL: Final = 0x10
_INFO_FLAGS: Final = tuple(
    (
        bool(info & INFO_POLYPHASE),
        bool(info & INFO_PER_PERIOD),
        bool(info & INFO_FOUR_WIRE),
        bool(info & INFO_VALID),
        bool(info & INFO_NEUTRAL),
        info >> 5,
    )
    for info in range(256)
)
"""The flag fields of ``S1Frame`` for each information byte."""


def sample_rate(info: int, sampling: int, frequency_hz: float) -> float:
    """Return the samples per second announced by an info byte, sampling byte and frequency.

    Per-second sampling: the byte counts 100 Hz steps. Per-period sampling: it is
    the number of samples per network period, so the rate follows the frequency.
    """
    if info & INFO_PER_PERIOD:
        return sampling * frequency_hz
    return sampling * 100.0


@dataclass(slots=True, frozen=True, kw_only=True)
class S1Frame:
    """One decoded S1 frame, in SI units."""

    frame_type: int
    """Type byte as received (0x08 in the spec; a public ESP32 simulator sends 0x80)."""
    meter_id: str
    """Meter identification (DIN 43863-5), ASCII; undecodable bytes become U+FFFD."""
    info: int
    """The information byte as received; the flags below are its bits."""
    polyphase: bool
    per_period: bool
    """Sampling per network period (``sampling`` = samples per period) instead of per second."""
    four_wire: bool
    """4-wire (star) meter; a polyphase meter without it is a 3-wire (Aron) meter."""
    all_samples_valid: bool
    neutral_measured: bool
    format_version: int
    """Bits 5-7: last digit of the eMUCS-S1 version (0 for V1.0)."""
    sampling: int
    """Sampling byte: ×100 Hz per second, or samples per period."""
    frequency_hz: float
    """Network frequency from the mHz field."""
    sequence: int
    """Frame counter 0-255."""
    v1: float
    i1: float
    v2: float
    i2: float
    v3: float
    i3: float
    i_n: float
    """Neutral current; 0 when not measured."""

    @property
    def sample_rate_hz(self) -> float:
        """Samples per second this frame's fields announce."""
        return sample_rate(self.info, self.sampling, self.frequency_hz)

    @classmethod
    def from_fields(
        cls,
        *,
        frame_type: int,
        meter_id: str,
        info: int,
        sampling: int,
        frequency_hz: float,
        sequence: int,
        v1: float,
        i1: float,
        v2: float,
        i2: float,
        v3: float,
        i3: float,
        i_n: float,
    ) -> S1Frame:
        """Return a frame whose flag fields are the bits of ``info``.

        Both decoders build frames here; a table lookup costs less than the bit tests.
        """
        polyphase, per_period, four_wire, valid, neutral, version = _INFO_FLAGS[info]
        return cls(
            frame_type=frame_type,
            meter_id=meter_id,
            info=info,
            polyphase=polyphase,
            per_period=per_period,
            four_wire=four_wire,
            all_samples_valid=valid,
            neutral_measured=neutral,
            format_version=version,
            sampling=sampling,
            frequency_hz=frequency_hz,
            sequence=sequence,
            v1=v1,
            i1=i1,
            v2=v2,
            i2=i2,
            v3=v3,
            i3=i3,
            i_n=i_n,
        )


def _int24(data: bytes | bytearray, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 3], "big", signed=True)


def _int16(data: bytes | bytearray, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 2], "big", signed=True)


def decode_frame(data: bytes | bytearray, offset: int = 0) -> S1Frame:
    """Decode the fields of the 45-byte frame starting at ``offset`` (FCS not checked).

    The arithmetic (integer × 0.025 or × 0.001 in binary64, mHz / 1000) is the same
    as the batch decoder's so both give bit-identical floats.
    """
    o = offset
    v1, v2, v3 = (_int16(data, o + k) * VOLT_PER_LSB for k in OFF_VOLTAGES)
    i1, i2, i3, i_n = (_int24(data, o + k) * AMPERE_PER_LSB for k in OFF_CURRENTS)
    return S1Frame.from_fields(
        frame_type=data[o + OFF_TYPE],
        meter_id=bytes(data[o + OFF_METER_ID : o + OFF_INFO]).decode(
            "ascii", "replace"
        ),
        info=data[o + OFF_INFO],
        sampling=data[o + OFF_SAMPLING],
        frequency_hz=int.from_bytes(data[o + OFF_FREQUENCY : o + OFF_SEQUENCE], "big")
        / 1000.0,
        sequence=data[o + OFF_SEQUENCE],
        v1=v1,
        i1=i1,
        v2=v2,
        i2=i2,
        v3=v3,
        i3=i3,
        i_n=i_n,
    )


@dataclass(slots=True)
class S1Stats:
    """Counters since the decoder was created (or reset)."""

    frames: int = 0
    fcs_errors: int = 0
    """Candidates with flags, length, address and control right but a wrong FCS."""
    missed_frames: int = 0
    """Frames the sequence counter says are absent (mod 256), FCS rejects included."""
    discarded_bytes: int = 0
    """Bytes that belong to no accepted frame (noise, damaged frames, a partial start)."""
    invalid_sample_frames: int = 0
    """Accepted frames whose information byte says one or more samples are corrupt."""
    frame_types: dict[int, int] = field(default_factory=dict)
    """Type bytes of the accepted frames and how often each was seen."""

    def as_dict(self) -> dict[str, Any]:
        """Return the counters as a plain dict (type bytes as ``0x08`` strings)."""
        return {
            "frames": self.frames,
            "fcs_errors": self.fcs_errors,
            "missed_frames": self.missed_frames,
            "discarded_bytes": self.discarded_bytes,
            "invalid_sample_frames": self.invalid_sample_frames,
            "frame_types": {
                f"0x{k:02X}": v for k, v in sorted(self.frame_types.items())
            },
        }


class S1Framer:
    """Reference S1 framer and decoder: bytes in, ``S1Frame`` out, one at a time.

    Never raises on input and never holds more than 44 bytes between calls.
    """

    __slots__ = ("_buffer", "_covered", "_last_sequence", "stats")

    def __init__(self) -> None:
        """Create a framer with empty counters."""
        self.stats = S1Stats()
        self._buffer = bytearray()
        # Leading bytes of the buffer that belong to the last accepted frame (its
        # closing flag, which may be the next opening flag): never discarded.
        self._covered = 0
        self._last_sequence: int | None = None

    @property
    def buffered(self) -> int:
        """Bytes held back until more data decides them (at most 44)."""
        return len(self._buffer)

    def reset(self) -> None:
        """Drop buffered bytes and forget the sequence counter, e.g. after a reconnect."""
        self._buffer.clear()
        self._covered = 0
        self._last_sequence = None

    def feed(self, data: bytes | bytearray | memoryview) -> list[S1Frame]:
        """Add bytes; return the frames they complete, in stream order.

        The rules, shared with the batch decoder:

        - a position is decided only once the 45 bytes from it are buffered; the
          scan stops at the first position that is not, and keeps the rest;
        - a candidate is a 0x7E with 0x2B, 0xFF, 0x03 at +2..+4 and 0x7E at +44;
          any type byte is accepted when the FCS verifies;
        - an accepted frame moves the scan to its closing flag (+44), anything else
          moves it one byte on;
        - a candidate that fails only on the FCS counts as an FCS error; bytes passed
          over that belong to no accepted frame are discarded.
        """
        view = memoryview(data).cast("B")
        frames: list[S1Frame] = []
        for start in range(0, len(view), MAX_CHUNK):
            self._buffer += view[start : start + MAX_CHUNK]
            self._scan(frames)
        return frames

    def _scan(self, frames: list[S1Frame]) -> None:
        buf = self._buffer
        stats = self.stats
        limit = len(buf) - (FRAME_SIZE - 1)  # positions with a whole frame buffered
        pos = 0
        while pos < limit:
            if buf[pos] != FLAG:
                nxt = buf.find(FLAG, pos + 1, limit)
                if nxt < 0:
                    nxt = limit
                self._discard(pos, nxt)
                pos = nxt
                continue
            if (
                buf[pos + 2] == LENGTH
                and buf[pos + 3] == ADDRESS
                and buf[pos + 4] == CONTROL
                and buf[pos + OFF_CLOSE] == FLAG
            ):
                sent = buf[pos + OFF_FCS] | buf[pos + OFF_FCS + 1] << 8
                if crc16_x25(bytes(buf[pos + 1 : pos + OFF_FCS])) == sent:
                    frame = decode_frame(buf, pos)
                    self._count(frame)
                    frames.append(frame)
                    self._covered = pos + FRAME_SIZE
                    pos += OFF_CLOSE
                    continue
                stats.fcs_errors += 1
            self._discard(pos, pos + 1)
            pos += 1
        del buf[:pos]
        self._covered = max(0, self._covered - pos)

    def _discard(self, start: int, end: int) -> None:
        self.stats.discarded_bytes += max(0, end - max(start, self._covered))

    def _count(self, frame: S1Frame) -> None:
        stats = self.stats
        stats.frames += 1
        if self._last_sequence is not None:
            stats.missed_frames += (frame.sequence - self._last_sequence - 1) & 0xFF
        self._last_sequence = frame.sequence
        if not frame.all_samples_valid:
            stats.invalid_sample_frames += 1
        stats.frame_types[frame.frame_type] = (
            stats.frame_types.get(frame.frame_type, 0) + 1
        )
