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
import math
from typing import Any, Final, Literal, cast

import numpy as np
import numpy.typing as npt

from .s1 import (
    INFO_FOUR_WIRE,
    INFO_NEUTRAL,
    INFO_PER_PERIOD,
    INFO_POLYPHASE,
    INFO_VALID,
)
from .s1_batch import S1Batch

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

type F64 = npt.NDArray[np.float64]
type Bool = npt.NDArray[np.bool_]
type EventKind = Literal["dip", "swell", "interruption"]

DEFAULT_WINDOW_S: Final = 1.0
NOMINAL_VOLTAGE: Final = 230.0
NOMINAL_FREQUENCY: Final = 50.0
MAX_HARMONIC: Final = 40
DIP: Final = 0.90
SWELL: Final = 1.10
INTERRUPTION: Final = 0.05
HYSTERESIS: Final = 0.02
MIN_CURRENT_PF: Final = 0.01
"""A; below this the power factor is not reported."""
MIN_CURRENT_THD: Final = 0.05
"""A (fundamental); below this 1 mA quantization dominates the current THD."""
MIN_VOLTAGE_THD: Final = 0.05
"""Fraction of nominal voltage (fundamental) below which THD V is not reported."""
_CONFIG_BITS: Final = INFO_POLYPHASE | INFO_PER_PERIOD | INFO_FOUR_WIRE | INFO_NEUTRAL
_ELEMENTS: Final = (("L1", 0, 3), ("L2", 1, 4), ("L3", 2, 5))
_FILL_STEPS: Final = (1, -1, 2, -2, 3, -3)
"""Cycles to look back (positive) or ahead for a missing sample, nearest first."""


def max_harmonic(sample_rate_hz: float, frequency_hz: float) -> int:
    """Highest harmonic analysed: ≤ 40 and at least f/2 below Nyquist (39 at 4 kHz/50 Hz)."""
    return max(
        1, min(MAX_HARMONIC, math.floor(sample_rate_hz / (2.0 * frequency_hz) - 0.5))
    )


def non_active_power(power: float, apparent: float) -> float:
    """IEEE 1459 non-active power sqrt(S² - P²), 0 when rounding makes P exceed S."""
    return math.sqrt(max(apparent * apparent - power * power, 0.0))


