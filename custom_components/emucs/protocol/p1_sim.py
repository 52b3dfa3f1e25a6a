"""P1 meter simulator: a Belgian household, second by second, as eMUCS E.2.1 telegrams.

``P1Simulator.step`` advances the meter by one second and returns the telegram it sends
then. The household is a model, not a replay: a base load with a fridge, breakfast,
lunch and cooking peaks, a dishwasher, a single-phase PV inverter on L1 following the
sun's elevation at 50.8° N under passing clouds, gas heating that follows the season,
showers and toilet flushes. Every random choice comes from the seed (the plan of a day
from the seed and the date), so a seed and a start time give the same bytes.

What behaves like the meter's own registers:

- energy registers integrate the powers the telegrams show (whole watts, one second
  each) in watt-seconds, printed truncated to Wh: the difference of two readings is the
  sum of the powers in between, to 1 Wh;
- the tariff (1 on weekdays 07:00-22:00, else 2) decides which register counts;
- 1-0:1.4.0 is the mean import power of the running quarter hour (energy since the
  quarter began / elapsed time); at the end of a quarter its mean competes for the
  month's peak 1-0:1.6.0, stamped with the quarter's end;
- at local midnight on the first of a month the peak moves to the head of the 0-0:98.1.0
  history (at most 13 months, newest first, the period stamped with the month's end)
  and restarts at zero;
- gas (0-1:24.2.3) and water (0-2:24.2.1) readings are taken every 5 minutes and keep
  that M-Bus capture time until the next one;
- the clock is Belgian local time with the S/W flag (EU rule: summer time from the last
  Sunday of March to the last Sunday of October, 01:00 UTC).

Faults (``Faults``) damage a telegram after its CRC, make the meter silent for a while
or ask the transport to drop its clients; they are drawn from the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
import math
from typing import Final, Literal

import numpy as np

from . import obis
from .crc import crc16_arc
from .obis import QUARTER_S

__all__ = [
    "Faults",
    "MeterConfig",
    "P1Simulator",
    "Tick",
    "belgian_offset",
    "belgian_utc",
    "format_tst",
]

VERSION: Final = "50221"
"""DSMR 5.0.2, eMUCS 2.1."""
HEADERS: Final = {
    "single_phase": "FLU5\\253770234_A",
    "three_phase": "FLU5\\253769484_A",
}
"""Identification lines of the S211 and T211, as in the spec examples."""
NO_TIME: Final = "632525252525W"
HISTORY_MONTHS: Final = 13
MBUS_PERIOD_S: Final = 300
LATITUDE_DEG: Final = 50.8
LONGITUDE_DEG: Final = 4.4
_REGISTERS: Final = (
    obis.ENERGY_IMPORT_T1,
    obis.ENERGY_IMPORT_T2,
    obis.ENERGY_EXPORT_T1,
    obis.ENERGY_EXPORT_T2,
)
"""The order of ``registers_wh``."""
_DEVICE_GAS: Final = 3
_DEVICE_WATER: Final = 7
_SUMMER: Final = timedelta(hours=2)
_WINTER: Final = timedelta(hours=1)

type Wiring = Literal["single_phase", "three_wire", "four_wire"]


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


@cache
def _summer_time(year: int) -> tuple[datetime, datetime]:
    """EU summer time of ``year`` in UTC: last Sundays of March and October, 01:00."""
    one = datetime.min.time().replace(hour=1)
    return (
        datetime.combine(_last_sunday(year, 3), one, UTC),
        datetime.combine(_last_sunday(year, 10), one, UTC),
    )


def belgian_utc(local: datetime) -> datetime:
    """Return the UTC instant of a naive Belgian wall-clock time.

    The first of the two in the repeated autumn hour.
    """
    guess = local.replace(tzinfo=UTC) - timedelta(hours=2)
    if (guess + belgian_offset(guess)).replace(tzinfo=None) != local:
        guess = local.replace(tzinfo=UTC) - timedelta(hours=1)
    return guess


def belgian_offset(instant: datetime) -> timedelta:
    """Return Belgium's UTC offset at ``instant`` (aware): +2 h in summer time, else +1 h."""
    utc = instant.astimezone(UTC)
    start, end = _summer_time(utc.year)
    return _SUMMER if start <= utc < end else _WINTER


