"""Voltage dips, swells and interruptions from Urms(1/2) (IEC 61000-4-30).

Urms(1/2) is the RMS over one cycle, refreshed every half cycle. A dip starts below
90 % of the nominal voltage, a swell above 110 %; a dip that went below 5 % is an
interruption. An event ends inside 92-108 % (2 % hysteresis). Times are the centres
of the one-cycle intervals, so start and duration are good to about one cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, cast

import numpy as np
import numpy.typing as npt

from .s1 import NOMINAL_VOLTAGE
from .s1_power import meter_elements
from .s1_window import Window

__all__ = ["EventKind", "VoltageEvent", "VoltageEventDetector"]

type EventKind = Literal["dip", "swell", "interruption"]

DIP: Final = 0.90
SWELL: Final = 1.10
INTERRUPTION: Final = 0.05
HYSTERESIS: Final = 0.02


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


@dataclass(slots=True)
class _Active:
    """An event in progress on one channel."""

    low: bool
    start_s: float
    extreme: float


class VoltageEventDetector:
    """One state machine per voltage channel, fed the Urms(1/2) values of each window."""

    __slots__ = ("_active", "_half_next", "nominal_voltage")

    def __init__(self, nominal_voltage: float = NOMINAL_VOLTAGE) -> None:
        """Detect events relative to ``nominal_voltage``."""
        self.nominal_voltage = nominal_voltage
        self._active: dict[str, _Active] = {}
        self._half_next = -1.0
        """Sample index where the next Urms(1/2) interval ends."""

    def restart(self) -> None:
        """Forget the events in progress (a new stream)."""
        self._active.clear()
        self._half_next = -1.0

    def begin(self, first_end: float) -> None:
        """Start a stream whose first Urms(1/2) interval ends at sample ``first_end``."""
        self._half_next = first_end

    def active(self, now_s: float) -> dict[str, VoltageEvent]:
        """Events in progress by phase (duration up to ``now_s``, extreme so far)."""
        return {
            phase: self._event(phase, state, now_s)
            for phase, state in self._active.items()
        }

    def detect(
        self, buf: npt.NDArray[np.float64], base: int, window: Window, b: int, key: int
    ) -> tuple[VoltageEvent, ...]:
        """Urms(1/2) values ending in this window, run through the state machines.

        ``buf`` is the sample grid (column ``c`` = sample ``base + c``), ``b`` the
        column after the window.
        """
        span = max(1, round(window.period))
        half = window.period / 2.0
        first = self._half_next
        if first < base + span:
            first = float(base + span)
        ends_abs = np.arange(first, window.end + 1e-9, half)
        if not ends_abs.size:
            return ()
        self._half_next = float(ends_abs[-1] + half)
        ends = np.rint(ends_abs).astype(np.int64) - base
        ends = np.minimum(ends, b)
        times = (
            window.start_s + (ends_abs - span / 2.0 - window.start) / window.sample_rate
        )
        nominal = self.nominal_voltage
        events: list[VoltageEvent] = []
        for name, ch, _ in meter_elements(key):
            v = buf[ch, :b]
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
