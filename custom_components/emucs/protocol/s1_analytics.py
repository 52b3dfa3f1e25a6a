"""Power-quality analytics of decoded S1 samples, one summary per window of whole cycles.

Definitions (per element; an element is a phase, or on 3-wire meters an Aron element):

- RMS over the window; active power P = mean(v·i), positive = import;
- apparent power S = Vrms·Irms; power factor P/S;
- ``reactive_power`` is the IEEE 1459 **non-active power** N = sqrt(S² - P²): everything
  in S that is not P (fundamental reactive power, distortion and, in the total,
  unbalance). It has no sign. The signed fundamental reactive power Q1 (IEEE 1459
  Q1 = V1·I1·sin θ1, positive when the current lags) comes from the FFT as
  ``fundamental_reactive_power``;
- THD of V and I: harmonics 2 … H as a percentage of the fundamental, H = min(40,
  the highest harmonic at least half a harmonic below Nyquist) — 39 at 4 kHz/50 Hz.
  Each harmonic is an IEC 61000-4-7 style group: the DFT bin nearest to h·f and its two
  neighbours, so a window that holds a not-quite-whole number of cycles (per-second
  sampling) loses nothing to scalloping;
- totals: single-phase = L1; 4-wire P = ΣP, S = ΣS (arithmetic apparent power);
  3-wire (Aron, L2 the reference: elements L1 = (U12, I1), L3 = (U32, I3)) P = P1 + P3
  and S = the IEEE 1459 effective apparent power 3·Ve·Ie with Ve² = (U12² + U23² + U31²)/9
  and Ie² = (I1² + I2² + I3²)/3, I2 = -(I1 + I3) — the element products U·I are not
  phase quantities (a balanced resistive load would show PF 0.87); N and PF follow
  from P and S;
- frequency: mean of the frames' mHz field, cross-checked by interpolated
  positive-going zero crossings of the first voltage channel;
- voltage events from Urms(1/2) (IEC 61000-4-30: RMS over one cycle, refreshed every
  half cycle): dip below 90 % of 230 V, swell above 110 %, interruption when the dip
  went below 5 %; an event ends inside 92-108 % (2 % hysteresis). Times are the centres
  of the one-cycle intervals, so start and duration are good to about one cycle.

Modules: ``s1_window`` (the sample grid, hole filling, window geometry), ``s1_power``
(the electrical quantities), ``s1_events`` (voltage events); this one runs them window
by window and builds the summaries.

Lost frames: samples sit on a grid indexed by the sequence counter (``sample_index``),
so a lost frame is a hole, never a shift. Holes are filled before anything is computed
with the same instant one, two or three cycles earlier (later at the start of a
stream), interpolated linearly between the two nearest samples when a cycle is not a
whole number of samples. A periodic signal is reproduced almost exactly (exactly with
per-period sampling), so RMS, P and the spectrum stay whole-cycle quantities: a burst
of lost frames at the crest neither biases the RMS nor smears the FFT the way
zero-filling or averaging only the received samples would. A least-squares harmonic
fit on the received sample times was the alternative; it costs ~50 ms per 1-s window
here against ~1 ms for fill + FFT, and a fit over a whole second cannot follow a dip,
whereas the fill is local.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np

from .s1 import (
    INFO_FOUR_WIRE,
    INFO_NEUTRAL,
    INFO_PER_PERIOD,
    INFO_POLYPHASE,
    NOMINAL_VOLTAGE,
)
from .s1_batch import S1Batch
from .s1_events import VoltageEvent, VoltageEventDetector
from .s1_power import (
    PhaseValues,
    TotalValues,
    electrical,
    max_harmonic,
    meter_elements,
    non_active_power,
    zero_crossing,
)
from .s1_window import SampleGrid, Window, plan_window

__all__ = [
    "DEFAULT_WINDOW_S",
    "NOMINAL_VOLTAGE",
    "PhaseValues",
    "S1Analyzer",
    "S1Summary",
    "TotalValues",
    "VoltageEvent",
    "max_harmonic",
    "meter_elements",
    "non_active_power",
]

DEFAULT_WINDOW_S: Final = 1.0
_CONFIG_BITS: Final = INFO_POLYPHASE | INFO_PER_PERIOD | INFO_FOUR_WIRE | INFO_NEUTRAL


@dataclass(frozen=True, slots=True, kw_only=True)
class S1Summary:
    """One analysis window. ``to_dict`` gives the JSON contract of the CLI."""

    frames: int
    """Frames received for this window's samples."""
    crc_errors: int
    """FCS rejects in the gaps before this window's frames."""
    missed_frames: int
    """Samples of the window that never arrived (sequence gaps, FCS rejects included)."""
    meter_id: str
    polyphase: bool
    four_wire: bool
    sampling: Literal["per_second", "per_period"]
    sample_rate_hz: float
    frequency_hz: float | None
    phases: dict[str, PhaseValues]
    """Empty when too few samples arrived to analyse the window."""
    neutral_current_rms: float | None
    """``None`` when the meter does not measure the neutral current."""
    total: TotalValues | None
    start_s: float
    duration_s: float
    cycles: int
    samples: int
    valid_samples: int
    """Samples used as received (the rest were filled)."""
    invalid_sample_frames: int
    discarded_bytes: int
    frequency_zero_crossing_hz: float | None
    events: tuple[VoltageEvent, ...] = ()
    """Events that ended in this window."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of the CLI contract."""
        return {
            "frames": self.frames,
            "crc_errors": self.crc_errors,
            "missed_frames": self.missed_frames,
            "meter_id": self.meter_id,
            "polyphase": self.polyphase,
            "four_wire": self.four_wire,
            "sampling": self.sampling,
            "sample_rate_hz": self.sample_rate_hz,
            "frequency_hz": self.frequency_hz,
            "phases": {name: values.to_dict() for name, values in self.phases.items()},
            "neutral_current_rms": self.neutral_current_rms,
            "total": None if self.total is None else self.total.to_dict(),
        }


