"""Push coordinator: one P1 link per config entry, a snapshot per telegram."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .capacity import CapacitySettings, CapacityState, CapacityTracker, NewPeak, Reading
from .connection import LinkEvent, LinkTarget, P1Connection
from .const import (
    CAPACITY_SAVE_DELAY,
    CONF_CAPACITY_RATE,
    CONF_PEAK_RISK,
    CONF_PEAK_TARGET,
    CONF_PUBLISH_INTERVAL,
    CONF_SERIAL_PORT,
    CONF_SILENCE_TIMEOUT,
    CRC_REPAIR_THRESHOLD,
    DEFAULT_CAPACITY_RATE,
    DEFAULT_PEAK_RISK,
    DEFAULT_PEAK_TARGET,
    DEFAULT_PUBLISH_INTERVAL,
    DEFAULT_SILENCE_TIMEOUT,
    DOMAIN,
    ISSUE_CRC_ERRORS,
    ISSUE_METER_REPLACED,
    ISSUE_PORT_SILENT,
    LOGGER,
    SILENT_REPAIR_AFTER,
)
from .peak_statistics import async_import_monthly_peaks
from .protocol import MBusDevice, Telegram, obis
from .s1_coordinator import EmucsS1Coordinator

type EmucsConfigEntry = ConfigEntry[EmucsCoordinator]

# Registers that only grow; a lower value is a glitch, never published.
TOTALS = (
    obis.ENERGY_IMPORT_T1,
    obis.ENERGY_IMPORT_T2,
    obis.ENERGY_EXPORT_T1,
    obis.ENERGY_EXPORT_T2,
)
# Instantaneous values that are averaged over the publish interval.
FAST = (
    obis.POWER_IMPORT,
    obis.POWER_EXPORT,
    obis.POWER_IMPORT_L1,
    obis.POWER_IMPORT_L2,
    obis.POWER_IMPORT_L3,
    obis.POWER_EXPORT_L1,
    obis.POWER_EXPORT_L2,
    obis.POWER_EXPORT_L3,
    obis.VOLTAGE_L1,
    obis.VOLTAGE_L2,
    obis.VOLTAGE_L3,
    obis.CURRENT_L1,
    obis.CURRENT_L2,
    obis.CURRENT_L3,
    obis.AVERAGE_DEMAND,
)
POWER_NET = "power_net"
ENERGY_IMPORT_TOTAL = "energy_import_total"
ENERGY_EXPORT_TOTAL = "energy_export_total"
HEALTH_INTERVAL = timedelta(seconds=60)
CRC_WINDOW = 5  # health checks (minutes) over which the CRC error share is judged
CAPACITY_STORE_VERSION = 1


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
class _SubmeterTracker:
    """Guards one M-Bus volume against going backwards and derives its flow (m³/h)."""

    equipment_id: str | None = None
    volume: SubmeterVolume | None = None

    def update(self, device: MBusDevice) -> None:
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
class EmucsData:
    """What the entities read: the last telegram plus values derived from the stream."""

    telegram: Telegram
    fast: dict[str, float]
    """Instantaneous values (kW, V, A) as published: the last one or the interval mean."""
    totals: dict[str, float]
    """Energy registers guarded against going backwards, plus their sums."""
    submeters: dict[int, SubmeterVolume] = field(default_factory=dict)
    """The published M-Bus volume per channel, for channels that have one."""
    telegrams: int = 0
    rejected: int = 0
    """Candidates dropped by the framer (CRC errors, truncated, malformed)."""
    received: datetime | None = None
    capacity: CapacityState | None = None
    """The capacity tariff view, refreshed like the fast values; ``None`` for meters
    without 1-0:1.6.0 (firmware 50213)."""
    new_peak: NewPeak | None = None
    """Set on the one telegram whose 1-0:1.6.0 is a new monthly peak."""


def capacity_settings(options: Mapping[str, Any]) -> CapacitySettings:
    """Read the capacity options (0 means "not set")."""
    return CapacitySettings(
        target_kw=float(options.get(CONF_PEAK_TARGET, DEFAULT_PEAK_TARGET)) or None,
        risk_share=float(options.get(CONF_PEAK_RISK, DEFAULT_PEAK_RISK)) / 100,
        rate=float(options.get(CONF_CAPACITY_RATE, DEFAULT_CAPACITY_RATE)) or None,
    )


def capacity_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return where an entry's capacity state survives restarts."""
    return Store(hass, CAPACITY_STORE_VERSION, f"{DOMAIN}.capacity.{entry_id}")


