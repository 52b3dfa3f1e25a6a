"""Vectorized S1 decoder: a whole chunk of bytes per call, numpy over all frames at once.

``S1BatchDecoder.feed`` follows exactly the rules of the reference ``S1Framer.feed``
(see there) and yields the same frames and counters for any split of a stream; the
property tests hold both to that. Per call:

1. every 0x7E with 45 bytes buffered behind it is a position; those with the header
   bytes and a closing flag at +44 are candidates (numpy comparisons);
2. the candidates' bytes are gathered as 45 rows of a column matrix and the FCS of
   all of them is computed at once: CRC-16/X-25 is affine over GF(2), so the FCS of
   41 bytes is a constant XOR one table lookup per byte position (``_COLUMN_TABLES``);
3. the reference scan jumps from an accepted frame to its closing flag, so a valid
   candidate inside an accepted frame is never seen; accepted frames are therefore
   the valid candidates at least 44 bytes apart, taken greedily (a Python loop only
   in the rare case that two valid candidates overlap);
4. the fields of the accepted frames are decoded column-wise into ``S1Batch``.

The result is columnar. ``sample_index`` places each frame on the sample grid by its
sequence number, so a lost frame leaves a hole instead of shifting later samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Self, cast

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
import numpy.typing as npt

from .crc import _table8, crc16_x25
from .s1 import (
    ADDRESS,
    AMPERE_PER_LSB,
    CONTROL,
    FLAG,
    FRAME_SIZE,
    INFO_PER_PERIOD,
    INFO_VALID,
    LENGTH,
    OFF_CLOSE,
    OFF_CURRENTS,
    OFF_FCS,
    OFF_FREQUENCY,
    OFF_INFO,
    OFF_METER_ID,
    OFF_SAMPLING,
    OFF_SEQUENCE,
    OFF_TYPE,
    OFF_VOLTAGES,
    VOLT_PER_LSB,
    S1Frame,
    S1Stats,
)

__all__ = ["S1Batch", "S1BatchDecoder", "fcs16_columns"]

type U8 = npt.NDArray[np.uint8]
type U16 = npt.NDArray[np.uint16]
type I64 = npt.NDArray[np.int64]
type F64 = npt.NDArray[np.float64]

MAX_SLICE: Final = 1 << 20
"""Bytes decoded per numpy pass; bigger chunks are taken in slices to bound memory."""

_FCS_SPAN: Final = OFF_FCS - OFF_TYPE  # 41 bytes under the FCS
_X25_POLY: Final = 0x8408
"""CRC-16/X-25 polynomial, reflected."""


def _fcs_tables(length: int) -> tuple[U16, int]:
    """Per-position lookup tables and constant for the X-25 FCS of ``length`` bytes.

    Row j maps a byte value at position j to its contribution to the final register
    (processed from a zero register, then shifted through the remaining zero bytes);
    the constant is the FCS of ``length`` zero bytes (init 0xFFFF, final XOR 0xFFFF).
    """
    table = np.array(_table8(_X25_POLY), dtype=np.uint16)
    columns = np.empty((length, 256), dtype=np.uint16)
    state = table.copy()
    columns[length - 1] = state
    for j in range(length - 2, -1, -1):
        state = (state >> 8) ^ table[state & 0xFF]
        columns[j] = state
    return columns, crc16_x25(bytes(length))


_COLUMN_TABLES, _ZERO_FCS = _fcs_tables(_FCS_SPAN)


def fcs16_columns(columns: U8) -> U16:
    """FCS-16 (CRC-16/X-25) of many 41-byte messages at once.

    ``columns`` has shape (41, k): row j holds byte j of each of the k messages.
    Within a stream most of them (header, meter id, info, sampling) are the same
    in every frame: such a column adds one constant instead of k lookups.
    """
    if not columns.shape[1]:
        return np.zeros(0, dtype=np.uint16)
    first = columns[:, 0]
    same = (columns == first[:, None]).all(axis=1)
    constant = _ZERO_FCS
    for j in cast("list[int]", np.flatnonzero(same).tolist()):
        constant ^= int(_COLUMN_TABLES[j, first[j]])
    out = np.full(columns.shape[1], constant, dtype=np.uint16)
    for j in cast("list[int]", np.flatnonzero(~same).tolist()):
        out ^= _COLUMN_TABLES[j][columns[j]]
    return out


def _empty(dtype: type[np.generic], *shape: int) -> npt.NDArray[Any]:
    return np.zeros(shape, dtype=dtype)


@dataclass(slots=True, kw_only=True, eq=False)
class S1Batch:
    """Decoded frames in columns (index k is the k-th accepted frame of the call).

    Treat as read-only. Voltages and currents are in V and A; ``v[0]`` is L1.
    """

    frame_type: U8
    meter_id: U8
    """Shape (n, 14): the ASCII bytes of the meter identification."""
    info: U8
    sampling: U8
    frequency_hz: F64
    sequence: U8
    v: F64
    """Shape (3, n): V1, V2, V3."""
    i: F64
    """Shape (3, n): I1, I2, I3."""
    i_n: F64
    sample_index: I64
    """Position on the sample grid: the sequence counter unwrapped, first frame ever = 0."""
    gap: I64
    """Frames the sequence counter says were lost just before this one."""
    fcs_before: I64
    """FCS errors seen between the previous accepted frame and this one."""
    fcs_errors: int = 0
    """FCS errors found in this call (some may be attributed to a later frame)."""
    discarded_bytes: int = 0
    """Bytes discarded in this call."""

    def __len__(self) -> int:
        """Return the number of frames."""
        return int(self.sequence.size)

    @property
    def sample_rate_hz(self) -> F64:
        """Samples per second announced by each frame."""
        per_period = (self.info & INFO_PER_PERIOD) != 0
        return np.where(
            per_period,
            self.sampling * self.frequency_hz,
            self.sampling.astype(np.float64) * 100.0,
        )

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        """Frames whose information byte says all samples are valid."""
        valid: npt.NDArray[np.bool_] = (self.info & INFO_VALID) != 0
        return valid

    @classmethod
    def empty(cls) -> Self:
        """Return a batch without frames."""
        return cls(
            frame_type=_empty(np.uint8, 0),
            meter_id=_empty(np.uint8, 0, OFF_INFO - OFF_METER_ID),
            info=_empty(np.uint8, 0),
            sampling=_empty(np.uint8, 0),
            frequency_hz=_empty(np.float64, 0),
            sequence=_empty(np.uint8, 0),
            v=_empty(np.float64, 3, 0),
            i=_empty(np.float64, 3, 0),
            i_n=_empty(np.float64, 0),
            sample_index=_empty(np.int64, 0),
            gap=_empty(np.int64, 0),
            fcs_before=_empty(np.int64, 0),
        )

    @classmethod
    def concat(cls, batches: Sequence[S1Batch]) -> Self:
        """Join consecutive batches of one stream."""
        if not batches:
            return cls.empty()
        return cls(
            frame_type=np.concatenate([b.frame_type for b in batches]),
            meter_id=np.concatenate([b.meter_id for b in batches]),
            info=np.concatenate([b.info for b in batches]),
            sampling=np.concatenate([b.sampling for b in batches]),
            frequency_hz=np.concatenate([b.frequency_hz for b in batches]),
            sequence=np.concatenate([b.sequence for b in batches]),
            v=np.concatenate([b.v for b in batches], axis=1),
            i=np.concatenate([b.i for b in batches], axis=1),
            i_n=np.concatenate([b.i_n for b in batches]),
            sample_index=np.concatenate([b.sample_index for b in batches]),
            gap=np.concatenate([b.gap for b in batches]),
            fcs_before=np.concatenate([b.fcs_before for b in batches]),
            fcs_errors=sum(b.fcs_errors for b in batches),
            discarded_bytes=sum(b.discarded_bytes for b in batches),
        )

    @classmethod
    def from_frames(
        cls,
        frames: Sequence[S1Frame],
        next_index: int = 0,
        last_sequence: int | None = None,
    ) -> Self:
        """Columns from reference frames (FCS attribution unknown: ``fcs_before`` is 0).

        ``next_index`` and ``last_sequence`` continue the sample grid of earlier
        frames, as the batch decoder does across calls.
        """
        if not frames:
            return cls.empty()
        seq = np.fromiter((f.sequence for f in frames), np.int64, len(frames))
        gap = np.zeros(len(frames), dtype=np.int64)
        gap[1:] = (seq[1:] - seq[:-1] - 1) & 0xFF
        if last_sequence is not None:
            gap[0] = (seq[0] - last_sequence - 1) & 0xFF
        return cls(
            frame_type=np.array([f.frame_type for f in frames], dtype=np.uint8),
            meter_id=np.array(
                [list(f.meter_id.encode("ascii", "replace")) for f in frames],
                dtype=np.uint8,
            ).reshape(len(frames), OFF_INFO - OFF_METER_ID),
            info=np.array([f.info for f in frames], dtype=np.uint8),
            sampling=np.array([f.sampling for f in frames], dtype=np.uint8),
            frequency_hz=np.array([f.frequency_hz for f in frames], dtype=np.float64),
            sequence=seq.astype(np.uint8),
            v=np.array([[f.v1, f.v2, f.v3] for f in frames], dtype=np.float64).T.copy(),
            i=np.array([[f.i1, f.i2, f.i3] for f in frames], dtype=np.float64).T.copy(),
            i_n=np.array([f.i_n for f in frames], dtype=np.float64),
            sample_index=next_index + np.cumsum(gap + 1) - 1,
            gap=gap,
            fcs_before=np.zeros(len(frames), dtype=np.int64),
        )

    def meter_id_at(self, k: int) -> str:
        """Return the meter identification of frame ``k`` as text."""
        return bytes(self.meter_id[k]).decode("ascii", "replace")

    def to_frames(self) -> list[S1Frame]:
        """Return the frames as ``S1Frame`` objects, as the reference decoder does."""
        frames = []
        # tolist() gives Python floats and ints with the exact same values.
        v = cast("list[list[float]]", self.v.tolist())
        i = cast("list[list[float]]", self.i.tolist())
        i_n = cast("list[float]", self.i_n.tolist())
        freq = cast("list[float]", self.frequency_hz.tolist())
        for k, (ftype, info, sampling, seq) in enumerate(
            zip(
                cast("list[int]", self.frame_type.tolist()),
                cast("list[int]", self.info.tolist()),
                cast("list[int]", self.sampling.tolist()),
                cast("list[int]", self.sequence.tolist()),
                strict=True,
            )
        ):
            frames.append(
                S1Frame.from_fields(
                    frame_type=ftype,
                    meter_id=self.meter_id_at(k),
                    info=info,
                    sampling=sampling,
                    frequency_hz=freq[k],
                    sequence=seq,
                    v1=v[0][k],
                    i1=i[0][k],
                    v2=v[1][k],
                    i2=i[1][k],
                    v3=v[2][k],
                    i3=i[2][k],
                    i_n=i_n[k],
                )
            )
        return frames


@dataclass(slots=True)
class _State:
    carry: bytes = b""
    covered: int = 0
    """Leading carried bytes that belong to the last accepted frame (0 or 1)."""
    last_sequence: int | None = None
    next_index: int = 0
    pending_fcs: int = 0
    """FCS errors after the last accepted frame, charged to the next one."""


def _accept_greedy(valid: I64) -> I64:
    """Keep the valid candidates the reference scan reaches (44+ bytes after the last)."""
    if valid.size < 2 or bool(np.all(np.diff(valid) >= OFF_CLOSE)):
        return valid
    kept: list[int] = []
    last = -OFF_CLOSE
    for pos in cast("list[int]", valid.tolist()):
        if pos >= last + OFF_CLOSE:
            kept.append(pos)
            last = pos
    return np.array(kept, dtype=np.int64)


class S1BatchDecoder:
    """Vectorized S1 framer and decoder; same frames and counters as ``S1Framer``.

    Never raises on input and never holds more than 44 bytes between calls.
    """

    __slots__ = ("_state", "stats")

    def __init__(self) -> None:
        """Create a decoder with empty counters."""
        self.stats = S1Stats()
        self._state = _State()

    @property
    def buffered(self) -> int:
        """Bytes held back until more data decides them (at most 44)."""
        return len(self._state.carry)

    @property
    def pending_fcs_errors(self) -> int:
        """FCS errors after the last frame, charged to the next frame's ``fcs_before``."""
        return self._state.pending_fcs

    def reset(self) -> None:
        """Drop buffered bytes and forget the sequence counter, e.g. after a reconnect.

        The sample index keeps counting so samples before and after never overlap.
        """
        state = self._state
        state.carry = b""
        state.covered = 0
        state.last_sequence = None
        state.pending_fcs = 0

    def feed(self, data: bytes | bytearray | memoryview) -> S1Batch:
        """Add bytes; return the frames they complete as one batch."""
        data = bytes(data)
        if len(data) <= MAX_SLICE:
            return self._feed(data)
        return S1Batch.concat(
            [
                self._feed(data[start : start + MAX_SLICE])
                for start in range(0, len(data), MAX_SLICE)
            ]
        )

    def _feed(self, data: bytes) -> S1Batch:
        state = self._state
        raw = state.carry + data
        buf = np.frombuffer(raw, dtype=np.uint8)
        limit = buf.size - OFF_CLOSE  # positions with a whole frame buffered
        if limit <= 0:
            state.carry = raw
            return S1Batch.empty()

        flags = np.flatnonzero(buf[:limit] == FLAG)
        heads = flags[
            (buf[flags + 2] == LENGTH)
            & (buf[flags + 3] == ADDRESS)
            & (buf[flags + 4] == CONTROL)
            & (buf[flags + OFF_CLOSE] == FLAG)
        ]
        # (k, 45): one candidate per row, for field decoding through big-endian views;
        # its transpose (41, k) for the FCS, one contiguous row per byte position.
        rows: U8 = sliding_window_view(buf, FRAME_SIZE)[heads]
        sent = rows[:, OFF_FCS : OFF_FCS + 2].view("<u2")[:, 0]
        good = fcs16_columns(np.ascontiguousarray(rows[:, OFF_TYPE:OFF_FCS].T)) == sent
        valid = heads[good]
        accepted = _accept_greedy(valid)
        if accepted.size != heads.size:
            rows = rows[np.searchsorted(heads, accepted)]

        stop = limit if not accepted.size else max(limit, int(accepted[-1]) + OFF_CLOSE)
        bad = heads[~good]
        if accepted.size and bad.size:
            # The scan never visits the inside of an accepted frame.
            prev = np.searchsorted(accepted, bad) - 1
            inside = (prev >= 0) & (bad < accepted[np.maximum(prev, 0)] + OFF_CLOSE)
            bad = bad[~inside]

        # Bytes passed over that no accepted frame covers.
        covered = min(state.covered, stop)
        if accepted.size:
            ends = np.minimum(accepted + FRAME_SIZE, stop)
            covered += int((ends - accepted).sum())
            covered -= int(
                np.maximum(accepted[:-1] + FRAME_SIZE - accepted[1:], 0).sum()
            )
            covered -= max(0, min(state.covered, stop) - int(accepted[0]))
            state.covered = max(0, int(accepted[-1]) + FRAME_SIZE - stop)
        else:
            state.covered = max(0, state.covered - stop)
        discarded = stop - covered
        state.carry = raw[stop:]

        batch = self._decode(rows, accepted, bad)
        batch.fcs_errors = int(bad.size)
        batch.discarded_bytes = discarded
        stats = self.stats
        stats.fcs_errors += int(bad.size)
        stats.discarded_bytes += discarded
        return batch

    def _decode(self, rows: U8, accepted: I64, bad: I64) -> S1Batch:
        state = self._state
        stats = self.stats
        n = int(accepted.size)
        if not n:
            state.pending_fcs += int(bad.size)
            return S1Batch.empty()

        # FCS errors between accepted frames are charged to the frame after them.
        charged = np.bincount(np.searchsorted(accepted, bad), minlength=n + 1)
        fcs_before = charged[:n].astype(np.int64)
        fcs_before[0] += state.pending_fcs
        state.pending_fcs = int(charged[n])

        sequence = rows[:, OFF_SEQUENCE].copy()
        seq = sequence.astype(np.int64)
        gap = np.empty(n, dtype=np.int64)
        gap[1:] = (seq[1:] - seq[:-1] - 1) & 0xFF
        gap[0] = (
            0
            if state.last_sequence is None
            else (seq[0] - state.last_sequence - 1) & 0xFF
        )
        sample_index = state.next_index + np.cumsum(gap + 1) - 1
        state.last_sequence = int(seq[-1])
        state.next_index = int(sample_index[-1]) + 1

        # Integer × scale in binary64, exactly as the reference computes it.
        v = np.empty((3, n))
        for k, off in enumerate(OFF_VOLTAGES):
            v[k] = rows[:, off : off + 2].view(">i2")[:, 0]
        v *= VOLT_PER_LSB
        i = np.empty((4, n))
        for k, off in enumerate(OFF_CURRENTS):
            # int24: read 4 bytes ending with it, drop the byte before by sign extension.
            word = rows[:, off - 1 : off + 3].view(">i4")[:, 0]
            i[k] = (word << 8) >> 8
        i *= AMPERE_PER_LSB
        mhz = rows[:, OFF_FREQUENCY : OFF_FREQUENCY + 2].view(">u2")[:, 0]
        info = rows[:, OFF_INFO].copy()
        frame_type = rows[:, OFF_TYPE].copy()

        stats.frames += n
        stats.missed_frames += int(gap.sum())
        stats.invalid_sample_frames += int(np.count_nonzero((info & INFO_VALID) == 0))
        first = int(frame_type[0])
        if bool((frame_type == first).all()):
            stats.frame_types[first] = stats.frame_types.get(first, 0) + n
        else:
            types, counts = np.unique(frame_type, return_counts=True)
            pairs = zip(
                cast("list[int]", types.tolist()),
                cast("list[int]", counts.tolist()),
                strict=True,
            )
            for ftype, count in pairs:
                stats.frame_types[ftype] = stats.frame_types.get(ftype, 0) + count

        return S1Batch(
            frame_type=frame_type,
            meter_id=rows[:, OFF_METER_ID:OFF_INFO].copy(),
            info=info,
            sampling=rows[:, OFF_SAMPLING].copy(),
            frequency_hz=mhz / 1000.0,
            sequence=sequence,
            v=v[:3],
            i=i[:3],
            i_n=i[3],
            sample_index=sample_index,
            gap=gap,
            fcs_before=fcs_before,
        )