class S1Analyzer:
    """Streaming analytics: feed ``S1Batch`` objects, get a summary per completed window.

    A window closes when a sample beyond its end arrives. A change of meter mode
    (information bits or sampling byte) or a jump back in ``sample_index`` starts a
    new stream; the unfinished window is dropped.
    """

    __slots__ = (
        "_counts",
        "_events",
        "_grid",
        "_key",
        "_meter_id",
        "_next_start",
        "_time_s",
        "_window",
        "min_valid_fraction",
        "use_invalid_samples",
        "window_s",
    )

    def __init__(
        self,
        *,
        window_s: float = DEFAULT_WINDOW_S,
        nominal_voltage: float = NOMINAL_VOLTAGE,
        use_invalid_samples: bool = False,
        min_valid_fraction: float = 0.5,
    ) -> None:
        """Create an analyzer.

        ``use_invalid_samples``: keep samples of frames flagged "not all samples
        valid" instead of treating them as lost. Windows with fewer usable samples
        than ``min_valid_fraction`` report no electrical values.
        """
        self.window_s = window_s
        self.use_invalid_samples = use_invalid_samples
        self.min_valid_fraction = min_valid_fraction
        self._grid = SampleGrid()
        self._events = VoltageEventDetector(nominal_voltage)
        self._counts = [0, 0, 0]  # FCS errors, invalid-sample frames, discarded bytes
        self._time_s = 0.0
        self._key: int | None = None
        self._meter_id = ""
        self._window: Window | None = None
        self._next_start: int | None = None
        """Start of the next window; ``None`` at the start of a stream."""

    @property
    def nominal_voltage(self) -> float:
        """Reference of the THD V threshold and of the voltage events."""
        return self._events.nominal_voltage

    def _restart(self) -> None:
        self._window = None
        self._next_start = None
        self._grid.restart()
        self._events.restart()

    def reset(self) -> None:
        """Forget the stream (after a reconnect); counters pending for a window too."""
        self._key = None
        self._counts = [0, 0, 0]
        self._restart()

    @property
    def active_events(self) -> dict[str, VoltageEvent]:
        """Events in progress by phase (duration so far, extreme so far)."""
        window = self._window
        if window is None:
            now = self._time_s
        else:
            now = (
                window.start_s
                + (self._grid.last_index + 1 - window.start) / window.sample_rate
            )
        return self._events.active(now)

    def feed(self, batch: S1Batch) -> list[S1Summary]:
        """Add decoded frames; return the summaries of the windows they complete."""
        self._counts[2] += batch.discarded_bytes
        n = len(batch)
        if not n:
            return []
        summaries: list[S1Summary] = []
        keys = (batch.info & _CONFIG_BITS).astype(np.int64) | (
            batch.sampling.astype(np.int64) << 8
        )
        self._meter_id = batch.meter_id_at(n - 1)
        begin = 0
        while begin < n:
            if self._key is None or keys[begin] != self._key:
                self._key = int(keys[begin])
                self._restart()
            change = np.flatnonzero(keys[begin:] != self._key)
            stop = begin + int(change[0]) if change.size else n
            self._feed_segment(batch, begin, stop, summaries)
            begin = stop
        return summaries

    def flush(self) -> S1Summary | None:
        """Close the unfinished window at the last sample received (end of a stream)."""
        window = self._window
        last = self._grid.last_index
        if window is None or last < window.start:
            return None
        window.end = last + 1
        window.cycles = max(1, round((window.end - window.start) / window.period))
        return self._close(window)

    def _feed_segment(
        self, batch: S1Batch, begin: int, stop: int, summaries: list[S1Summary]
    ) -> None:
        index = batch.sample_index
        grid = self._grid
        k = begin
        if int(index[k]) <= grid.last_index:
            self._restart()  # the grid went backwards: a new stream
        while k < stop:
            window = self._window or self._open(batch, k)
            if window is None:
                return
            if int(index[k]) >= window.end + 4 * (window.end - window.start):
                self._restart()  # a jump of several windows: start afresh
                continue
            j = k + int(np.searchsorted(index[k:stop], window.end))
            if j > k:
                fcs, invalid = grid.store(
                    batch, k, j, use_invalid_samples=self.use_invalid_samples
                )
                self._counts[0] += fcs
                self._counts[1] += invalid
                k = j
            if k < stop:
                summaries.append(self._close(window))

    def _open(self, batch: S1Batch, k: int) -> Window | None:
        start = self._next_start
        first = start is None
        if start is None:
            start = int(batch.sample_index[k])
        window = plan_window(
            self._key or 0,
            float(batch.frequency_hz[k]),
            self.window_s,
            start,
            self._time_s,
        )
        if window is None:
            return None
        if first:
            self._grid.begin(start, window.period)
            self._events.begin(float(start + round(window.period)))
        self._window = window
        self._grid.reserve(window)
        return window

    def _close(self, window: Window) -> S1Summary:
        key = self._key or 0
        grid = self._grid
        a = window.start - grid.base
        b = window.end - grid.base
        length = b - a
        seen = grid.seen[a:b]
        frames = int(np.count_nonzero(seen))
        usable = int(np.count_nonzero(grid.ok[a:b]))
        grid.fill(a, b, window.period)
        freqs = grid.freq[a:b][seen]
        # The field has mHz steps: round off the float noise of the mean.
        field = round(float(freqs.mean()), 6) if freqs.size else 0.0
        plausible = 40.0 <= field <= 70.0
        rate = window.sample_rate
        if key & INFO_PER_PERIOD and plausible:
            rate = (key >> 8) * field
        # A spectrum needs two cycles at least (a short window at ``flush``).
        enough = (
            usable >= self.min_valid_fraction * length
            and usable > 0
            and length >= 2 * window.period
        )
        zero_cross = (
            zero_crossing(grid.buf[0, a:b], window.period, rate) if enough else None
        )
        frequency = field if plausible else zero_cross
        phases: dict[str, PhaseValues] = {}
        total: TotalValues | None = None
        neutral: float | None = None
        if enough:
            phases, total, neutral = electrical(
                grid.buf[:, a:b],
                key,
                rate,
                frequency or window.frequency,
                self.nominal_voltage,
            )
        events = (
            self._events.detect(grid.buf, grid.base, window, b, key) if enough else ()
        )
        counts = self._counts
        summary = S1Summary(
            frames=frames,
            crc_errors=counts[0],
            missed_frames=length - frames,
            meter_id=self._meter_id,
            polyphase=bool(key & INFO_POLYPHASE),
            four_wire=bool(key & INFO_FOUR_WIRE),
            sampling="per_period" if key & INFO_PER_PERIOD else "per_second",
            sample_rate_hz=rate,
            frequency_hz=frequency,
            phases=phases,
            neutral_current_rms=neutral if key & INFO_NEUTRAL else None,
            total=total,
            start_s=window.start_s,
            duration_s=length / rate,
            cycles=window.cycles,
            samples=length,
            valid_samples=usable,
            invalid_sample_frames=counts[1],
            discarded_bytes=counts[2],
            frequency_zero_crossing_hz=zero_cross,
            events=events,
        )
        self._counts = [0, 0, 0]
        self._time_s = window.start_s + length / rate
        grid.shift(window.end - grid.hist)
        self._window = None
        self._next_start = window.end
        return summary