class EmucsCoordinator(DataUpdateCoordinator[EmucsData]):
    """Receives telegrams pushed by the P1 link and hands snapshots to the entities."""

    config_entry: EmucsConfigEntry

    def __init__(self, hass: HomeAssistant, entry: EmucsConfigEntry) -> None:
        """Create the coordinator and its (not yet running) link."""
        super().__init__(
            hass, LOGGER, config_entry=entry, name=DOMAIN, update_interval=None
        )
        self.options = dict(entry.options)
        self.entry_data = dict(entry.data)
        """The options and data this coordinator runs with; a change needs a reload."""
        self.connection = P1Connection(
            target_from_data(entry.data),
            on_telegram=self._handle_telegram,
            on_event=self._handle_link_event,
            silence_timeout=entry.options.get(
                CONF_SILENCE_TIMEOUT, DEFAULT_SILENCE_TIMEOUT
            ),
        )
        self.publish_interval: float = entry.options.get(
            CONF_PUBLISH_INTERVAL, DEFAULT_PUBLISH_INTERVAL
        )
        self.equipment_id: str | None = entry.unique_id
        self._totals: dict[str, float] = {}
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._window_start: float | None = None
        self._fast: dict[str, float] = {}
        self._submeters: dict[int, _SubmeterTracker] = {}
        self._link_up = False
        self._silent_since: float | None = None
        """``time.monotonic()`` when a link opened with no telegram since."""
        self._crc_history: list[tuple[int, int]] = []
        self.glitches = 0
        """Telegrams whose totals went backwards (not published)."""
        self.s1: EmucsS1Coordinator | None = None
        """The S1 stream of the same meter, when an S1 port is configured."""
        self.capacity = CapacityTracker(capacity_settings(entry.options))
        self._capacity_store = capacity_store(hass, entry.entry_id)
        self._capacity: CapacityState | None = None
        self._published_fast: dict[str, float] | None = None
        self._imported_months: tuple[tuple[str, float | None], ...] = ()

    async def async_load_capacity(self) -> None:
        """Continue the quarter and the peak seen before a restart."""
        if (saved := await self._capacity_store.async_load()) is not None:
            self.capacity.restore(saved)

    async def async_save_capacity(self) -> None:
        """Save the capacity state now (on unload)."""
        await self._capacity_store.async_save(self.capacity.as_dict())

    @callback
    def async_start(self) -> None:
        """Start the link and the health checks; both stop with the entry."""
        entry = self.config_entry
        entry.async_create_background_task(
            self.hass,
            self.connection.run(),
            f"{DOMAIN} P1 link {self.connection.target}",
        )
        entry.async_on_unload(
            async_track_time_interval(
                self.hass, self._async_check_health, HEALTH_INTERVAL
            )
        )

    async def _async_update_data(self) -> EmucsData:
        """Never polled: data is pushed by the link."""
        raise NotImplementedError

    @callback
    def _handle_telegram(self, telegram: Telegram) -> None:
        equipment_id = telegram.equipment_id
        if equipment_id is not None and equipment_id != self.equipment_id:
            self._meter_changed(equipment_id)
        self._silent_since = None
        if not self._link_up:
            self._link_up = True
            if self.data is not None:
                LOGGER.info("Telegrams from %s again", self.connection.target)
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_PORT_SILENT))
        submeters = self._submeters
        for device in telegram.mbus:
            submeters.setdefault(device.channel, _SubmeterTracker()).update(device)
        framer = self.connection.stream.stats
        fast = self._publish_fast(telegram)
        totals = self._guard_totals(telegram)
        capacity = self._update_capacity(telegram, totals)
        # Capacity values change every second like the fast values, so they are
        # published with them: _publish_fast returns a new dict exactly when it
        # publishes (every telegram, or when an averaging window closes).
        if capacity is not None and (
            fast is not self._published_fast or self._capacity is None
        ):
            self._capacity = capacity
        self._published_fast = fast
        self.async_set_updated_data(
            EmucsData(
                telegram=telegram,
                fast=fast,
                totals=totals,
                submeters={
                    channel: tracker.volume
                    for channel, tracker in submeters.items()
                    if tracker.volume is not None
                },
                telegrams=framer.telegrams,
                rejected=framer.crc_errors + framer.malformed,
                received=dt_util.utcnow(),
                capacity=self._capacity if capacity is not None else None,
                new_peak=None if capacity is None else capacity.new_peak,
            )
        )

    def _update_capacity(
        self, telegram: Telegram, totals: dict[str, float]
    ) -> CapacityState | None:
        """Follow the quarter and the peaks; ``None`` without 1-0:1.6.0."""
        peak = telegram.objects.get(obis.PEAK_DEMAND)
        time = telegram.timestamp
        energy = totals.get(ENERGY_IMPORT_TOTAL)
        power = telegram.number(obis.POWER_IMPORT)
        if (
            peak is None
            or not isinstance(peak.value, float)
            or time is None
            or energy is None
            or power is None
        ):
            return None
        tracker = self.capacity
        before = (tracker.quarter.start, tracker.peak.time, tracker.peak.value)
        history = telegram.value(obis.PEAK_HISTORY)
        state = tracker.update(
            Reading(
                time=time,
                import_kwh=energy,
                power_kw=power,
                demand_kw=telegram.number(obis.AVERAGE_DEMAND),
            ),
            peak.timestamp,
            peak.value,
            history if isinstance(history, tuple) else (),
        )
        if (tracker.quarter.start, tracker.peak.time, tracker.peak.value) != before:
            self._capacity_store.async_delay_save(tracker.as_dict, CAPACITY_SAVE_DELAY)
        months = tuple((month.label, month.peak_kw) for month in state.months)
        if months != self._imported_months:
            self._imported_months = months
            async_import_monthly_peaks(
                self.hass,
                self.equipment_id or str(self.config_entry.unique_id),
                state.months,
            )
        return state

    def _guard_totals(self, telegram: Telegram) -> dict[str, float]:
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
        for name, keys in (
            (ENERGY_IMPORT_TOTAL, (obis.ENERGY_IMPORT_T1, obis.ENERGY_IMPORT_T2)),
            (ENERGY_EXPORT_TOTAL, (obis.ENERGY_EXPORT_T1, obis.ENERGY_EXPORT_T2)),
        ):
            if all(key in totals for key in keys):
                result[name] = round(sum(totals[key] for key in keys), 3)
        return result

    def _publish_fast(self, telegram: Telegram) -> dict[str, float]:
        values = {
            key: value for key in FAST if (value := telegram.number(key)) is not None
        }
        if obis.POWER_IMPORT in values and obis.POWER_EXPORT in values:
            values[POWER_NET] = round(
                values[obis.POWER_IMPORT] - values[obis.POWER_EXPORT], 3
            )
        if not self.publish_interval:
            return values
        # Publish the mean over the interval: every telegram counts, none is dropped.
        # The meter's clock paces the interval, so a burst of buffered telegrams after
        # a reconnect is averaged like the seconds it describes.
        meter_time = telegram.timestamp
        now = meter_time.timestamp() if meter_time is not None else time.monotonic()
        sums, counts, start = self._sums, self._counts, self._window_start
        # The window [start, start + interval) is complete when a telegram from after
        # it arrives: an interval of 10 s then averages exactly 10 telegrams. A meter
        # clock that went back closes the window too.
        if start is not None and not start <= now < start + self.publish_interval:
            self._fast = {
                key: round(total / counts[key], 3) for key, total in sums.items()
            }
            sums.clear()
            counts.clear()
            start = None
        if start is None:
            self._window_start = now
        for key, value in values.items():
            sums[key] = sums.get(key, 0.0) + value
            counts[key] = counts.get(key, 0) + 1
        if not self._fast:
            self._fast = values  # show the first values now rather than after a window
        return self._fast

    def _meter_changed(self, equipment_id: str) -> None:
        """Start the totals afresh: a different meter answers on this port."""
        if equipment_id == self.config_entry.unique_id:
            # The configured meter is back (the wrong cable was plugged in for a while).
            LOGGER.info("Meter %s answers again", equipment_id)
            ir.async_delete_issue(
                self.hass, DOMAIN, self._issue_id(ISSUE_METER_REPLACED)
            )
        elif self.equipment_id is not None:
            LOGGER.warning(
                "Meter %s now reports identifier %s: the meter was replaced, totals restart",
                self.equipment_id,
                equipment_id,
            )
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._issue_id(ISSUE_METER_REPLACED),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_METER_REPLACED,
                translation_placeholders={
                    "old": self.equipment_id,
                    "new": equipment_id,
                },
            )
        self.equipment_id = equipment_id
        self._totals.clear()
        self._submeters.clear()

    @callback
    def _handle_link_event(self, event: LinkEvent, detail: str | None) -> None:
        if event is LinkEvent.OPENED:
            # Silence counts across the reconnects that the silence timeout causes.
            if self._silent_since is None:
                self._silent_since = time.monotonic()
            return
        if event is LinkEvent.OPEN_FAILED:
            self._silent_since = None  # not a silent port: it does not even open
        if self._link_up or (self.data is None and self.last_update_success):
            LOGGER.warning("Lost the meter at %s: %s", self.connection.target, detail)
        self._link_up = False
        if self.last_update_success:
            self.last_update_success = False
            self.async_update_listeners()

    @callback
    def _async_check_health(self, _now: datetime) -> None:
        """Raise or clear the repair issues for a silent port and for CRC errors."""
        silent_since = self._silent_since
        if (
            silent_since is not None
            and time.monotonic() - silent_since > SILENT_REPAIR_AFTER
        ):
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._issue_id(ISSUE_PORT_SILENT),
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_PORT_SILENT,
                translation_placeholders={"target": str(self.connection.target)},
            )
        framer = self.connection.stream.stats
        history = self._crc_history
        history.append((framer.telegrams, framer.crc_errors + framer.malformed))
        del history[: -CRC_WINDOW - 1]
        good = history[-1][0] - history[0][0]
        bad = history[-1][1] - history[0][1]
        issue_id = self._issue_id(ISSUE_CRC_ERRORS)
        if (
            len(history) > CRC_WINDOW
            and bad > 10
            and bad > CRC_REPAIR_THRESHOLD * (good + bad)
        ):
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_CRC_ERRORS,
                translation_placeholders={"bad": str(bad), "total": str(good + bad)},
            )
        elif bad <= CRC_REPAIR_THRESHOLD * (good + bad) / 2:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    def _issue_id(self, kind: str) -> str:
        return f"{kind}_{self.config_entry.entry_id}"


def target_from_data(data: Mapping[str, Any]) -> LinkTarget:
    """Build the link target from config entry data."""
    if port := data.get(CONF_SERIAL_PORT):
        return LinkTarget(device=str(port))
    return LinkTarget(host=str(data[CONF_HOST]), port=int(data[CONF_PORT]))
