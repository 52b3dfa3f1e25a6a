"""Electrical quantities of one analysis window: RMS, powers, THD, frequency.

The definitions are in ``s1_analytics``'s docstring. Everything here is a function of
a window of filled samples (rows V1-V3, I1-I3, IN of the sample grid).
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .s1 import INFO_FOUR_WIRE, INFO_NEUTRAL, INFO_POLYPHASE

__all__ = [
    "PhaseValues",
    "TotalValues",
    "electrical",
    "max_harmonic",
    "meter_elements",
    "non_active_power",
    "zero_crossing",
]

type F64 = npt.NDArray[np.float64]

MAX_HARMONIC: Final = 40
MIN_CURRENT_PF: Final = 0.01
"""A; below this the power factor is not reported."""
MIN_CURRENT_THD: Final = 0.05
"""A (fundamental); below this 1 mA quantization dominates the current THD."""
MIN_VOLTAGE_THD: Final = 0.05
"""Fraction of nominal voltage (fundamental) below which THD V is not reported."""
_ELEMENTS: Final = (("L1", 0, 3), ("L2", 1, 4), ("L3", 2, 5))


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
    """Totals over the elements (definitions in ``s1_analytics``)."""

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


def zero_crossing(v: F64, period: float, rate: float) -> float | None:
    """Frequency from interpolated positive-going zero crossings of ``v``."""
    below = v < 0.0
    k = np.flatnonzero(below[:-1] & ~below[1:])
    if k.size:
        # Harmonics or noise can cross several times near zero: keep the first
        # crossing of each cycle.
        k = k[np.diff(k, prepend=-(10**9)) > period / 2]
    if k.size < 3:
        return None
    t = k + v[k] / (v[k] - v[k + 1])
    return float((k.size - 1) * rate / (t[-1] - t[0]))


def electrical(
    w: F64, key: int, rate: float, frequency: float, nominal_voltage: float
) -> tuple[dict[str, PhaseValues], TotalValues, float | None]:
    """Per-element values, totals and the neutral current RMS of window ``w``."""
    length = w.shape[1]
    elements = meter_elements(key)
    rows = [ch for _, v, i in elements for ch in (v, i)]
    x = w[rows]
    ms = np.einsum("ij,ij->i", x, x) / length
    rms = np.sqrt(ms)
    spectrum = np.fft.rfft(x, axis=1)
    energy = spectrum.real**2 + spectrum.imag**2
    top = max_harmonic(rate, frequency)
    centers = np.rint(np.arange(1, top + 1) * (frequency * length / rate)).astype(int)
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
                if v_fund >= MIN_VOLTAGE_THD * nominal_voltage
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
