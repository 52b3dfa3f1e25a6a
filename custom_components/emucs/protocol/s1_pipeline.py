"""S1 from bytes to published values: the part that runs in an executor.

``S1Feed`` is the only piece the event loop touches: it appends received chunks to
a bounded list. Every 100-250 ms the owner takes the whole batch and hands it to
``S1Pipeline.process`` in a worker thread (one at a time). If the worker falls
behind, the feed drops whole batches and says so, so the pipeline restarts its
stream instead of stitching samples across a hole it cannot see (the 8-bit
sequence counter wraps after 256 frames, 64 ms at 4 kHz).

``mean_values`` turns the 1-s summaries of a publish interval into one set of
values: RMS values are quadratic means (the RMS over the whole interval, windows
being of equal length), P, Q1, THD and frequency arithmetic means, S the mean
apparent power; N and PF follow from the means of P and S.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import math
from typing import Final, cast

import numpy as np

from .s1_analytics import S1Analyzer, S1Summary
from .s1_batch import S1Batch, S1BatchDecoder
from .s1_power import PhaseValues, TotalValues, meter_elements, non_active_power

__all__ = [
    "MAX_FEED_BYTES",
    "S1Feed",
    "S1Pipeline",
    "S1Result",
    "S1Values",
    "Waveform",
    "mean_values",
]

MAX_FEED_BYTES: Final = 512 * 1024
"""About 2.6 s of a full 2 Mbit/s line; beyond that the worker is not keeping up."""
WAVEFORM_CYCLES: Final = 2


class S1Feed:
    """Bounded hand-off of received bytes from the event loop to the worker."""

    __slots__ = ("_chunks", "_restart", "_size", "dropped_batches", "dropped_bytes")

    def __init__(self) -> None:
        """Create an empty feed."""
        self._chunks: list[bytes] = []
        self._size = 0
        self._restart = True
        self.dropped_batches = 0
        self.dropped_bytes = 0

    def append(self, data: bytes) -> None:
        """Queue a chunk (event loop; O(1) amortised). Drops the backlog when full."""
        if self._size + len(data) > MAX_FEED_BYTES:
            self.dropped_batches += 1
            self.dropped_bytes += self._size
            self._chunks.clear()
            self._size = 0
            self._restart = True
        self._chunks.append(data)
        self._size += len(data)

    def restart(self) -> None:
        """Forget queued bytes: the link was reopened, the stream starts afresh."""
        self._chunks.clear()
        self._size = 0
        self._restart = True

    def take(self) -> tuple[bytes, bool]:
        """Return the queued bytes and whether the stream restarts with them."""
        data = b"".join(self._chunks)
        restart = self._restart
        self._chunks.clear()
        self._size = 0
        self._restart = False
        return data, restart


@dataclass(frozen=True, slots=True, kw_only=True)
class Waveform:
    """The last whole cycles of the stream, per element, in V and A."""

    phases: tuple[str, ...]
    sample_rate_hz: float
    frequency_hz: float
    voltage: tuple[tuple[float, ...], ...]
    current: tuple[tuple[float, ...], ...]


@dataclass(slots=True)
class S1Result:
    """What one ``process`` call produced."""

    summaries: list[S1Summary] = field(default_factory=list)
    waveform: Waveform | None = None
    frames: int = 0


class S1Pipeline:
    """Batch decoder plus analyzer; not thread-safe: one ``process`` at a time."""

    __slots__ = ("analyzer", "decoder")

    def __init__(self, window_s: float = 1.0) -> None:
        """Create a pipeline with one analysis window of ``window_s`` seconds."""
        self.decoder = S1BatchDecoder()
        self.analyzer = S1Analyzer(window_s=window_s)

    def process(self, data: bytes, *, restart: bool = False) -> S1Result:
        """Decode and analyse ``data``; ``restart`` after bytes were lost unseen."""
        if restart:
            self.decoder.reset()
            self.analyzer.reset()
        batch = self.decoder.feed(data)
        return S1Result(
            summaries=self.analyzer.feed(batch),
            waveform=_waveform(batch),
            frames=len(batch),
        )


def _waveform(batch: S1Batch) -> Waveform | None:
    """Return the last two cycles of ``batch`` if they arrived without a hole."""
    n = len(batch)
    if not n:
        return None
    frequency = float(batch.frequency_hz[-1])
    rate = float(batch.sample_rate_hz[-1])
    if not 40.0 <= frequency <= 70.0 or rate <= 0:
        return None
    count = math.ceil(WAVEFORM_CYCLES * rate / frequency)
    if count > n or batch.sample_index[-1] - batch.sample_index[-count] != count - 1:
        return None
    channels = meter_elements(int(batch.info[-1]))
    rows = [voltage for _, voltage, _ in channels]  # I row = V row + 3
    volts = cast("list[list[float]]", np.round(batch.v[rows, -count:], 3).tolist())
    amps = cast("list[list[float]]", np.round(batch.i[rows, -count:], 4).tolist())
    return Waveform(
        phases=tuple(name for name, _, _ in channels),
        sample_rate_hz=rate,
        frequency_hz=frequency,
        voltage=tuple(tuple(row) for row in volts),
        current=tuple(tuple(row) for row in amps),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class S1Values:
    """The published values: the mean of the windows of one publish interval."""

    windows: int
    meter_id: str
    polyphase: bool
    four_wire: bool
    sampling: str
    sample_rate_hz: float
    frequency_hz: float | None
    phases: dict[str, PhaseValues]
    total: TotalValues | None
    neutral_current_rms: float | None


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _qmean(values: Sequence[float]) -> float:
    return math.sqrt(sum(v * v for v in values) / len(values))


def _power_factor(power: float, apparent: float) -> float | None:
    return power / apparent if apparent > 0.0 else None


def mean_values(summaries: Sequence[S1Summary]) -> S1Values | None:
    """Average the analysed windows; ``None`` when none had electrical values."""
    analysed = [s for s in summaries if s.phases]
    if not analysed:
        return None
    last = analysed[-1]
    phases: dict[str, PhaseValues] = {}
    for name in last.phases:
        rows = [s.phases[name] for s in analysed if name in s.phases]
        power = sum(p.active_power for p in rows) / len(rows)
        apparent = sum(p.apparent_power for p in rows) / len(rows)
        current = _qmean([p.current_rms for p in rows])
        phases[name] = PhaseValues(
            voltage_rms=_qmean([p.voltage_rms for p in rows]),
            current_rms=current,
            active_power=power,
            apparent_power=apparent,
            reactive_power=non_active_power(power, apparent),
            # As the analyzer: no PF for a current too small to say anything.
            power_factor=(
                _power_factor(power, apparent)
                if any(p.power_factor is not None for p in rows)
                else None
            ),
            thd_voltage=_mean([p.thd_voltage for p in rows]),
            thd_current=_mean([p.thd_current for p in rows]),
            fundamental_reactive_power=sum(p.fundamental_reactive_power for p in rows)
            / len(rows),
        )
    totals = [s.total for s in analysed if s.total is not None]
    total = None
    if totals:
        power = sum(t.active_power for t in totals) / len(totals)
        apparent = sum(t.apparent_power for t in totals) / len(totals)
        total = TotalValues(
            active_power=power,
            apparent_power=apparent,
            reactive_power=non_active_power(power, apparent),
            power_factor=_power_factor(power, apparent),
        )
    neutral = [
        s.neutral_current_rms for s in analysed if s.neutral_current_rms is not None
    ]
    return S1Values(
        windows=len(analysed),
        meter_id=last.meter_id,
        polyphase=last.polyphase,
        four_wire=last.four_wire,
        sampling=last.sampling,
        sample_rate_hz=last.sample_rate_hz,
        frequency_hz=_mean([s.frequency_hz for s in analysed]),
        phases=phases,
        total=total,
        neutral_current_rms=_qmean(neutral) if neutral else None,
    )