def format_tst(instant: datetime) -> str:
    """Return the TST ``YYMMDDhhmmssX`` of ``instant`` (aware) in Belgian local time."""
    offset = belgian_offset(instant)
    local = instant.astimezone(UTC).replace(tzinfo=None) + offset
    flag = "S" if offset == _SUMMER else "W"
    return f"{local:%y%m%d%H%M%S}{flag}"


def _hex(text: str) -> str:
    return text.encode("ascii").hex().upper()


def _kw(watts: int) -> str:
    """F5(3,3): ``02.351``."""
    return f"{watts // 1000:02d}.{watts % 1000:03d}"


def _milli(value: int, digits: int) -> str:
    """Print a register kept in thousandths: ``000015.758`` (digits before the point)."""
    return f"{value // 1000:0{digits}d}.{value % 1000:03d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    """Line and meter faults, drawn once per second from the simulator's seed."""

    crc_error_rate: float = 0.0
    """Share of telegrams with one character changed after the CRC was computed."""
    silence_rate: float = 0.0
    """Chance per second that the meter stops sending for ``silence_s`` seconds."""
    silence_s: tuple[int, int] = (15, 45)
    disconnect_rate: float = 0.0
    """Chance per second that the transport should drop its clients."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterConfig:
    """The simulated installation."""

    wiring: Wiring = "four_wire"
    """``single_phase`` (S211), ``four_wire`` (T211 on 3N400 V) or ``three_wire``
    (T211 on 3x230 V: Aron set-up, L2 reads 0)."""
    equipment_id: str = "1SAG3105040611"
    ean: str = "541449000010203040"
    gas_id: str | None = "7FLO2119033733"
    """Gas meter on M-Bus channel 1; ``None`` for none."""
    water_id: str | None = "8SAG1234567890"
    """Water meter on M-Bus channel 2; ``None`` for none."""
    pv_peak_kw: float = 4.0
    """Inverter output at a clear June noon; 0 for no solar panels."""
    import_wh: tuple[int, int] = (4_812_345, 3_901_234)
    """Initial import registers (tariff 1, tariff 2) in Wh."""
    export_wh: tuple[int, int] = (1_234_567, 456_789)
    gas_litres: int = 2_345_678
    water_litres: int = 345_678
    history_months: int = HISTORY_MONTHS
    """Months of peak history the meter already has (0-13)."""
    limiter_kw: float | None = None
    """Limiter threshold; ``None`` sends the "deactivated" maximum."""
    fuse_a: float | None = None
    faults: Faults = field(default_factory=Faults)

    @property
    def phases(self) -> int:
        """Number of phases the telegram reports."""
        return 1 if self.wiring == "single_phase" else 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """One second of the meter."""

    time: datetime
    """The meter's clock (UTC)."""
    telegram: bytes | None
    """What the meter sends, ``None`` while silent."""
    corrupted: bool = False
    """The telegram's CRC does not match."""
    disconnect: bool = False
    """The transport should drop its clients now (a fault)."""
    phase_power_w: tuple[int, ...] = ()
    """Net power per phase (import positive), as a star: L1, L2, L3."""
    voltage_v: tuple[float, ...] = ()
    """Voltage per phase as the telegram shows it."""


@dataclass(frozen=True, slots=True)
class _Event:
    start_s: int
    """Seconds after local midnight."""
    duration_s: int
    watts: tuple[float, float, float]
    """Power per phase while on."""


