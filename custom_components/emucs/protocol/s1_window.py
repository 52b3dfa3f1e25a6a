"""The sample grid of the S1 analytics: samples placed by index, holes filled, windows.

Samples sit on a grid indexed by the sequence counter (``S1Batch.sample_index``), so
a lost frame is a hole, never a shift. The grid keeps a few cycles of history before
the open window: the hole filling looks back that far, and Urms(1/2) needs a cycle.
Why holes are filled the way they are is in ``s1_analytics``'s docstring.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Final

import numpy as np
import numpy.typing as npt

from .s1 import INFO_PER_PERIOD, INFO_VALID, NOMINAL_FREQUENCY
from .s1_batch import S1Batch

__all__ = ["SampleGrid", "Window", "plan_window"]

type F64 = npt.NDArray[np.float64]
type Bool = npt.NDArray[np.bool_]

MIN_PERIOD: Final = 8.0
"""Samples per cycle below which a stream is not a sampled waveform we can analyse."""
_FILL_STEPS: Final = (1, -1, 2, -2, 3, -3)
"""Cycles to look back (positive) or ahead for a missing sample, nearest first."""


@dataclass(slots=True)
class Window:
    """Geometry of the window being filled (sample indices of the grid)."""

    start: int
    end: int
    cycles: int
    period: float
    """Samples per cycle (a whole number with per-period sampling)."""
    sample_rate: float
    frequency: float
    start_s: float


def plan_window(
    key: int, field_hz: float, window_s: float, start: int, start_s: float
) -> Window | None:
    """Return the window of whole cycles from ``start``, ``None`` if the mode cannot be analysed.

    ``key`` is the meter mode: information bits, sampling byte << 8.
    """
    sampling = key >> 8
    frequency = field_hz if 40.0 <= field_hz <= 70.0 else NOMINAL_FREQUENCY
    cycles = max(1, round(window_s * frequency))
    if key & INFO_PER_PERIOD:
        period = float(sampling)
        rate = sampling * frequency
        length = cycles * sampling
    else:
        rate = sampling * 100.0
        period = rate / frequency
        length = round(cycles * period)
    if period < MIN_PERIOD:
        return None
    return Window(
        start=start,
        end=start + length,
        cycles=cycles,
        period=period,
        sample_rate=rate,
        frequency=frequency,
        start_s=start_s,
    )


class SampleGrid:
    """Rows V1-V3, I1-I3, IN of the samples, with what arrived and the frequency field.

    Column ``c`` holds sample index ``base + c``.
    """

    __slots__ = ("base", "buf", "freq", "hist", "last_index", "ok", "seen")

    def __init__(self) -> None:
        """Create an empty grid."""
        self.buf: F64 = np.zeros((7, 0))
        self.ok: Bool = np.zeros(0, dtype=bool)
        """Usable as received."""
        self.seen: Bool = np.zeros(0, dtype=bool)
        """Received (valid or not)."""
        self.freq: F64 = np.zeros(0)
        self.base = 0
        self.hist = 0
        """Columns of history kept before a window."""
        self.last_index = -1
        """Newest sample index stored; -1 at the start of a stream."""

    def restart(self) -> None:
        """Forget the samples (a new stream)."""
        self.base = 0
        self.hist = 0
        self.last_index = -1
        self.ok[:] = False
        self.seen[:] = False

    def begin(self, start: int, period: float) -> None:
        """Start a stream at sample index ``start``: room for three cycles of history."""
        self.hist = math.ceil(3 * period) + 2
        self.base = start - self.hist

    def reserve(self, window: Window) -> None:
        """Make room for the window (and half as much again)."""
        need = window.end - self.base + 1
        if need > self.buf.shape[1]:
            self._grow(need + (window.end - window.start) // 2)

    def _grow(self, capacity: int) -> None:
        old = self.buf.shape[1]
        buf = np.zeros((7, capacity))
        buf[:, :old] = self.buf
        self.buf = buf
        for name in ("ok", "seen"):
            arr = np.zeros(capacity, dtype=bool)
            arr[:old] = getattr(self, name)
            setattr(self, name, arr)
        freq = np.zeros(capacity)
        freq[:old] = self.freq
        self.freq = freq

    def store(
        self, batch: S1Batch, k: int, j: int, *, use_invalid_samples: bool
    ) -> tuple[int, int]:
        """Place frames ``k:j``; return their (FCS errors before, invalid-sample frames)."""
        first = int(batch.sample_index[k]) - self.base
        last = int(batch.sample_index[j - 1]) - self.base
        # Without lost frames the positions are a plain slice (much cheaper).
        pos: slice | npt.NDArray[np.int64] = (
            slice(first, last + 1)
            if last - first == j - k - 1
            else batch.sample_index[k:j] - self.base
        )
        buf = self.buf
        buf[0:3, pos] = batch.v[:, k:j]
        buf[3:6, pos] = batch.i[:, k:j]
        buf[6, pos] = batch.i_n[k:j]
        valid = (batch.info[k:j] & INFO_VALID) != 0
        self.ok[pos] = True if use_invalid_samples else valid
        self.seen[pos] = True
        self.freq[pos] = batch.frequency_hz[k:j]
        self.last_index = int(batch.sample_index[j - 1])
        return (
            int(batch.fcs_before[k:j].sum()),
            int(valid.size - np.count_nonzero(valid)),
        )

    def shift(self, new_base: int) -> None:
        """Keep only the history before the next window at the front of the buffers."""
        offset = new_base - self.base
        if offset <= 0:
            return
        keep = max(0, self.buf.shape[1] - offset)
        for arr in (self.ok, self.seen):
            arr[:keep] = arr[offset:]
            arr[keep:] = False
        self.buf[:, :keep] = self.buf[:, offset:]
        self.freq[:keep] = self.freq[offset:]
        self.base = new_base

    def fill(self, a: int, b: int, period: float) -> None:
        """Fill the holes in columns [a, b) from the same instant of neighbouring cycles."""
        ok = self.ok
        todo = np.flatnonzero(~ok[a:b]) + a
        if not todo.size:
            return
        buf = self.buf
        for step in _FILL_STEPS:
            where = todo - step * period
            lo = np.floor(where).astype(np.int64)
            frac = where - lo
            hi = np.where(frac > 0.0, lo + 1, lo)
            inside = (lo >= 0) & (hi < b)
            lo_c = np.clip(lo, 0, b - 1)
            hi_c = np.clip(hi, 0, b - 1)
            good = inside & ok[lo_c] & ok[hi_c]
            if good.any():
                f = frac[good]
                buf[:, todo[good]] = (
                    buf[:, lo_c[good]] * (1.0 - f) + buf[:, hi_c[good]] * f
                )
                todo = todo[~good]
                if not todo.size:
                    return
        # Nothing a few cycles away: interpolate in time (or zero without any sample).
        have = np.flatnonzero(ok[:b])
        for row in buf:
            row[todo] = np.interp(todo, have, row[have]) if have.size else 0.0
