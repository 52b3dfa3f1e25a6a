"""Push coordinators: what the meter links deliver, handed to the entities.

``EmucsPushCoordinator`` holds what the P1 and S1 coordinators share: the link's
background task, link events as update errors, the silent-port repair issue and
the issue ids. ``EmucsCoordinator`` turns telegrams into snapshots (``derivation``)
and follows the capacity tariff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .capacity import CapacitySettings, CapacityState, CapacityTracker, Reading
from .connection import LinkEvent, MeterLink, P1Connection
from .const import (
    CAPACITY_SAVE_DELAY,
    CONF_CAPACITY_RATE,
    CONF_PEAK_RISK,
    CONF_PEAK_TARGET,
    CONF_PUBLISH_INTERVAL,
    CRC_REPAIR_THRESHOLD,
    DEFAULT_CAPACITY_RATE,
    DEFAULT_PEAK_RISK,
    DEFAULT_PEAK_TARGET,
    DEFAULT_PUBLISH_INTERVAL,
    DOMAIN,
    ISSUE_CRC_ERRORS,
    ISSUE_METER_REPLACED,
    ISSUE_PORT_SILENT,
    LOGGER,
    SILENT_REPAIR_AFTER,
)
from .derivation import ENERGY_IMPORT_TOTAL, Derivation, Snapshot
from .peak_statistics import async_import_monthly_peaks
from .protocol import Telegram, obis

if TYPE_CHECKING:
    from .s1_coordinator import EmucsS1Coordinator

HEALTH_INTERVAL = timedelta(seconds=60)
CRC_WINDOW = 5  # health checks (minutes) over which the CRC error share is judged
CAPACITY_STORE_VERSION = 1


@dataclass(kw_only=True)
class EmucsRuntimeData:
    """The coordinators of one meter."""

    p1: EmucsCoordinator
    s1: EmucsS1Coordinator | None
    """The S1 stream of the same meter, when an S1 port is configured."""


type EmucsConfigEntry = ConfigEntry[EmucsRuntimeData]


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


class EmucsPushCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """Runs one meter link and pushes what it delivers; never polled."""

    config_entry: EmucsConfigEntry
    silent_issue: str
    """The repair issue raised when the link stays open without data."""
    silent_severity = ir.IssueSeverity.WARNING
    lost_translation_key: str
    """The update error when the link goes down."""

    def __init__(
        self, hass: HomeAssistant, entry: EmucsConfigEntry, link: MeterLink, name: str
    ) -> None:
        """Take the link; it starts with ``async_start``."""
        super().__init__(
            hass, LOGGER, config_entry=entry, name=name, update_interval=None
        )
        self.link = link
        link.on_event = self._handle_link_event
        self._link_up = False
        self._silent_since: float | None = None
        """``time.monotonic()`` since when the link has been open without data."""

    @callback
    def async_start(self) -> None:
        """Start the link and the health checks; both stop with the entry."""
        entry = self.config_entry
        entry.async_create_background_task(
            self.hass, self.link.run(), f"{self.name} link {self.link.target}"
        )
        entry.async_on_unload(
            async_track_time_interval(
                self.hass, self._async_check_health, HEALTH_INTERVAL
            )
        )

    async def _async_update_data(self) -> DataT:
        """Never polled: data is pushed by the link."""
        raise NotImplementedError

    @callback
    def _data_arrived(self) -> bool:
        """Note valid data; return whether the link just came (back) up."""
        self._silent_since = None
        if self._link_up:
            return False
        self._link_up = True
        self._delete_issue(self.silent_issue)
        return True

    @callback
    def _handle_link_event(self, event: LinkEvent, detail: str | None) -> None:
        if event is LinkEvent.OPENED:
            # Silence counts across the reconnects that the silence timeout causes.
            if self._silent_since is None:
                self._silent_since = time.monotonic()
            return
        self._link_up = False
        # Logged by the coordinator once, when the entities become unavailable.
        self.async_set_update_error(
            UpdateFailed(
                translation_domain=DOMAIN,
                translation_key=self.lost_translation_key,
                translation_placeholders={
                    "target": str(self.link.target),
                    "detail": str(detail),
                },
            )
        )

    @callback
    def _async_check_health(self, _now: datetime) -> None:
        """Raise the repair issue of a link that stays open without data."""
        silent_since = self._silent_since
        if (
            silent_since is not None
            and time.monotonic() - silent_since > SILENT_REPAIR_AFTER
        ):
            self._create_issue(
                self.silent_issue,
                self.silent_severity,
                {"target": str(self.link.target)},
            )

    def _issue_id(self, kind: str) -> str:
        return f"{kind}_{self.config_entry.entry_id}"

    def _create_issue(
        self,
        kind: str,
        severity: ir.IssueSeverity,
        placeholders: dict[str, str],
    ) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(kind),
            is_fixable=False,
            severity=severity,
            translation_key=kind,
            translation_placeholders=placeholders,
        )

    def _delete_issue(self, kind: str) -> None:
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(kind))


class EmucsCoordinator(EmucsPushCoordinator[Snapshot]):
    """Receives telegrams pushed by the P1 link and hands snapshots to the entities."""

    silent_issue = ISSUE_PORT_SILENT
    silent_severity = ir.IssueSeverity.ERROR
    lost_translation_key = "p1_lost"
    link: P1Connection

    def __init__(
        self, hass: HomeAssistant, entry: EmucsConfigEntry, link: P1Connection
    ) -> None:
        """Create the coordinator of ``link`` (not yet running)."""
        super().__init__(hass, entry, link, DOMAIN)
        link.on_telegram = self._handle_telegram
        self.options = dict(entry.options)
        self.entry_data = dict(entry.data)
        """The options and data this coordinator runs with; a change needs a reload."""
        self.derivation = Derivation(
            entry.options.get(CONF_PUBLISH_INTERVAL, DEFAULT_PUBLISH_INTERVAL)
        )
        self.equipment_id: str | None = entry.unique_id
        self._crc_history: list[tuple[int, int]] = []
        self.capacity = CapacityTracker(capacity_settings(entry.options))
        self._capacity_store = capacity_store(hass, entry.entry_id)
        self._imported_months: tuple[tuple[str, float | None], ...] = ()

    async def async_load_capacity(self) -> None:
        """Continue the quarter and the peak seen before a restart."""
        if (saved := await self._capacity_store.async_load()) is not None:
            self.capacity.restore(saved)

    async def async_save_capacity(self) -> None:
        """Save the capacity state now (on unload)."""
        await self._capacity_store.async_save(self.capacity.as_dict())

    @callback
    def _handle_telegram(self, telegram: Telegram) -> None:
        equipment_id = telegram.equipment_id
        if equipment_id is not None and equipment_id != self.equipment_id:
            self._meter_changed(equipment_id)
        if self._data_arrived() and self.data is not None:
            LOGGER.info("Telegrams from %s again", self.link.target)
        derivation = self.derivation
        snapshot = derivation.update(telegram)
        derivation.add_capacity(
            snapshot,
            self._update_capacity(
                telegram, snapshot.published.get(ENERGY_IMPORT_TOTAL)
            ),
        )
        framer = self.link.stream.stats
        snapshot.telegrams = framer.telegrams
        snapshot.rejected = framer.crc_errors + framer.malformed
        snapshot.received = dt_util.utcnow()
        self.async_set_updated_data(snapshot)

    def _update_capacity(
        self, telegram: Telegram, energy: float | None
    ) -> CapacityState | None:
        """Follow the quarter and the peaks; ``None`` without 1-0:1.6.0."""
        peak = telegram.objects.get(obis.PEAK_DEMAND)
        time = telegram.timestamp
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

    def _meter_changed(self, equipment_id: str) -> None:
        """Start the totals afresh: a different meter answers on this port."""
        if equipment_id == self.config_entry.unique_id:
            # The configured meter is back (the wrong cable was plugged in for a while).
            LOGGER.info("Meter %s answers again", equipment_id)
            self._delete_issue(ISSUE_METER_REPLACED)
        elif self.equipment_id is not None:
            LOGGER.warning(
                "Meter %s now reports identifier %s: the meter was replaced, totals restart",
                self.equipment_id,
                equipment_id,
            )
            self._create_issue(
                ISSUE_METER_REPLACED,
                ir.IssueSeverity.WARNING,
                {"old": self.equipment_id, "new": equipment_id},
            )
        self.equipment_id = equipment_id
        self.derivation.clear()

    @callback
    def _handle_link_event(self, event: LinkEvent, detail: str | None) -> None:
        if event is LinkEvent.OPEN_FAILED:
            self._silent_since = None  # not a silent port: it does not even open
        super()._handle_link_event(event, detail)

    @callback
    def _async_check_health(self, now: datetime) -> None:
        """Also raise or clear the repair issue for CRC errors."""
        super()._async_check_health(now)
        framer = self.link.stream.stats
        history = self._crc_history
        history.append((framer.telegrams, framer.crc_errors + framer.malformed))
        del history[: -CRC_WINDOW - 1]
        good = history[-1][0] - history[0][0]
        bad = history[-1][1] - history[0][1]
        if (
            len(history) > CRC_WINDOW
            and bad > 10
            and bad > CRC_REPAIR_THRESHOLD * (good + bad)
        ):
            self._create_issue(
                ISSUE_CRC_ERRORS,
                ir.IssueSeverity.WARNING,
                {"bad": str(bad), "total": str(good + bad)},
            )
        elif bad <= CRC_REPAIR_THRESHOLD * (good + bad) / 2:
            self._delete_issue(ISSUE_CRC_ERRORS)