@dataclass(frozen=True, slots=True)
class _DayPlan:
    events: tuple[_Event, ...]
    clouds: tuple[float, ...]
    """Cloud factor per 10 minutes (145 points, interpolated)."""
    water_events: tuple[tuple[int, int, float], ...]
    """(start_s, duration_s, litres per second)."""


class P1Simulator:
    """A meter and its household; ``step`` gives the next second's telegram."""

    def __init__(
        self, config: MeterConfig | None = None, *, start: datetime, seed: int = 0
    ) -> None:
        """Start the meter clock at ``start`` (aware; rounded down to the second)."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.config = config = config or MeterConfig()
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self.time = start.astimezone(UTC).replace(microsecond=0)
        self.breaker = 1
        # Registers in watt-seconds (energy) and millilitres (gas, water): integers,
        # so a register is exactly the sum of what was added to it.
        self.import_ws = [wh * 3600 for wh in config.import_wh]
        self.export_ws = [wh * 3600 for wh in config.export_wh]
        self.gas_ml = config.gas_litres * 1000.0
        self.water_ml = config.water_litres * 1000.0
        self._quarter_start = self._quarter_of(self.time)
        # The quarter began before the simulation: assume a base load until now.
        self._quarter_ws = 300 * int((self.time - self._quarter_start).total_seconds())
        self.peak_w, self.peak_time = self._initial_peak()
        self.history: list[tuple[datetime, datetime | None, int]] = (
            self._initial_history()
        )
        """(month end, peak time, peak W), newest first."""
        self._history_text = ""
        self._gas_reading = self._mbus_reading(self.gas_ml)
        self._water_reading = self._mbus_reading(self.water_ml)
        self._silent_until: datetime | None = None
        self._plans: dict[date, _DayPlan] = {}

    # --- clock -------------------------------------------------------------

    def local_time(self, instant: datetime | None = None) -> datetime:
        """Return the meter's local wall-clock time (naive) at ``instant``."""
        instant = self.time if instant is None else instant
        return instant.replace(tzinfo=None) + belgian_offset(instant)

    @staticmethod
    def _quarter_of(instant: datetime) -> datetime:
        # Belgian offsets are whole hours: local quarters are UTC quarters.
        return instant.replace(minute=instant.minute - instant.minute % 15, second=0)

    def tariff(self, instant: datetime | None = None) -> int:
        """Tariff number: 1 on weekdays 07:00-22:00 local time, 2 otherwise."""
        local = self.local_time(instant)
        return 1 if local.weekday() < 5 and 7 <= local.hour < 22 else 2

    # --- history at start ----------------------------------------------------

    def _month_start(self, local: datetime) -> datetime:
        return belgian_utc(datetime(local.year, local.month, 1))

    def _evening_peak(self, month_start: datetime, days: int) -> tuple[datetime, int]:
        """Draw a plausible peak: an evening quarter of one of ``days`` days, 2.5-7 kW."""
        day = int(self._rng.integers(0, max(days, 1)))
        quarter = int(self._rng.integers(17 * 4, 20 * 4))
        local = self.local_time(month_start) + timedelta(days=day, minutes=15 * quarter)
        return belgian_utc(local), int(self._rng.integers(2500, 7000))

    def _initial_peak(self) -> tuple[int, datetime]:
        local = self.local_time()
        start = self._month_start(local)
        days_done = (local - datetime(local.year, local.month, 1)).days
        if days_done == 0:
            return 0, start
        peak_time, watts = self._evening_peak(start, days_done)
        return watts, min(peak_time, self._quarter_start)

    def _initial_history(self) -> list[tuple[datetime, datetime | None, int]]:
        history: list[tuple[datetime, datetime | None, int]] = []
        end = self._month_start(self.local_time())
        for _ in range(min(self.config.history_months, HISTORY_MONTHS)):
            local_end = self.local_time(end)
            previous = (local_end - timedelta(days=1)).replace(day=1)
            start = belgian_utc(previous)
            peak_time, watts = self._evening_peak(start, (local_end - previous).days)
            history.append((end, peak_time, watts))
            end = start
        return history

    # --- the household -------------------------------------------------------

    def _plan(self, day: date) -> _DayPlan:
        """Return the day's appliances and clouds, from the seed and the date only."""
        if (plan := self._plans.get(day)) is not None:
            return plan
        rng = np.random.default_rng([self.seed, day.toordinal()])
        weekend = day.weekday() >= 5

        def at(hour: float, spread_min: float) -> int:
            return int(hour * 3600 + rng.normal(0.0, spread_min * 60.0))

        events = [
            _Event(at(7.3 if weekend else 6.8, 10), 180, (0.0, 2000.0, 0.0)),  # kettle
            _Event(at(7.4 if weekend else 6.9, 10), 90, (1200.0, 0.0, 0.0)),  # coffee
            _Event(at(12.4, 15), 240, (0.0, 0.0, 900.0)),  # microwave
            _Event(at(18.0, 20), 2700, (0.0, 0.0, 2200.0)),  # oven
            _Event(at(18.3, 20), 1500, (1800.0, 1600.0, 0.0)),  # induction
            _Event(at(18.9, 10), 600, (0.0, 1500.0, 1200.0)),  # wok: the month's peak
            _Event(at(21.1, 10), 900, (0.0, 0.0, 2000.0)),  # dishwasher heating
            _Event(at(22.0, 10), 600, (0.0, 0.0, 1900.0)),
        ]
        if weekend:
            events.append(_Event(at(10.0, 30), 1800, (0.0, 2100.0, 0.0)))  # washer
        # Clouds drift as a bounded random walk: 1 clear, 0.2 overcast.
        walk = np.cumsum(rng.normal(0.0, 0.12, 145)) + rng.uniform(0.3, 1.0)
        clouds = tuple(float(x) for x in np.clip(np.abs(walk % 2.0 - 1.0), 0.2, 1.0))
        water = [
            (at(7.0 if weekend else 6.6, 10), 420, 0.15),  # shower, 9 l/min
            (at(21.2, 10), 120, 0.1),  # dishwasher fill
        ]
        water.extend(
            (int(t), 40, 0.15)  # toilet flush, 6 l
            for t in np.sort(rng.uniform(6.5 * 3600, 23 * 3600, 8))
        )
        plan = _DayPlan(tuple(events), clouds, tuple(water))
        if len(self._plans) > 3:
            self._plans.clear()
        self._plans[day] = plan
        return plan

    def _solar_w(self, local: datetime, clouds: tuple[float, ...]) -> float:
        """PV output: clear-sky from the sun's elevation, times the clouds."""
        if self.config.pv_peak_kw <= 0:
            return 0.0
        doy = local.timetuple().tm_yday
        tilt = math.radians(23.44)
        declination = tilt * math.sin(2 * math.pi * (doy - 81) / 365)
        now = self.time
        utc_hours = now.hour + now.minute / 60 + now.second / 3600
        hour_angle = math.radians(15.0 * (utc_hours - 12.0) + LONGITUDE_DEG)
        lat = math.radians(LATITUDE_DEG)
        elevation = math.sin(lat) * math.sin(declination) + math.cos(lat) * math.cos(
            declination
        ) * math.cos(hour_angle)
        if elevation <= 0:
            return 0.0
        june_noon = math.cos(lat - tilt)  # sine of the highest elevation of the year
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        k, frac = divmod(seconds / 600.0, 1.0)
        cloud = clouds[int(k)] * (1 - frac) + clouds[min(int(k) + 1, 144)] * frac
        return (
            1000.0
            * self.config.pv_peak_kw
            * math.pow(elevation / june_noon, 1.2)
            * cloud
        )

    def _loads_w(self, local: datetime, plan: _DayPlan) -> list[float]:
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        # Standby and lights, split over the phases; the fridge runs 20 of every 50 min.
        evening = 250.0 if 17 * 3600 <= seconds < 23 * 3600 else 0.0
        loads = [60.0 + evening / 2, 50.0, 45.0 + evening / 2]
        if (seconds // 60) % 50 < 20:
            loads[1] += 95.0
        for event in plan.events:
            if event.start_s <= seconds < event.start_s + event.duration_s:
                for k in range(3):
                    loads[k] += event.watts[k]
        noise = self._rng.normal(0.0, 6.0, 3)
        return [max(0.0, load + float(n)) for load, n in zip(loads, noise, strict=True)]

    def _gas_m3_per_h(self, local: datetime) -> float:
        doy = local.timetuple().tm_yday
        outdoor = 11.0 - 8.0 * math.cos(2 * math.pi * (doy - 20) / 365)
        outdoor += 4.0 * math.sin(2 * math.pi * (local.hour - 9) / 24)
        heating = max(0.0, 16.0 - outdoor) * 0.045
        if local.hour < 6 or local.hour >= 23:
            heating *= 0.4  # night set-back
        shower = 1.2 if 6 <= local.hour < 8 and local.minute < 10 else 0.0
        return heating + shower

    def _water_lps(self, local: datetime, plan: _DayPlan) -> float:
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        return sum(
            rate
            for start, duration, rate in plan.water_events
            if start <= seconds < start + duration
        )

    # --- one second ------------------------------------------------------------

    def set_breaker(self, state: int) -> None:
        """Breaker state from now on: 0 disconnected, 1 connected, 2 ready to reconnect."""
        if state not in (0, 1, 2):
            raise ValueError("breaker state is 0, 1 or 2")
        self.breaker = state

    def step(self, *, build: bool = True) -> Tick:
        """Advance the clock by one second and return what the meter sends.

        ``build=False`` skips building the telegram (``Tick.telegram`` is ``None``), to
        fast-forward: the household, the registers and the random draws stay the same.
        """
        previous_local = self.local_time()
        self.time += timedelta(seconds=1)
        local = self.local_time()
        plan = self._plan(local.date())
        config = self.config
        if self.breaker == 1:
            phases = self._loads_w(local, plan)
            phases[0] -= self._solar_w(
                local, plan.clouds
            )  # single-phase inverter on L1
        else:
            phases = [0.0, 0.0, 0.0]
        if config.wiring == "single_phase":
            phases = [sum(phases), 0.0, 0.0]
        star = tuple(round(p) for p in phases)
        if config.wiring == "three_wire":
            # The two Aron elements carry L2 between them.
            elements = [star[0] + star[1] // 2, 0, star[2] + star[1] - star[1] // 2]
        else:
            elements = list(star)
        net = sum(elements)

        tariff = self.tariff()
        if net > 0:
            self.import_ws[tariff - 1] += net
            self._quarter_ws += net
        else:
            self.export_ws[tariff - 1] -= net
        if self.time - self._quarter_start >= timedelta(seconds=QUARTER_S):
            self._close_quarter()
        if local.month != previous_local.month:
            self._close_month()

        self.gas_ml += self._gas_m3_per_h(local) * 1000.0 / 3.6
        self.water_ml += self._water_lps(local, plan) * 1000.0
        epoch = int(self.time.timestamp())
        if epoch % MBUS_PERIOD_S == 0:
            self._gas_reading = self._mbus_reading(self.gas_ml)
            self._water_reading = self._mbus_reading(self.water_ml)

        voltages = self._voltages(local, elements)
        faults = config.faults
        draws = self._rng.random(4)
        disconnect = bool(draws[2] < faults.disconnect_rate)
        if self._silent_until is not None and self.time >= self._silent_until:
            self._silent_until = None
        if self._silent_until is None and draws[1] < faults.silence_rate:
            low, high = faults.silence_s
            self._silent_until = self.time + timedelta(
                seconds=int(self._rng.integers(low, high + 1))
            )
        telegram: bytes | None = None
        corrupted = False
        if self._silent_until is None and build:
            telegram = self.telegram(elements, voltages)
            corrupted = bool(draws[0] < faults.crc_error_rate)
            if corrupted:
                telegram = self._corrupt(telegram, float(draws[3]))
        return Tick(
            time=self.time,
            telegram=telegram,
            corrupted=corrupted,
            disconnect=disconnect,
            phase_power_w=star,
            voltage_v=voltages,
        )

    def _close_quarter(self) -> None:
        mean_w = self._quarter_ws // QUARTER_S
        if mean_w > self.peak_w:
            self.peak_w, self.peak_time = mean_w, self.time
        self._quarter_ws = 0
        self._quarter_start = self.time

    def _close_month(self) -> None:
        month_end = self.time
        peak_time = self.peak_time if self.peak_w else None
        self.history.insert(0, (month_end, peak_time, self.peak_w))
        del self.history[HISTORY_MONTHS:]
        self._history_text = ""
        self.peak_w, self.peak_time = 0, month_end

    @property
    def registers_wh(self) -> tuple[int, int, int, int]:
        """Import tariff 1, 2 and export tariff 1, 2 in Wh, as the telegram shows them."""
        return (
            self.import_ws[0] // 3600,
            self.import_ws[1] // 3600,
            self.export_ws[0] // 3600,
            self.export_ws[1] // 3600,
        )

    def _mbus_reading(self, millilitres: float) -> tuple[datetime, int]:
        stamp = self.time - timedelta(
            seconds=int(self.time.timestamp()) % MBUS_PERIOD_S
        )
        return stamp, int(millilitres // 1000)

    def _voltages(self, local: datetime, elements: list[int]) -> tuple[float, ...]:
        hour = local.hour + local.minute / 60
        base = 231.0 + 2.5 * math.cos(2 * math.pi * (hour - 4) / 24)
        noise = self._rng.normal(0.0, 0.4, 3)
        volts = [
            round(base - elements[k] * 0.0006 + float(noise[k]), 1)
            for k in range(self.config.phases)
        ]
        if self.config.wiring == "three_wire":
            volts[1] = 0.0
        return tuple(volts)

    def quarter_demand_w(self) -> int:
        """1-0:1.4.0: mean import power since the running quarter began."""
        elapsed = int((self.time - self._quarter_start).total_seconds())
        return self._quarter_ws // elapsed if elapsed else 0

    # --- the telegram ------------------------------------------------------------

    def telegram(self, elements: list[int], voltages: tuple[float, ...]) -> bytes:
        """Build the telegram for the current second (CRC included)."""
        config = self.config
        net = sum(elements)
        lines = [f"{obis.VERSION}({VERSION})"]
        if config.phases == 3:
            grid = 230 if config.wiring == "three_wire" else 400
            lines.append(f"{obis.GRID_CONFIGURATION}({grid})")
        lines += [
            f"{obis.EQUIPMENT_ID}({_hex(config.equipment_id)})",
            f"{obis.EAN}({config.ean})",
            f"{obis.TIMESTAMP}({format_tst(self.time)})",
            *(
                f"{code}({_milli(wh, 6)}*kWh)"
                for code, wh in zip(_REGISTERS, self.registers_wh, strict=True)
            ),
            f"{obis.TARIFF}({self.tariff():04d})",
            f"{obis.AVERAGE_DEMAND}({_kw(self.quarter_demand_w())}*kW)",
            f"{obis.PEAK_DEMAND}({format_tst(self.peak_time)})({_kw(self.peak_w)}*kW)",
            self._history_line(),
            f"{obis.POWER_IMPORT}({_kw(max(net, 0))}*kW)",
            f"{obis.POWER_EXPORT}({_kw(max(-net, 0))}*kW)",
        ]
        phases = range(config.phases)
        lines += [
            f"{obis.POWER_IMPORT_PHASES[k]}({_kw(max(elements[k], 0))}*kW)"
            for k in phases
        ]
        lines += [
            f"{obis.POWER_EXPORT_PHASES[k]}({_kw(max(-elements[k], 0))}*kW)"
            for k in phases
        ]
        lines += [f"{obis.VOLTAGE_PHASES[k]}({voltages[k]:05.1f}*V)" for k in phases]
        for k in phases:
            # Currents from the power at a power factor of 0.95 (F5(2,2)).
            amps = abs(elements[k]) / 0.95 / voltages[k] if voltages[k] else 0.0
            lines.append(f"{obis.CURRENT_PHASES[k]}({amps:06.2f}*A)")
        limiter = (
            "99.999" if config.limiter_kw is None else f"{config.limiter_kw:06.3f}"
        )
        fuse = "999.99" if config.fuse_a is None else f"{config.fuse_a:06.2f}"
        lines += [
            f"{obis.BREAKER_STATE}({self.breaker})",
            f"{obis.LIMITER_THRESHOLD}({limiter}*kW)",
            f"{obis.FUSE_THRESHOLD}({fuse}*A)",
            *(f"0-{n}:{obis.RELAY_STATE}(0)" for n in range(1, 5)),
            f"{obis.TEXT_MESSAGE}()",
        ]
        if config.gas_id is not None:
            stamp, litres = self._gas_reading
            lines += [
                f"0-1:{obis.MBUS_DEVICE_TYPE}({_DEVICE_GAS:03d})",
                f"0-1:{obis.MBUS_EQUIPMENT_ID}({_hex(config.gas_id)})",
                f"0-1:{obis.MBUS_EAN}({config.ean[:-1]}1)",
                f"0-1:{obis.MBUS_VALVE}(1)",
                (
                    f"0-1:{obis.MBUS_READING_UNCORRECTED}({format_tst(stamp)})"
                    f"({_milli(litres, 5)}*m3)"
                ),
            ]
        if config.water_id is not None:
            stamp, litres = self._water_reading
            lines += [
                f"0-2:{obis.MBUS_DEVICE_TYPE}({_DEVICE_WATER:03d})",
                f"0-2:{obis.MBUS_EQUIPMENT_ID}({_hex(config.water_id)})",
                f"0-2:{obis.MBUS_EAN}({config.ean[:-1]}2)",
                (
                    f"0-2:{obis.MBUS_READING_5MIN}({format_tst(stamp)})"
                    f"({_milli(litres, 5)}*m3)"
                ),
            ]
        header = HEADERS["single_phase" if config.phases == 1 else "three_phase"]
        body = f"/{header}\r\n\r\n" + "\r\n".join(lines) + "\r\n!"
        data = body.encode("ascii")
        return data + f"{crc16_arc(data):04X}\r\n".encode("ascii")

    def _history_line(self) -> str:
        if self._history_text:
            return self._history_text
        groups = "".join(
            f"({format_tst(end)})"
            f"({NO_TIME if peak is None else format_tst(peak)})({_kw(watts)}*kW)"
            for end, peak, watts in self.history
        )
        self._history_text = (
            f"{obis.PEAK_HISTORY}({len(self.history)})"
            f"({obis.PEAK_DEMAND})({obis.PEAK_DEMAND}){groups or '()'}"
        )
        return self._history_text

    @staticmethod
    def _corrupt(telegram: bytes, pick: float) -> bytes:
        """Change one digit of the data (never the CRC): a transmission error."""
        end = telegram.rindex(b"!")
        digits = [i for i in range(end) if 0x30 <= telegram[i] <= 0x39]
        where = digits[int(pick * len(digits))]
        damaged = bytearray(telegram)
        damaged[where] = 0x30 + (telegram[where] - 0x30 + 1) % 10
        return bytes(damaged)
