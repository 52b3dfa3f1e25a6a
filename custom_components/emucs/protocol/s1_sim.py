"""S1 stream simulator with ground truth, for tests, benchmarks and live feeds.

Signals are sums of harmonics given as RMS phasors, so the truth (RMS, active power,
THD, the Aron and IEEE 1459 totals) comes from phasor arithmetic, independent of how
the analyzer samples and windows. Frames are built with numpy for a whole block of
samples at once; faults are chosen so the counters the decoders must report are known
exactly:

- ``fcs_error_rate``: one bit flipped in a byte under the FCS that is not a header
  byte (type or data or FCS), so the candidate survives and fails only on the FCS;
- ``drop_rate`` / ``drop_burst``: whole frames left out (a USB adapter losing data);
- ``garbage_rate`` / ``garbage_max``: random bytes between frames;
- ``invalid_rate``: frames whose information byte clears "all samples valid".

Missed frames are the lost frames between the first and the last frame received; a
run of 256 or more lost frames is invisible to a mod-256 counter, so keep runs
shorter when comparing counts. Deterministic for a given seed (numpy ``Generator``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from .s1 import (
    ADDRESS,
    AMPERE_PER_LSB,
    CONTROL,
    FLAG,
    FRAME_SIZE,
    INFO_FOUR_WIRE,
    INFO_NEUTRAL,
    INFO_PER_PERIOD,
    INFO_POLYPHASE,
    INFO_VALID,
    LENGTH,
    NOMINAL_FREQUENCY,
    NOMINAL_VOLTAGE,
    OFF_CURRENTS,
    OFF_FCS,
    OFF_FREQUENCY,
    OFF_INFO,
    OFF_METER_ID,
    OFF_SAMPLING,
    OFF_SEQUENCE,
    OFF_TYPE,
    OFF_VOLTAGES,
    STANDARD_TYPE,
    VOLT_PER_LSB,
    sample_rate,
)
from .s1_batch import fcs16_columns

__all__ = [
    "Disturbance",
    "EventTruth",
    "Faults",
    "Harmonic",
    "PhaseSignal",
    "PhaseTruth",
    "S1Simulator",
    "SimConfig",
    "SimTruth",
    "TotalTruth",
    "harmonics",
    "simulate",
]

type Wiring = Literal["single_phase", "three_wire", "four_wire"]
type Phasors = dict[int, complex]
"""Harmonic order to RMS phasor."""

_ANGLES: Final = (0.0, -120.0, 120.0)
_SQRT3: Final = math.sqrt(3.0)
# Bytes a bit error may hit without breaking the candidate header (0, 2-4, 44).
_FCS_ONLY_BYTES: Final = np.array([OFF_TYPE, *range(OFF_METER_ID, OFF_FCS + 2)])


@dataclass(frozen=True, slots=True, kw_only=True)
class Harmonic:
    """One harmonic of a voltage or current."""

    order: int
    ratio: float
    """RMS relative to the fundamental (0.05 = 5 %)."""
    phase_deg: float = 0.0
    """Added to ``order`` × the fundamental's angle."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseSignal:
    """Voltage and current of one phase.

    ``voltage_rms`` is the fundamental of the phase-to-neutral voltage; for a 3-wire
    meter the star-equivalent (``SimConfig.three_wire`` uses 230/√3 so that the line
    voltages U12 and U32 the meter sends are 230 V).
    """

    voltage_rms: float = NOMINAL_VOLTAGE
    current_rms: float = 5.0
    """Fundamental current RMS."""
    current_lag_deg: float = 0.0
    """Angle by which the fundamental current lags its voltage: 180 exports."""
    voltage_harmonics: tuple[Harmonic, ...] = ()
    current_harmonics: tuple[Harmonic, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Disturbance:
    """A rectangular change of one measured voltage channel (dip, swell, interruption)."""

    phase: str
    """``L1``, ``L2`` or ``L3``: the meter's voltage channel (U12/U32 on 3-wire meters)."""
    start_s: float
    duration_s: float
    factor: float
    """Multiplies the whole waveform: 0.7 is a dip to 70 %, 0 an interruption."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    """Line faults; all rates are per frame."""

    fcs_error_rate: float = 0.0
    drop_rate: float = 0.0
    """Probability that a burst of dropped frames starts at a frame."""
    drop_burst: int = 1
    """Burst lengths are uniform in 1..drop_burst."""
    garbage_rate: float = 0.0
    garbage_max: int = 32
    invalid_rate: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """What the simulated meter sends."""

    wiring: Wiring = "four_wire"
    phases: tuple[PhaseSignal, ...] = (PhaseSignal(), PhaseSignal(), PhaseSignal())
    """One signal for single-phase meters, three otherwise (3-wire: L2's current is
    replaced by -(I1 + I3), as Kirchhoff requires without a neutral)."""
    per_period: bool = False
    sampling: int = 40
    """Sampling byte: ×100 Hz per second, or samples per period."""
    frequency_hz: float = NOMINAL_FREQUENCY
    neutral_measured: bool = False
    meter_id: str = "1SAG1100000292"
    frame_type: int = STANDARD_TYPE
    shared_flags: float = 0.0
    """Probability that a frame reuses the previous frame's closing flag."""
    first_sequence: int = 0
    disturbances: tuple[Disturbance, ...] = ()
    faults: Faults = field(default_factory=Faults)

    @classmethod
    def single_phase(
        cls, signal: PhaseSignal | None = None, **kwargs: object
    ) -> SimConfig:
        """Return a single-phase meter."""
        return cls(wiring="single_phase", phases=(signal or PhaseSignal(),), **kwargs)  # type: ignore[arg-type]

    @classmethod
    def three_wire(cls, *signals: PhaseSignal, **kwargs: object) -> SimConfig:
        """Return a 3x230 V (Aron) meter; default phases give 230 V between lines."""
        phases = signals or tuple(
            PhaseSignal(voltage_rms=NOMINAL_VOLTAGE / _SQRT3) for _ in range(3)
        )
        return cls(wiring="three_wire", phases=phases, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def four_wire(cls, *signals: PhaseSignal, **kwargs: object) -> SimConfig:
        """Return a 3N400 V meter."""
        phases = signals or (PhaseSignal(), PhaseSignal(), PhaseSignal())
        return cls(wiring="four_wire", phases=phases, **kwargs)  # type: ignore[arg-type]

    @property
    def info(self) -> int:
        """The information byte (format version 0, all samples valid)."""
        info = INFO_VALID
        if self.wiring != "single_phase":
            info |= INFO_POLYPHASE
        if self.wiring == "four_wire":
            info |= INFO_FOUR_WIRE
        if self.per_period:
            info |= INFO_PER_PERIOD
        if self.neutral_measured:
            info |= INFO_NEUTRAL
        return info

    @property
    def sample_rate_hz(self) -> float:
        """Samples per second."""
        return sample_rate(self.info, self.sampling, self.frequency_hz)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseTruth:
    """Exact values of one element (a phase, or an Aron element on 3-wire meters)."""

    voltage_rms: float
    current_rms: float
    active_power: float
    apparent_power: float
    nonactive_power: float
    """IEEE 1459 non-active power sqrt(S² - P²)."""
    power_factor: float | None
    thd_voltage: float
    """Percent of the fundamental, over every harmonic the signal has."""
    thd_current: float
    fundamental_reactive_power: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TotalTruth:
    """Exact totals (see ``s1_analytics`` for the definitions)."""

    active_power: float
    apparent_power: float
    nonactive_power: float
    power_factor: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventTruth:
    """A voltage event the analyzer should report."""

    kind: Literal["dip", "swell", "interruption"]
    phase: str
    start_s: float
    duration_s: float
    depth_percent: float
    """Dips and interruptions: 100 × (1 - residual/230); swells: 100 × (peak/230 - 1)."""
    extreme_voltage: float


@dataclass(slots=True, kw_only=True)
class SimTruth:
    """Ground truth: electrical values (fixed) and counters (for the bytes so far)."""

    sample_rate_hz: float
    frequency_hz: float
    phases: dict[str, PhaseTruth]
    neutral_current_rms: float | None
    total: TotalTruth
    events: list[EventTruth]
    samples: int = 0
    """Frames built (one per sample), whether sent or not."""
    frames: int = 0
    """Frames the decoders must accept."""
    fcs_errors: int = 0
    dropped_frames: int = 0
    missed_frames: int = 0
    garbage_bytes: int = 0
    discarded_bytes: int = 0
    invalid_sample_frames: int = 0
    frame_types: dict[int, int] = field(default_factory=dict)
    stream_bytes: int = 0


def _rms(phasors: Phasors) -> float:
    return math.sqrt(sum(abs(x) ** 2 for x in phasors.values()))


def _thd(phasors: Phasors) -> float:
    fundamental = abs(phasors.get(1, 0j))
    if fundamental == 0.0:
        return 0.0
    rest = sum(abs(x) ** 2 for h, x in phasors.items() if h >= 2)
    return 100.0 * math.sqrt(rest) / fundamental


def _sub(a: Phasors, b: Phasors) -> Phasors:
    return {h: a.get(h, 0j) - b.get(h, 0j) for h in sorted(a.keys() | b.keys())}


def _add(*terms: Phasors) -> Phasors:
    out: Phasors = {}
    for term in terms:
        for h, x in term.items():
            out[h] = out.get(h, 0j) + x
    return dict(sorted(out.items()))


def _neg(a: Phasors) -> Phasors:
    return {h: -x for h, x in a.items()}


def _signal(rms: float, angle_deg: float, harmonics: tuple[Harmonic, ...]) -> Phasors:
    angle = math.radians(angle_deg)
    phasors: Phasors = {1: rms * complex(math.cos(angle), math.sin(angle))}
    for harmonic in harmonics:
        phase = harmonic.order * angle + math.radians(harmonic.phase_deg)
        term = rms * harmonic.ratio * complex(math.cos(phase), math.sin(phase))
        phasors[harmonic.order] = phasors.get(harmonic.order, 0j) + term
    return phasors


def _element(voltage: Phasors, current: Phasors) -> PhaseTruth:
    vrms, irms = _rms(voltage), _rms(current)
    power = sum((voltage[h] * current.get(h, 0j).conjugate()).real for h in voltage)
    apparent = vrms * irms
    q1 = (voltage.get(1, 0j) * current.get(1, 0j).conjugate()).imag
    return PhaseTruth(
        voltage_rms=vrms,
        current_rms=irms,
        active_power=power,
        apparent_power=apparent,
        nonactive_power=math.sqrt(max(apparent * apparent - power * power, 0.0)),
        power_factor=power / apparent if apparent else None,
        thd_voltage=_thd(voltage),
        thd_current=_thd(current),
        fundamental_reactive_power=q1,
    )


def _total(power: float, apparent: float) -> TotalTruth:
    return TotalTruth(
        active_power=power,
        apparent_power=apparent,
        nonactive_power=math.sqrt(max(apparent * apparent - power * power, 0.0)),
        power_factor=power / apparent if apparent else None,
    )


class S1Simulator:
    """Builds the byte stream of a simulated meter, block by block, with its truth.

    Successive ``generate`` calls continue one stream (samples, sequence numbers,
    shared flags, fault state), so a live feed can call it every few milliseconds.
    """

    def __init__(self, config: SimConfig, seed: int = 0) -> None:
        """Prepare the channels of ``config``; ``seed`` fixes every random choice."""
        wiring = config.wiring
        count = 1 if wiring == "single_phase" else 3
        if len(config.phases) != count:
            raise ValueError(f"{wiring} needs {count} phase signal(s)")
        if not 0 < config.sampling <= 255:
            raise ValueError("sampling must fit the sampling byte (1-255)")
        if wiring == "three_wire" and config.neutral_measured:
            raise ValueError("a 3-wire meter has no neutral")
        channels_of = {
            "single_phase": ("L1",),
            "three_wire": ("L1", "L3"),
            "four_wire": ("L1", "L2", "L3"),
        }
        for dist in config.disturbances:
            if dist.phase not in channels_of[wiring]:
                raise ValueError(
                    f"a {wiring} meter has no voltage channel {dist.phase}"
                )
        self.config = config
        per_cycle = config.sample_rate_hz / config.frequency_hz
        for phase in config.phases:
            for harmonic in (*phase.voltage_harmonics, *phase.current_harmonics):
                if not 2 <= harmonic.order < per_cycle / 2:
                    raise ValueError(
                        f"harmonic {harmonic.order} is not below Nyquist "
                        f"({per_cycle / 2:g} × the fundamental)"
                    )
        self._rng = np.random.default_rng(seed)
        volts = [
            _signal(p.voltage_rms, _ANGLES[k], p.voltage_harmonics)
            for k, p in enumerate(config.phases)
        ]
        amps = [
            _signal(p.current_rms, _ANGLES[k] - p.current_lag_deg, p.current_harmonics)
            for k, p in enumerate(config.phases)
        ]
        zero: Phasors = {}
        # Channel order as in the frame: V1, V2, V3, I1, I2, I3, IN.
        channels: list[Phasors]
        phases: dict[str, PhaseTruth]
        neutral: float | None = None
        if wiring == "single_phase":
            # Without leakage the neutral carries the phase current back.
            in_ = amps[0] if config.neutral_measured else zero
            channels = [volts[0], zero, zero, amps[0], zero, zero, in_]
            phases = {"L1": _element(volts[0], amps[0])}
            total = _total(phases["L1"].active_power, phases["L1"].apparent_power)
            neutral = _rms(in_) if config.neutral_measured else None
        elif wiring == "three_wire":
            u12, u32 = _sub(volts[0], volts[1]), _sub(volts[2], volts[1])
            amps[1] = _neg(_add(amps[0], amps[2]))
            channels = [u12, zero, u32, amps[0], amps[1], amps[2], zero]
            phases = {"L1": _element(u12, amps[0]), "L3": _element(u32, amps[2])}
            # IEEE 1459 effective apparent power of a 3-wire system.
            line = [_rms(u12), _rms(u32), _rms(_sub(u32, u12))]
            ve = math.sqrt(sum(u * u for u in line) / 9.0)
            ie = math.sqrt(sum(_rms(a) ** 2 for a in amps) / 3.0)
            total = _total(
                phases["L1"].active_power + phases["L3"].active_power, 3.0 * ve * ie
            )
        else:
            in_ = _add(*amps) if config.neutral_measured else zero
            channels = [*volts, *amps, in_]
            phases = {f"L{k + 1}": _element(volts[k], amps[k]) for k in range(3)}
            total = _total(
                sum(p.active_power for p in phases.values()),
                sum(p.apparent_power for p in phases.values()),
            )
            neutral = _rms(in_) if config.neutral_measured else None
        self._channels = channels
        self.truth = SimTruth(
            sample_rate_hz=config.sample_rate_hz,
            frequency_hz=config.frequency_hz,
            phases=phases,
            neutral_current_rms=neutral,
            total=total,
            events=self._event_truth(channels),
        )
        self._static = self._static_bytes()
        self._next_sample = 0
        self._prev_closing_flag = False
        self._first_good_seen = False
        self._lost_pending = 0
        self._burst_left = 0
        self._covered = 0
        self._last_good_start = -2 * FRAME_SIZE  # far enough to overlap nothing

    def _event_truth(self, channels: list[Phasors]) -> list[EventTruth]:
        events = []
        for dist in self.config.disturbances:
            rms = _rms(channels[int(dist.phase[1]) - 1]) * dist.factor
            ratio = rms / NOMINAL_VOLTAGE
            if ratio < 0.05:
                kind: Literal["dip", "swell", "interruption"] = "interruption"
            elif ratio < 0.9:
                kind = "dip"
            elif ratio > 1.1:
                kind = "swell"
            else:
                continue
            events.append(
                EventTruth(
                    kind=kind,
                    phase=dist.phase,
                    start_s=dist.start_s,
                    duration_s=dist.duration_s,
                    depth_percent=100.0 * abs(1.0 - ratio),
                    extreme_voltage=rms,
                )
            )
        return events

    def _static_bytes(self) -> npt.NDArray[np.uint8]:
        config = self.config
        row = np.zeros(FRAME_SIZE, dtype=np.uint8)
        row[0] = FLAG
        row[OFF_TYPE] = config.frame_type
        row[2], row[3], row[4] = LENGTH, ADDRESS, CONTROL
        meter_id = config.meter_id.encode("ascii")[: OFF_INFO - OFF_METER_ID]
        row[OFF_METER_ID : OFF_METER_ID + len(meter_id)] = list(meter_id)
        row[OFF_INFO] = config.info
        row[OFF_SAMPLING] = config.sampling
        mhz = round(config.frequency_hz * 1000.0)
        row[OFF_FREQUENCY], row[OFF_FREQUENCY + 1] = mhz >> 8, mhz & 0xFF
        row[-1] = FLAG
        return row

    def sample_times(self, first: int, count: int) -> npt.NDArray[np.float64]:
        """Return the times in seconds of samples ``first`` … ``first + count - 1``."""
        times: npt.NDArray[np.float64] = np.arange(count, dtype=np.float64) + first
        times /= self.config.sample_rate_hz
        return times

    def waveforms(self, first: int, count: int) -> npt.NDArray[np.float64]:
        """Return the analog channels (7, count): V1, V2, V3, I1, I2, I3, IN, disturbed."""
        config = self.config
        n = first + np.arange(count, dtype=np.float64)
        if config.per_period:
            cycles = n / config.sampling
        else:
            cycles = n * (config.frequency_hz / config.sample_rate_hz)
        # Reduce to one cycle first so long streams keep full phase precision.
        theta = 2.0 * np.pi * (cycles - np.floor(cycles))
        out = np.zeros((7, count), dtype=np.float64)
        for k, phasors in enumerate(self._channels):
            for h, x in phasors.items():
                if x:
                    out[k] += math.sqrt(2.0) * abs(x) * np.cos(h * theta + np.angle(x))
        if config.disturbances:
            t = self.sample_times(first, count)
            for dist in config.disturbances:
                inside = (t >= dist.start_s) & (t < dist.start_s + dist.duration_s)
                out[int(dist.phase[1]) - 1, inside] *= dist.factor
        return out

    def generate(
        self, seconds: float | None = None, *, samples: int | None = None
    ) -> bytes:
        """Return the bytes of the next ``seconds`` (or ``samples`` frames) of the stream."""
        if samples is not None:
            count = samples
        else:
            count = round((seconds or 0.0) * self.config.sample_rate_hz)
        if count <= 0:
            return b""
        first = self._next_sample
        self._next_sample += count
        rows = self._frames(first, count)
        return self._emit(rows)

    def _frames(self, first: int, count: int) -> npt.NDArray[np.uint8]:
        config = self.config
        faults = config.faults
        rng = self._rng
        rows = np.broadcast_to(self._static, (count, FRAME_SIZE)).copy()
        wave = self.waveforms(first, count)
        volts = np.clip(np.rint(wave[:3] / VOLT_PER_LSB), -32768, 32767).astype(
            np.int64
        )
        amps = np.clip(np.rint(wave[3:] / AMPERE_PER_LSB), -(1 << 23), (1 << 23) - 1)
        amps_i = amps.astype(np.int64)
        for k, off in enumerate(OFF_VOLTAGES):
            rows[:, off] = (volts[k] >> 8) & 0xFF
            rows[:, off + 1] = volts[k] & 0xFF
        for k, off in enumerate(OFF_CURRENTS):
            rows[:, off] = (amps_i[k] >> 16) & 0xFF
            rows[:, off + 1] = (amps_i[k] >> 8) & 0xFF
            rows[:, off + 2] = amps_i[k] & 0xFF
        rows[:, OFF_SEQUENCE] = (
            config.first_sequence + first + np.arange(count)
        ) & 0xFF
        if faults.invalid_rate:
            invalid = rng.random(count) < faults.invalid_rate
            rows[invalid, OFF_INFO] &= ~INFO_VALID & 0xFF
        fcs = fcs16_columns(np.ascontiguousarray(rows[:, OFF_TYPE:OFF_FCS].T))
        rows[:, OFF_FCS] = fcs & 0xFF
        rows[:, OFF_FCS + 1] = fcs >> 8
        return rows

    def _emit(self, rows: npt.NDArray[np.uint8]) -> bytes:
        """Apply the faults, lay the frames out and update the counters."""
        faults = self.config.faults
        rng = self._rng
        truth = self.truth
        count = rows.shape[0]
        truth.samples += count

        dropped = self._drops(count)
        corrupt = ~dropped & (rng.random(count) < faults.fcs_error_rate)
        where = np.flatnonzero(corrupt)
        if where.size:
            offsets = rng.choice(_FCS_ONLY_BYTES, where.size)
            bits = rng.integers(0, 8, where.size)
            rows[where, offsets] ^= (1 << bits).astype(np.uint8)

        sent = np.flatnonzero(~dropped)
        rows = rows[sent]
        corrupt = corrupt[sent]
        n = sent.size
        garbage = np.zeros(n, dtype=np.int64)
        if faults.garbage_rate and n:
            mask = rng.random(n) < faults.garbage_rate
            garbage[mask] = rng.integers(1, faults.garbage_max + 1, int(mask.sum()))
        # A frame shares the previous closing flag only when nothing lies between.
        shared = rng.random(n) < self.config.shared_flags
        shared &= garbage == 0
        if n:
            shared[0] &= self._prev_closing_flag
        skip = shared.astype(np.int64)
        lengths = garbage + FRAME_SIZE - skip
        ends = np.cumsum(lengths)
        starts = ends - FRAME_SIZE  # absolute only within this block
        total = int(ends[-1]) if n else 0
        out = (
            rng.integers(0, 256, total, dtype=np.uint8)
            if garbage.any()
            else np.empty(total, dtype=np.uint8)
        )
        index = starts[:, None] + np.arange(FRAME_SIZE)
        keep = np.ones((n, FRAME_SIZE), dtype=bool)
        keep[:, 0] = ~shared
        out[index[keep]] = rows[keep]
        if n:
            self._prev_closing_flag = True

        self._count(
            dropped=dropped,
            corrupt=corrupt,
            starts=starts,
            garbage=garbage,
            total=total,
            info=rows[:, OFF_INFO],
        )
        return out.tobytes()

    def _drops(self, count: int) -> npt.NDArray[np.bool_]:
        faults = self.config.faults
        dropped = np.zeros(count, dtype=bool)
        if self._burst_left:
            dropped[: self._burst_left] = True
            self._burst_left = max(0, self._burst_left - count)
        if not faults.drop_rate:
            return dropped
        starts = np.flatnonzero(self._rng.random(count) < faults.drop_rate)
        lengths = self._rng.integers(1, max(1, faults.drop_burst) + 1, starts.size)
        marks = np.zeros(count + 1, dtype=np.int64)
        np.add.at(marks, starts, 1)
        np.add.at(marks, np.minimum(starts + lengths, count), -1)
        dropped |= np.cumsum(marks[:-1]) > 0
        if starts.size:
            self._burst_left = max(
                self._burst_left, int((starts + lengths).max()) - count
            )
        return dropped

    def _count(
        self,
        *,
        dropped: npt.NDArray[np.bool_],
        corrupt: npt.NDArray[np.bool_],
        starts: npt.NDArray[np.int64],
        garbage: npt.NDArray[np.int64],
        total: int,
        info: npt.NDArray[np.uint8],
    ) -> None:
        truth = self.truth
        base = truth.stream_bytes
        good = ~corrupt
        truth.dropped_frames += int(dropped.sum())
        truth.fcs_errors += int(corrupt.sum())
        truth.garbage_bytes += int(garbage.sum())
        nframes = int(good.sum())
        truth.frames += nframes
        if nframes:
            ftype = self.config.frame_type
            truth.frame_types[ftype] = truth.frame_types.get(ftype, 0) + nframes
        truth.invalid_sample_frames += int(
            np.count_nonzero((info[good] & INFO_VALID) == 0)
        )

        # Lost frames (dropped or corrupt) between the first and last good frame.
        lost = dropped.copy()
        lost[np.flatnonzero(~dropped)[corrupt]] = True
        received = np.flatnonzero(~lost)
        if received.size:
            inner = int(lost[received[0] : received[-1]].sum())
            if self._first_good_seen:
                truth.missed_frames += self._lost_pending + int(
                    lost[: received[0]].sum()
                )
            truth.missed_frames += inner
            self._first_good_seen = True
            self._lost_pending = int(lost[received[-1] + 1 :].sum())
        else:
            self._lost_pending += int(lost.sum())

        # Bytes discarded: everything up to where the decoders stop scanning that no
        # good frame covers (spans of shared flags overlap by one byte).
        good_starts = base + starts[good]
        if good_starts.size:
            prev = np.concatenate(([self._last_good_start], good_starts[:-1]))
            overlap = np.maximum(prev + FRAME_SIZE - good_starts, 0)
            self._covered += int((FRAME_SIZE - overlap).sum())
            self._last_good_start = int(good_starts[-1])
        truth.stream_bytes = base + total
        stop = truth.stream_bytes - (FRAME_SIZE - 1)
        if truth.frames:
            stop = max(stop, self._last_good_start + FRAME_SIZE - 1)
            beyond = max(0, self._last_good_start + FRAME_SIZE - stop)
        else:
            beyond = 0
        truth.discarded_bytes = max(0, stop) - (self._covered - beyond)


def simulate(
    config: SimConfig, seconds: float, seed: int = 0
) -> tuple[bytes, SimTruth]:
    """One call: the bytes of ``seconds`` of ``config`` and their truth."""
    sim = S1Simulator(config, seed)
    data = sim.generate(seconds)
    return data, sim.truth


def harmonics(
    *pairs: tuple[int, float], phase_deg: float = 0.0
) -> tuple[Harmonic, ...]:
    """Shorthand: ``harmonics((3, 0.05), (5, 0.03))``."""
    return tuple(Harmonic(order=h, ratio=r, phase_deg=phase_deg) for h, r in pairs)
