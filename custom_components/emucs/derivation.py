"""What the entities read, derived from the telegram stream (no Home Assistant import).

``Derivation.update`` turns each telegram into one ``Snapshot``; entities read every
value through ``Snapshot.value``. The publishing policy lives here only, each part
in its own class: ``TotalsGuard`` (registers never go back), ``AveragingWindow``
(instantaneous values as interval means) and ``SubmeterTracker`` (M-Bus volumes and
flows). Which objects each part handles follows from their ``Kind`` in the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
import time

from .capacity import CapacityState, NewPeak
from .const import LOGGER
from .protocol import MBusDevice, Telegram, obis
from .protocol.p1 import Value

POWER_NET = "power_net"
ENERGY_IMPORT_TOTAL = "energy_import_total"
ENERGY_EXPORT_TOTAL = "energy_export_total"

AVERAGED = tuple(
    code for code, spec in obis.OBJECTS.items() if spec.kind is obis.Kind.AVERAGED
)
TOTALS = tuple(
    code for code, spec in obis.OBJECTS.items() if spec.kind is obis.Kind.TOTAL
)
SUMS: Mapping[str, tuple[str, str]] = {
    ENERGY_IMPORT_TOTAL: (obis.ENERGY_IMPORT_T1, obis.ENERGY_IMPORT_T2),
    ENERGY_EXPORT_TOTAL: (obis.ENERGY_EXPORT_T1, obis.ENERGY_EXPORT_T2),
}
"""Totals over both tariffs, published when both registers are."""
PUBLISHED = frozenset((*AVERAGED, POWER_NET, *TOTALS, *SUMS))
"""Keys whose value is derived here; every other key is read from the telegram."""


class TotalsGuard:
    """Holds back energy registers that go backwards (a glitch, not a reset)."""

    def __init__(self) -> None:
        """Start with no register seen."""
        self._totals: dict[str, float] = {}
        self.glitches = 0
        """Telegrams whose totals went backwards (not published)."""

    def clear(self) -> None:
        """Start afresh (another meter answers)."""
        self._totals.clear()

    def update(self, telegram: Telegram) -> dict[str, float]:
        """Return the guarded registers and their sums."""
        totals = self._totals
        for key in TOTALS:
            value = telegram.number(key)
            if value is None:
                continue
            previous = totals.get(key)
            if previous is not None and value < previous:
                self.glitches += 1
                LOGGER.debug(
                    "%s went back from %s to %s; keeping %s",
                    key,
                    previous,
                    value,
                    previous,
                )
                continue
            totals[key] = value
        result = dict(totals)
        for name, keys in SUMS.items():
            if all(key in totals for key in keys):
                result[name] = round(sum(totals[key] for key in keys), 3)
        return result


class AveragingWindow:
    """Publishes instantaneous values: each telegram's, or the mean over an interval.

    Every telegram counts, none is dropped. The meter's clock paces the interval, so
    a burst of buffered telegrams after a reconnect is averaged like the seconds it
    describes.
    """

    def __init__(self, interval: float) -> None:
        """Average over ``interval`` seconds; 0 publishes every telegram."""
        self.interval = interval
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._start: float | None = None
        self._published: dict[str, float] = {}

    def update(self, telegram: Telegram) -> dict[str, float]:
        """Return the published values: a new dict exactly when they were published."""
        values = {
            key: value
            for key in AVERAGED
            if (value := telegram.number(key)) is not None
        }
        if obis.POWER_IMPORT in values and obis.POWER_EXPORT in values:
            values[POWER_NET] = round(
                values[obis.POWER_IMPORT] - values[obis.POWER_EXPORT], 3
            )
        if not self.interval:
            return values
        meter_time = telegram.timestamp
        now = meter_time.timestamp() if meter_time is not None else time.monotonic()
        sums, counts, start = self._sums, self._counts, self._start
        # The window [start, start + interval) is complete when a telegram from after
        # it arrives: an interval of 10 s then averages exactly 10 telegrams. A meter
        # clock that went back closes the window too.
        if start is not None and not start <= now < start + self.interval:
            self._published = {
                key: round(total / counts[key], 3) for key, total in sums.items()
            }
            sums.clear()
            counts.clear()
            start = None
        if start is None:
            self._start = now
        for key, value in values.items():
            sums[key] = sums.get(key, 0.0) + value
            counts[key] = counts.get(key, 0) + 1
        if not self._published:
            self._published = values  # show the first values now, not after a window
        return self._published


@dataclass(frozen=True, slots=True)
class SubmeterVolume:
    """A submeter's published volume, when it was read, and the flow since before.

    One object, so a held-back lower reading keeps its predecessor's time: volume
    and time always belong together.
    """

    value: float
    """m³, guarded against going backwards."""
    time: datetime | None
    flow: float | None
    """m³/h, from successive readings."""


@dataclass(slots=True)
class SubmeterTracker:
    """Guards one M-Bus volume against going backwards and derives its flow (m³/h)."""

    equipment_id: str | None = None
    volume: SubmeterVolume | None = None

    def update(self, device: MBusDevice) -> None:
        """Take the device's reading from the latest telegram."""
        if device.equipment_id != self.equipment_id:  # another submeter on this channel
            self.equipment_id, self.volume = device.equipment_id, None
        reading = device.reading
        if reading is None:
            return
        if (last := self.volume) is None:
            if reading.timestamp is not None:
                self.volume = SubmeterVolume(reading.value, reading.timestamp, None)
            return
        if reading.timestamp == last.time or reading.value < last.value:
            return  # the same reading, or a glitch (not a reset): keep the last volume
        flow = last.flow
        if last.time is not None and reading.timestamp is not None:
            hours = (reading.timestamp - last.time).total_seconds() / 3600
            if hours > 0:
                flow = round((reading.value - last.value) / hours, 4)
        self.volume = SubmeterVolume(reading.value, reading.timestamp, flow)