def meter_elements(key: int) -> tuple[tuple[str, int, int], ...]:
    """Name, voltage row and current row of each element the meter mode has.

    Rows of the sample buffer: V1-V3 are 0-2, I1-I3 3-5, IN 6. A 3-wire meter has two
    Aron elements, L1 = (U12, I1) and L3 = (U32, I3).
    """
    if not key & INFO_POLYPHASE:
        return _ELEMENTS[:1]
    if key & INFO_FOUR_WIRE:
        return _ELEMENTS
    return _ELEMENTS[::2]


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseValues:
    """One element over one window."""

    voltage_rms: float
    current_rms: float
    active_power: float
    apparent_power: float
    reactive_power: float
    """Non-active power N = sqrt(S² - P²) (IEEE 1459), unsigned."""
    power_factor: float | None
    thd_voltage: float | None
    thd_current: float | None
    fundamental_reactive_power: float
    """Q1, positive when the fundamental current lags (inductive load)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of the CLI contract."""
        return {
            "voltage_rms": self.voltage_rms,
            "current_rms": self.current_rms,
            "active_power": self.active_power,
            "apparent_power": self.apparent_power,
            "reactive_power": self.reactive_power,
            "power_factor": self.power_factor,
            "thd_voltage": self.thd_voltage,
            "thd_current": self.thd_current,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TotalValues:
    """Totals over the elements (definitions in the module docstring)."""

    active_power: float
    apparent_power: float
    reactive_power: float
    """Non-active power sqrt(S² - P²) of the totals."""
    power_factor: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of the CLI contract."""
        return {
            "active_power": self.active_power,
            "apparent_power": self.apparent_power,
            "reactive_power": self.reactive_power,
            "power_factor": self.power_factor,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class VoltageEvent:
    """A dip, swell or interruption on one voltage channel."""

    kind: EventKind
    phase: str
    """``L1``-``L3`` (on 3-wire meters ``L1`` = U12, ``L3`` = U32)."""
    start_s: float
    """Seconds since the analyzer's first sample."""
    duration_s: float
    depth_percent: float
    """Dips and interruptions: 100 × (1 - lowest Urms(1/2) / nominal);
    swells: 100 × (highest / nominal - 1)."""
    extreme_voltage: float
    """Lowest (dip, interruption) or highest (swell) Urms(1/2) in V."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "kind": self.kind,
            "phase": self.phase,
            "start_s": self.start_s,
            "duration_s": self.duration_s,
            "depth_percent": self.depth_percent,
            "extreme_voltage": self.extreme_voltage,
        }


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


@dataclass(slots=True)
class _Active:
    """An event in progress on one channel."""

    low: bool
    start_s: float
    extreme: float


@dataclass(slots=True)
class _Window:
    """Geometry of the window being filled."""

    start: int
    end: int
    cycles: int
    period: float
    """Samples per cycle (a whole number with per-period sampling)."""
    sample_rate: float
    frequency: float
    start_s: float


class S1Analyzer:
    """Streaming analytics: feed ``S1Batch`` objects, get a summary per completed window.

    A window closes when a sample beyond its end arrives. A change of meter mode
    (information bits or sampling byte) or a jump back in ``sample_index`` starts a
    new stream; the unfinished window is dropped.
    """

    __slots__ = (
        "_active",
        "_base",
        "_buf",
        "_counts",
        "_freq",
        "_half_next",
        "_hist",
        "_key",
        "_last_index",
        "_meter_id",
        "_next_start",
        "_ok",
        "_seen",
        "_time_s",
        "_window",
        "min_valid_fraction",
        "nominal_voltage",
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
        self.nominal_voltage = nominal_voltage
        self.use_invalid_samples = use_invalid_samples
        self.min_valid_fraction = min_valid_fraction
        self._buf: F64 = np.zeros((7, 0))
        self._ok: Bool = np.zeros(0, dtype=bool)
        self._seen: Bool = np.zeros(0, dtype=bool)
        self._freq: F64 = np.zeros(0)
        self._active: dict[str, _Active] = {}
        self._counts = [0, 0, 0]  # FCS errors, invalid-sample frames, discarded bytes
        self._time_s = 0.0
        self._key: int | None = None
        self._meter_id = ""
        self._window: _Window | None = None
        self._next_start: int | None = None
        """Start of the next window; ``None`` at the start of a stream."""
        self._base = 0
        self._hist = 0
        self._half_next = -1.0
        self._last_index = -1

    def _restart(self) -> None:
        self._window = None
        self._next_start = None
        self._base = 0
        self._hist = 0
        self._half_next = -1.0
        self._last_index = -1
        self._ok[:] = False
        self._seen[:] = False
        self._active.clear()

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
                + (self._last_index + 1 - window.start) / window.sample_rate
            )
        return {
            phase: self._event(phase, state, now)
            for phase, state in self._active.items()
        }

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
        if window is None or self._last_index < window.start:
            return None
        window.end = self._last_index + 1
        window.cycles = max(1, round((window.end - window.start) / window.period))
        return self._close(window)

    # -- placing samples ---------------------------------------------------------

    def _feed_segment(
        self, batch: S1Batch, begin: int, stop: int, summaries: list[S1Summary]
    ) -> None:
        index = batch.sample_index
        k = begin
        if int(index[k]) <= self._last_index:
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
                self._store(batch, k, j)
                k = j
            if k < stop:
                summaries.append(self._close(window))

    def _open(self, batch: S1Batch, k: int) -> _Window | None:
        key = self._key or 0
        sampling = key >> 8
        field = float(batch.frequency_hz[k])
        frequency = field if 40.0 <= field <= 70.0 else NOMINAL_FREQUENCY
        cycles = max(1, round(self.window_s * frequency))
        if key & INFO_PER_PERIOD:
            period = float(sampling)
            rate = sampling * frequency
            length = cycles * sampling
        else:
            rate = sampling * 100.0
            period = rate / frequency
            length = round(cycles * period)
        if period < 8.0:
            return None  # not a sampled waveform we can analyse
        if self._next_start is None:
            start = int(batch.sample_index[k])
            self._hist = math.ceil(3 * period) + 2
            self._base = start - self._hist
            self._half_next = float(start + round(period))
        else:
            start = self._next_start
        window = _Window(
            start=start,
            end=start + length,
            cycles=cycles,
            period=period,
            sample_rate=rate,
            frequency=frequency,
            start_s=self._time_s,
        )
        self._window = window
        need = window.end - self._base + 1
        if need > self._buf.shape[1]:
            self._grow(need + length // 2)
        return window

    def _grow(self, capacity: int) -> None:
        old = self._buf.shape[1]
        buf = np.zeros((7, capacity))
        buf[:, :old] = self._buf
        self._buf = buf
        for name in ("_ok", "_seen"):
            arr = np.zeros(capacity, dtype=bool)
            arr[:old] = getattr(self, name)
            setattr(self, name, arr)
        freq = np.zeros(capacity)
        freq[:old] = self._freq
        self._freq = freq

    def _store(self, batch: S1Batch, k: int, j: int) -> None:
        first = int(batch.sample_index[k]) - self._base
        last = int(batch.sample_index[j - 1]) - self._base
        # Without lost frames the positions are a plain slice (much cheaper).
        pos: slice | npt.NDArray[np.int64] = (
            slice(first, last + 1)
            if last - first == j - k - 1
            else batch.sample_index[k:j] - self._base
        )
        buf = self._buf
        buf[0:3, pos] = batch.v[:, k:j]
        buf[3:6, pos] = batch.i[:, k:j]
        buf[6, pos] = batch.i_n[k:j]
        valid = (batch.info[k:j] & INFO_VALID) != 0
        self._ok[pos] = True if self.use_invalid_samples else valid
        self._seen[pos] = True
        self._freq[pos] = batch.frequency_hz[k:j]
        counts = self._counts
        counts[0] += int(batch.fcs_before[k:j].sum())
        counts[1] += int(valid.size - np.count_nonzero(valid))
        self._last_index = int(batch.sample_index[j - 1])

    # -- one window ----------------------------------------------------------------

    def _close(self, window: _Window) -> S1Summary:
        key = self._key or 0
        a = window.start - self._base
        b = window.end - self._base
        length = b - a
        seen = self._seen[a:b]
        frames = int(np.count_nonzero(seen))
        usable = int(np.count_nonzero(self._ok[a:b]))
        self._fill(a, b, window.period)
        freqs = self._freq[a:b][seen]
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
        zero_cross = self._zero_crossing(a, b, window, rate) if enough else None
        frequency = field if plausible else zero_cross
        phases: dict[str, PhaseValues] = {}
        total: TotalValues | None = None
        neutral: float | None = None
        if enough:
            phases, total, neutral = self._electrical(
                a, b, key, rate, frequency or window.frequency
            )
        events = self._events(window, b, key) if enough else ()
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
        self._shift(window.end - self._hist)
        self._window = None
        self._next_start = window.end
        return summary

    def _shift(self, new_base: int) -> None:
        """Keep only the history before the next window at the front of the buffers."""
        offset = new_base - self._base
        if offset <= 0:
            return
        keep = max(0, self._buf.shape[1] - offset)
        for arr in (self._ok, self._seen):
            arr[:keep] = arr[offset:]
            arr[keep:] = False
        self._buf[:, :keep] = self._buf[:, offset:]
        self._freq[:keep] = self._freq[offset:]
        self._base = new_base

    def _fill(self, a: int, b: int, period: float) -> None:
        """Fill the holes in [a, b) from the same instant of neighbouring cycles."""
        ok = self._ok
        todo = np.flatnonzero(~ok[a:b]) + a
        if not todo.size:
            return
        buf = self._buf
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

    def _zero_crossing(
        self, a: int, b: int, window: _Window, rate: float
    ) -> float | None:
        """Frequency from interpolated positive-going zero crossings of channel 1."""
        v = self._buf[0, a:b]
        below = v < 0.0
        k = np.flatnonzero(below[:-1] & ~below[1:])
        if k.size:
            # Harmonics or noise can cross several times near zero: keep the first
            # crossing of each cycle.
            k = k[np.diff(k, prepend=-(10**9)) > window.period / 2]
        if k.size < 3:
            return None
        t = k + v[k] / (v[k] - v[k + 1])
        return float((k.size - 1) * rate / (t[-1] - t[0]))

    def _electrical(
        self, a: int, b: int, key: int, rate: float, frequency: float
    ) -> tuple[dict[str, PhaseValues], TotalValues, float | None]:
        w = self._buf[:, a:b]
        length = b - a
        elements = meter_elements(key)
        rows = [ch for _, v, i in elements for ch in (v, i)]
        x = w[rows]
        ms = np.einsum("ij,ij->i", x, x) / length
        rms = np.sqrt(ms)
        spectrum = np.fft.rfft(x, axis=1)
        energy = spectrum.real**2 + spectrum.imag**2
        top = max_harmonic(rate, frequency)
        centers = np.rint(np.arange(1, top + 1) * (frequency * length / rate)).astype(
            int
        )
        centers = centers[centers + 1 < energy.shape[1]]
        groups = energy[:, centers[:, None] + np.array([-1, 0, 1])].sum(axis=2)
        fundamental = np.sqrt(groups[:, 0])
        distortion = np.sqrt(groups[:, 1:].sum(axis=1))
        c1 = int(centers[0])
        scale = math.sqrt(2.0) / length  # DFT bin -> RMS phasor

        phases: dict[str, PhaseValues] = {}
        for n, (name, vch, ich) in enumerate(elements):
            vr, ir = float(rms[2 * n]), float(rms[2 * n + 1])
            power = float(np.dot(w[vch], w[ich])) / length
            apparent = vr * ir
            v1 = spectrum[2 * n, c1] * scale
            i1 = spectrum[2 * n + 1, c1] * scale
            v_fund = float(fundamental[2 * n]) * scale
            i_fund = float(fundamental[2 * n + 1]) * scale
            phases[name] = PhaseValues(
                voltage_rms=vr,
                current_rms=ir,
                active_power=power,
                apparent_power=apparent,
                reactive_power=non_active_power(power, apparent),
                power_factor=(
                    power / apparent if ir >= MIN_CURRENT_PF and vr > 0 else None
                ),
                thd_voltage=(
                    100.0 * float(distortion[2 * n]) / float(fundamental[2 * n])
                    if v_fund >= MIN_VOLTAGE_THD * self.nominal_voltage
                    else None
                ),
                thd_current=(
                    100.0 * float(distortion[2 * n + 1]) / float(fundamental[2 * n + 1])
                    if i_fund >= MIN_CURRENT_THD
                    else None
                ),
                fundamental_reactive_power=float((v1 * i1.conjugate()).imag),
            )

        power = sum(p.active_power for p in phases.values())
        if key & INFO_POLYPHASE and not key & INFO_FOUR_WIRE:
            u31 = w[2] - w[0]
            i2 = -(w[3] + w[5])
            ve2 = (ms[0] + ms[2] + float(np.dot(u31, u31)) / length) / 9.0
            ie2 = (ms[1] + ms[3] + float(np.dot(i2, i2)) / length) / 3.0
            apparent = 3.0 * math.sqrt(ve2 * ie2)
        else:
            apparent = sum(p.apparent_power for p in phases.values())
        total = TotalValues(
            active_power=power,
            apparent_power=apparent,
            reactive_power=non_active_power(power, apparent),
            power_factor=power / apparent if apparent > 0.0 else None,
        )
        neutral = None
        if key & INFO_NEUTRAL:
            neutral = math.sqrt(float(np.dot(w[6], w[6])) / length)
        return phases, total, neutral

    # -- voltage events ------------------------------------------------------------

    def _events(self, window: _Window, b: int, key: int) -> tuple[VoltageEvent, ...]:
        """Urms(1/2) values ending in this window, run through the event state machines."""
        span = max(1, round(window.period))
        half = window.period / 2.0
        first = self._half_next
        if first < self._base + span:
            first = float(self._base + span)
        ends_abs = np.arange(first, window.end + 1e-9, half)
        if not ends_abs.size:
            return ()
        self._half_next = float(ends_abs[-1] + half)
        ends = np.rint(ends_abs).astype(np.int64) - self._base
        ends = np.minimum(ends, b)
        times = (
            window.start_s + (ends_abs - span / 2.0 - window.start) / window.sample_rate
        )
        nominal = self.nominal_voltage
        events: list[VoltageEvent] = []
        for name, ch, _ in meter_elements(key):
            v = self._buf[ch, :b]
            cum = np.concatenate(([0.0], np.cumsum(v * v)))
            urms = np.sqrt(np.maximum(cum[ends] - cum[ends - span], 0.0) / span)
            if name not in self._active and bool(
                np.all((urms >= DIP * nominal) & (urms <= SWELL * nominal))
            ):
                continue
            events.extend(
                self._track(
                    name,
                    cast("list[float]", urms.tolist()),
                    cast("list[float]", times.tolist()),
                )
            )
        return tuple(events)

    def _track(
        self, name: str, urms: list[float], times: list[float]
    ) -> list[VoltageEvent]:
        nominal = self.nominal_voltage
        ended: list[VoltageEvent] = []
        state = self._active.get(name)
        for u, t in zip(urms, times, strict=True):
            if state is not None:
                if state.low:
                    state.extreme = min(state.extreme, u)
                    over = u >= (DIP + HYSTERESIS) * nominal
                else:
                    state.extreme = max(state.extreme, u)
                    over = u <= (SWELL - HYSTERESIS) * nominal
                if not over:
                    continue
                ended.append(self._event(name, state, t))
                state = None
            if u < DIP * nominal:
                state = _Active(low=True, start_s=t, extreme=u)
            elif u > SWELL * nominal:
                state = _Active(low=False, start_s=t, extreme=u)
        if state is None:
            self._active.pop(name, None)
        else:
            self._active[name] = state
        return ended

    def _event(self, name: str, state: _Active, end_s: float) -> VoltageEvent:
        nominal = self.nominal_voltage
        kind: EventKind
        if not state.low:
            kind = "swell"
            depth = 100.0 * (state.extreme / nominal - 1.0)
        else:
            kind = "interruption" if state.extreme < INTERRUPTION * nominal else "dip"
            depth = 100.0 * (1.0 - state.extreme / nominal)
        return VoltageEvent(
            kind=kind,
            phase=name,
            start_s=state.start_s,
            duration_s=end_s - state.start_s,
            depth_percent=depth,
            extreme_voltage=state.extreme,
        )
