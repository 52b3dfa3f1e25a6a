"""Capacity tariff arithmetic: the quarter-hour forecast, headroom and monthly peaks.

No Home Assistant import: this is plain arithmetic on what the meter sends, tested on
its own. Every time is the meter's clock (the telegram's ``0-0:1.0.0`` with the offset
of its S/W flag), never the host's.

The forecast of the running quarter's average relies on the import registers
(1-0:1.8.1 + 1-0:1.8.2, 1 Wh resolution, so 4 W in a quarter average): the energy
since the quarter began is the register now minus the register at the quarter start.
1-0:1.4.0 is not used for it, only cross-checked (``DemandCheck``): a DLMS demand
register's "current average value" is the energy since the period start divided by
the whole period (it climbs from 0 during a quarter), while the telegrams at hand
read like the average over the elapsed time. The check tells which one a meter does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, Final

from .protocol.obis import QUARTER_S
from .protocol.p1 import PeakRecord

MIN_BILLED_KW: Final = 2.5
"""Every month counts for at least this much in the average (Flemish capacity tariff)."""
BILLING_MONTHS: Final = 12
DEFAULT_RISK_SHARE: Final = 0.9
INTERPOLATE_GAP_S: Final = 60
"""Longest gap between two telegrams across a quarter start that is interpolated."""

_SECOND: Final = timedelta(seconds=1)
_WINTER: Final = timezone(timedelta(hours=1))
_SUMMER: Final = timezone(timedelta(hours=2))


def quarter_start(moment: datetime) -> datetime:
    """Return the start of the clock quarter (:00, :15, :30, :45) holding ``moment``.

    ``moment`` is aware. Flooring in its own offset is exact on both DST days:
    Belgian offsets are whole hours, so a local quarter is a UTC quarter (the spring
    quarter 01:45 W - 03:00 S lasts 900 s), and the repeated autumn hour has distinct
    instants (02:15 S and 02:15 W).
    """
    return moment.replace(
        minute=moment.minute - moment.minute % 15, second=0, microsecond=0
    )


def month_of(moment: datetime) -> tuple[int, int]:
    """Return (year, month) of ``moment`` in its own (the meter's) offset."""
    return moment.year, moment.month


def month_start(year: int, month: int) -> datetime:
    """Return midnight on the first of a month, Belgian local time.

    Summer time runs from the last Sunday of March to the last Sunday of October, so
    the first of April to October is always in summer time and every other first in
    winter time.
    """
    return datetime(year, month, 1, tzinfo=_SUMMER if 4 <= month <= 10 else _WINTER)


def projected_average_kw(
    energy_kwh: float, power_kw: float, seconds_left: int
) -> float:
    """Return the quarter's average if ``power_kw`` lasts until its end.

    (energy so far + power x seconds left) / 900 s.
    """
    return (energy_kwh * 3600 + power_kw * seconds_left) / QUARTER_S


def headroom_kw(target_kw: float, energy_kwh: float, seconds_left: int) -> float:
    """Return the average power that may still be drawn until the quarter ends.

    The quarter then averages exactly ``target_kw``; 0 once that is out of reach.
    """
    if seconds_left <= 0:
        return 0.0
    return max(0.0, (target_kw * QUARTER_S - energy_kwh * 3600) / seconds_left)


def target_kw(month_peak_kw: float | None, user_target_kw: float | None) -> float:
    """Return what a quarter should stay under: max(month's peak, 2.5 kW, user target).

    Staying under this month's peak costs nothing extra; 2.5 kW is billed anyway.
    """
    return max(MIN_BILLED_KW, month_peak_kw or 0.0, user_target_kw or 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthPeak:
    """The highest quarter-hour average of one month."""

    year: int
    month: int
    peak_kw: float | None
    """``None``: the meter has no data for that month."""
    time: datetime | None

    @property
    def label(self) -> str:
        """``2025-02``."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def index(self) -> int:
        """Months since year 0: consecutive months differ by one."""
        return self.year * 12 + self.month - 1


def record_month(record: PeakRecord) -> tuple[int, int] | None:
    """Return the month a 0-0:98.1.0 entry describes, ``None`` if it cannot tell.

    eMUCS meters stamp an entry with the end of its month (``250301000000W`` holds
    February). A peak time after the stamp means the stamp is the period start. A peak
    time alone is a quarter's end, so one second earlier is inside the month.
    """
    stamp, peak = record.period_start, record.timestamp
    if stamp is None:
        return None if peak is None else month_of(peak - _SECOND)
    if peak is not None and peak > stamp:
        return month_of(stamp)
    return month_of(stamp - _SECOND)


def monthly_peaks(
    current: MonthPeak | None, history: Sequence[PeakRecord]
) -> tuple[MonthPeak, ...]:
    """Return the months the meter knows, newest first, one entry per month.

    ``current`` is the running month (1-0:1.6.0); it wins over a history entry of the
    same month. A history entry without a peak time is a month without data.
    """
    months: dict[tuple[int, int], MonthPeak] = {}
    if current is not None:
        months[current.year, current.month] = current
    for record in history:
        key = record_month(record)
        if key is None or key in months:
            continue
        months[key] = MonthPeak(
            year=key[0],
            month=key[1],
            peak_kw=None if record.timestamp is None else record.value,
            time=record.timestamp,
        )
    return tuple(sorted(months.values(), key=lambda m: m.index, reverse=True))


def billing_average_kw(months: Sequence[MonthPeak]) -> float | None:
    """Return the mean of the monthly peaks of the last 12 months, each at least 2.5 kW.

    The window is the newest month and the 11 calendar months before it; months
    without data in it are left out. ``None`` when no month has data.
    """
    if not months:
        return None
    newest = max(month.index for month in months)
    values = [
        max(MIN_BILLED_KW, month.peak_kw)
        for month in months
        if month.peak_kw is not None and newest - month.index < BILLING_MONTHS
    ]
    return sum(values) / len(values) if values else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """What one telegram says about the running quarter."""

    time: datetime
    """The meter's clock."""
    import_kwh: float
    """1-0:1.8.1 + 1-0:1.8.2."""
    power_kw: float
    """1-0:1.7.0: import power now."""
    demand_kw: float | None = None
    """1-0:1.4.0, only cross-checked."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarterState:
    """The running quarter at one telegram."""

    start: datetime
    elapsed_s: int
    seconds_left: int
    """900 at the quarter start, 1 at its last second."""
    energy_kwh: float
    """Imported since the quarter began."""
    projected_kw: float
    baseline_estimated: bool
    """The register at the quarter start was not seen: ``energy_kwh`` assumes the
    present power since then. Exact again from the next quarter."""


class QuarterTracker:
    """Follows the import registers through the clock quarters."""

    def __init__(self) -> None:
        """Start without a quarter: the first reading begins one."""
        self.start: datetime | None = None
        self.baseline_kwh = 0.0
        """The import registers at ``start``."""
        self.baseline_estimated = True
        self._last: Reading | None = None

    def update(self, reading: Reading) -> QuarterState:
        """Take one telegram's reading and return the quarter as it stands."""
        start = quarter_start(reading.time)
        if start != self.start or reading.import_kwh < self.baseline_kwh:
            self._begin(start, reading)
        elapsed = int((reading.time - start).total_seconds())
        left = QUARTER_S - elapsed
        energy = reading.import_kwh - self.baseline_kwh
        self._last = reading
        return QuarterState(
            start=start,
            elapsed_s=elapsed,
            seconds_left=left,
            energy_kwh=energy,
            projected_kw=projected_average_kw(energy, reading.power_kw, left),
            baseline_estimated=self.baseline_estimated,
        )

    def _begin(self, start: datetime, reading: Reading) -> None:
        elapsed = (reading.time - start).total_seconds()
        last = self._last
        if elapsed == 0:
            baseline, estimated = reading.import_kwh, False
        elif (
            last is not None
            and start - timedelta(seconds=INTERPOLATE_GAP_S) <= last.time < start
            and last.import_kwh <= reading.import_kwh
        ):
            # The telegram on the boundary was lost: read the register between the
            # two that straddle it.
            share = (start - last.time) / (reading.time - last.time)
            baseline = last.import_kwh + (reading.import_kwh - last.import_kwh) * share
            estimated = False
        else:
            # Started (or came back) in mid-quarter without a restored baseline.
            baseline = reading.import_kwh - reading.power_kw * elapsed / 3600
            estimated = True
        self.start, self.baseline_kwh, self.baseline_estimated = (
            start,
            baseline,
            estimated,
        )

    def restore(self, start: datetime, baseline_kwh: float, estimated: bool) -> None:
        """Continue a quarter saved before a restart.

        The registers keep counting while Home Assistant is down, so a baseline of
        the same quarter stays exact; the next reading resyncs everything else, and
        a reading from another quarter simply begins that one.
        """
        self.start, self.baseline_kwh, self.baseline_estimated = (
            start,
            baseline_kwh,
            estimated,
        )


class DemandMode(StrEnum):
    """What 1-0:1.4.0 turns out to be."""

    PERIOD = "period"
    """Energy since the quarter start / 900 s: climbs from 0 (DLMS demand register)."""
    ELAPSED = "elapsed"
    """Energy since the quarter start / elapsed time: the running average."""


class DemandCheck:
    """Tells from the meter's own readings which ``DemandMode`` 1-0:1.4.0 follows."""

    MIN_ELAPSED_S: Final = 60
    """Earlier in a quarter, 1 Wh of register resolution blurs the running average."""
    VOTES: Final = 30
    """Matching telegrams needed (and ten times the other mode's) to decide."""

    def __init__(self) -> None:
        """Start undecided."""
        self.votes = dict.fromkeys(DemandMode, 0)

    @staticmethod
    def candidates(quarter: QuarterState) -> dict[DemandMode, tuple[float, float]]:
        """Return each mode's expected 1-0:1.4.0 and its tolerance (kW).

        The energy comes from registers with 1 Wh resolution at both ends; 1.4.0
        itself has 1 W.
        """
        energy_kj = quarter.energy_kwh * 3600
        elapsed = max(quarter.elapsed_s, 1)
        return {
            DemandMode.PERIOD: (energy_kj / QUARTER_S, 0.002 + 7.2 / QUARTER_S),
            DemandMode.ELAPSED: (energy_kj / elapsed, 0.002 + 7.2 / elapsed),
        }

    def update(self, quarter: QuarterState, demand_kw: float | None) -> None:
        """Count which mode ``demand_kw`` matches, if the two can be told apart."""
        if (
            demand_kw is None
            or quarter.baseline_estimated
            or quarter.elapsed_s < self.MIN_ELAPSED_S
        ):
            return
        (period, period_tol), (elapsed, elapsed_tol) = self.candidates(quarter).values()
        if abs(period - elapsed) <= period_tol + elapsed_tol:
            return  # too little energy yet: both read the same
        if abs(demand_kw - period) <= period_tol:
            self.votes[DemandMode.PERIOD] += 1
        elif abs(demand_kw - elapsed) <= elapsed_tol:
            self.votes[DemandMode.ELAPSED] += 1

    @property
    def mode(self) -> DemandMode | None:
        """Return the mode the readings support, ``None`` while undecided."""
        period, elapsed = self.votes[DemandMode.PERIOD], self.votes[DemandMode.ELAPSED]
        if period >= self.VOTES and period >= 10 * elapsed:
            return DemandMode.PERIOD
        if elapsed >= self.VOTES and elapsed >= 10 * period:
            return DemandMode.ELAPSED
        return None

    def expected_kw(self, quarter: QuarterState) -> float | None:
        """Return what 1-0:1.4.0 should read now, once the mode is known."""
        mode = self.mode
        if mode is None or quarter.baseline_estimated:
            return None
        return self.candidates(quarter)[mode][0]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewPeak:
    """The month's peak (1-0:1.6.0) went up."""

    previous_kw: float
    """The month's peak before, 0 for the month's first."""
    peak_kw: float
    time: datetime | None


class PeakWatch:
    """Notices each new monthly peak once."""

    def __init__(self) -> None:
        """Start without a known peak: the first one seen is not news."""
        self.time: datetime | None = None
        self.value: float | None = None

    def update(self, time: datetime | None, value: float) -> NewPeak | None:
        """Take 1-0:1.6.0; return the new peak if it rose within its month.

        A peak belongs to the month of the quarter it closes (its time is the quarter's
        end, so a second earlier), which keeps last month's peak, still shown just
        after midnight, from counting as this month's first.
        """
        if (time, value) == (self.time, self.value):
            return None
        known = self.value is not None
        same_month = (
            time is not None
            and self.time is not None
            and month_of(time - _SECOND) == month_of(self.time - _SECOND)
        )
        previous = (self.value or 0.0) if same_month else 0.0
        self.time, self.value = time, value
        if not known or time is None or value <= previous:
            return None
        return NewPeak(previous_kw=previous, peak_kw=value, time=time)


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacitySettings:
    """The user's options."""

    target_kw: float | None = None
    """A quarter average the user wants to stay under, ``None`` for none."""
    risk_share: float = DEFAULT_RISK_SHARE
    """A quarter is at risk when its forecast exceeds this share of the target."""
    rate: float | None = None
    """Capacity tariff in currency per kW per year, ``None`` for unknown."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityState:
    """Everything the capacity entities show, at one telegram."""

    quarter: QuarterState
    target_kw: float
    headroom_kw: float
    at_risk: bool
    months: tuple[MonthPeak, ...]
    """This month and the meter's history, newest first."""
    billing_average_kw: float | None
    yearly_cost: float | None
    new_peak: NewPeak | None
    demand_mode: DemandMode | None
    demand_expected_kw: float | None


class CapacityTracker:
    """The quarter, the peaks and the cross-check of one meter, restorable."""

    def __init__(self, settings: CapacitySettings) -> None:
        """Start from nothing (``restore`` continues a saved state)."""
        self.settings = settings
        self.quarter = QuarterTracker()
        self.demand = DemandCheck()
        self.peak = PeakWatch()

    def update(
        self,
        reading: Reading,
        peak_time: datetime | None,
        peak_kw: float,
        history: Sequence[PeakRecord],
    ) -> CapacityState:
        """Take one telegram: its reading, 1-0:1.6.0 and 0-0:98.1.0."""
        settings = self.settings
        quarter = self.quarter.update(reading)
        self.demand.update(quarter, reading.demand_kw)
        target = target_kw(peak_kw, settings.target_kw)
        year, month = month_of(reading.time)
        months = monthly_peaks(
            MonthPeak(year=year, month=month, peak_kw=peak_kw, time=peak_time), history
        )
        average = billing_average_kw(months)
        return CapacityState(
            quarter=quarter,
            target_kw=target,
            headroom_kw=headroom_kw(target, quarter.energy_kwh, quarter.seconds_left),
            at_risk=quarter.projected_kw > settings.risk_share * target,
            months=months,
            billing_average_kw=average,
            yearly_cost=None
            if settings.rate is None or average is None
            else average * settings.rate,
            new_peak=self.peak.update(peak_time, peak_kw),
            demand_mode=self.demand.mode,
            demand_expected_kw=self.demand.expected_kw(quarter),
        )

    def as_dict(self) -> dict[str, Any]:
        """Return what a restart needs, as JSON."""
        quarter, peak = self.quarter, self.peak
        return {
            "quarter_start": None
            if quarter.start is None
            else quarter.start.isoformat(),
            "baseline_kwh": quarter.baseline_kwh,
            "baseline_estimated": quarter.baseline_estimated,
            "peak_time": None if peak.time is None else peak.time.isoformat(),
            "peak_kw": peak.value,
            "demand_votes": {str(mode): n for mode, n in self.demand.votes.items()},
        }

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Continue from ``as_dict``; anything unreadable is left at its start value."""
        try:
            start = datetime.fromisoformat(saved["quarter_start"])
            baseline = float(saved["baseline_kwh"])
            estimated = bool(saved["baseline_estimated"])
        except (KeyError, TypeError, ValueError):
            pass
        else:
            if start.tzinfo is not None:
                self.quarter.restore(start, baseline, estimated)
        try:
            time = saved["peak_time"]
            self.peak.time = None if time is None else datetime.fromisoformat(time)
            self.peak.value = float(saved["peak_kw"])
        except (KeyError, TypeError, ValueError):
            self.peak.time = self.peak.value = None
        votes = saved.get("demand_votes")
        if isinstance(votes, dict):
            for mode in DemandMode:
                if isinstance(count := votes.get(str(mode)), int):
                    self.demand.votes[mode] = count
