"""Event entities: a new monthly peak (P1), and voltage events seen on the S1 port."""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EmucsConfigEntry, EmucsCoordinator
from .derivation import Snapshot
from .entity import (
    EmucsEntity,
    EntityCandidates,
    async_add_entities_with_data,
    telegram_shape,
)
from .s1_coordinator import EVENT_KINDS, EmucsS1Coordinator, S1Data

PARALLEL_UPDATES = 0

NEW_PEAK = "new_peak"

MONTHLY_PEAK = EventEntityDescription(
    key="monthly_peak", translation_key="monthly_peak", event_types=[NEW_PEAK]
)
VOLTAGE_EVENT = EventEntityDescription(
    key="s1_voltage_event",
    translation_key="s1_voltage_event",
    event_types=list(EVENT_KINDS),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmucsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the peak event for meters with 1-0:1.6.0, and the S1 voltage event."""
    p1, s1 = entry.runtime_data.p1, entry.runtime_data.s1

    def candidates(data: Snapshot) -> EntityCandidates:
        if data.capacity is not None:
            yield MONTHLY_PEAK.key, lambda: EmucsPeakEvent(p1, MONTHLY_PEAK)

    async_add_entities_with_data(p1, async_add_entities, candidates, telegram_shape)
    if s1 is not None:

        def s1_candidates(data: S1Data) -> EntityCandidates:
            if data.values is not None:
                yield VOLTAGE_EVENT.key, lambda: EmucsS1VoltageEvent(s1, VOLTAGE_EVENT)

        async_add_entities_with_data(s1, async_add_entities, s1_candidates)


class EmucsPeakEvent(EmucsEntity[EmucsCoordinator], EventEntity):
    """Fires once each time this month's peak (1-0:1.6.0) goes up."""

    @callback
    def _handle_coordinator_update(self) -> None:
        new = self.coordinator.data.new_peak
        if new is None:
            super()._handle_coordinator_update()  # availability may have changed
            return
        self._trigger_event(
            NEW_PEAK,
            {
                "previous": new.previous_kw,
                "peak": new.peak_kw,
                "time": None if new.time is None else new.time.isoformat(),
            },
        )
        self.async_write_ha_state()


class EmucsS1VoltageEvent(EmucsEntity[EmucsS1Coordinator], EventEntity):
    """Fires once per voltage dip, swell or interruption that ended."""

    @callback
    def _handle_coordinator_update(self) -> None:
        events = self.coordinator.data.events
        if not events:
            super()._handle_coordinator_update()  # availability may have changed
        for event in events:  # one state per event, so automations see each one
            self._trigger_event(
                event.kind,
                {
                    "phase": event.phase,
                    "start": event.start.isoformat(),
                    "duration": event.duration_s,
                    "depth": event.depth_percent,
                    "extreme_voltage": event.extreme_voltage,
                },
            )
            self.async_write_ha_state()
