"""Event entities: a new monthly peak (P1), and voltage events seen on the S1 port."""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EmucsConfigEntry, EmucsCoordinator, EmucsData
from .entity import EmucsEntity, EntityCandidates, async_add_dynamic_entities
from .s1_entity import EmucsS1VoltageEvent, async_add_s1_entities

PARALLEL_UPDATES = 0

NEW_PEAK = "new_peak"
PEAK_EVENT_TYPES = [NEW_PEAK]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmucsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the peak event for meters with 1-0:1.6.0, and the S1 voltage event."""
    coordinator = entry.runtime_data

    def candidates(data: EmucsData) -> EntityCandidates:
        if data.capacity is not None:
            yield "monthly_peak", lambda: EmucsPeakEvent(coordinator)

    async_add_dynamic_entities(coordinator, async_add_entities, candidates)
    if (s1 := coordinator.s1) is not None:
        async_add_s1_entities(
            s1, async_add_entities, lambda _: [EmucsS1VoltageEvent(s1)]
        )


class EmucsPeakEvent(EmucsEntity, EventEntity):
    """Fires once each time this month's peak (1-0:1.6.0) goes up."""

    _attr_event_types = PEAK_EVENT_TYPES

    def __init__(self, coordinator: EmucsCoordinator) -> None:
        """Create the event entity."""
        super().__init__(
            coordinator,
            EventEntityDescription(key="monthly_peak", translation_key="monthly_peak"),
        )

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