@dataclass(slots=True, kw_only=True)
class Snapshot:
    """What the entities read after one telegram."""

    telegram: Telegram
    published: dict[str, float]
    """The values derived here (keys in ``PUBLISHED``): means, guarded totals, sums."""
    submeters: dict[int, SubmeterVolume] = field(default_factory=dict)
    """The published M-Bus volume per channel, for channels that have one."""
    telegrams: int = 0
    rejected: int = 0
    """Candidates dropped by the framer (CRC errors, truncated, malformed)."""
    received: datetime | None = None
    capacity: CapacityState | None = None
    """The capacity tariff view, refreshed with the averaged values; ``None`` for
    meters without 1-0:1.6.0 (firmware 50213)."""
    new_peak: NewPeak | None = None
    """Set on the one telegram whose 1-0:1.6.0 is a new monthly peak."""

    def value(self, key: str) -> Value:
        """Return the published value of an OBIS object or derived value."""
        if key in PUBLISHED:
            return self.published.get(key)
        return self.telegram.value(key)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` has a published value or is in the telegram."""
        if key in PUBLISHED:
            return key in self.published
        return key in self.telegram.objects


class Derivation:
    """Turns the telegrams of one meter into snapshots."""

    def __init__(self, publish_interval: float) -> None:
        """Average instantaneous values over ``publish_interval`` seconds (0: none)."""
        self.totals = TotalsGuard()
        self.window = AveragingWindow(publish_interval)
        self._submeters: dict[int, SubmeterTracker] = {}
        self._averaged: dict[str, float] | None = None
        self._fresh = False
        self._capacity: CapacityState | None = None

    def clear(self) -> None:
        """Forget totals and submeters: a different meter answers."""
        self.totals.clear()
        self._submeters.clear()

    def update(self, telegram: Telegram) -> Snapshot:
        """Return the snapshot of ``telegram``; the link fills in its counters."""
        submeters = self._submeters
        for device in telegram.mbus:
            submeters.setdefault(device.channel, SubmeterTracker()).update(device)
        averaged = self.window.update(telegram)  # a new dict exactly when published
        self._fresh = averaged is not self._averaged
        self._averaged = averaged
        return Snapshot(
            telegram=telegram,
            published={**averaged, **self.totals.update(telegram)},
            submeters={
                channel: tracker.volume
                for channel, tracker in submeters.items()
                if tracker.volume is not None
            },
        )

    def add_capacity(self, snapshot: Snapshot, capacity: CapacityState | None) -> None:
        """Publish the capacity view after the snapshot's telegram.

        It changes every second like the averaged values, so it is published with
        them: when a window closes, or with every telegram without averaging.
        """
        if capacity is None:
            return
        if self._fresh or self._capacity is None:
            self._capacity = capacity
        snapshot.capacity = self._capacity
        snapshot.new_peak = capacity.new_peak
