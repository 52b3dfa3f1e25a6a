"""Event entity: voltage dips, swells and interruptions seen on the S1 port."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EmucsConfigEntry
from .s1_entity import EmucsS1VoltageEvent, async_add_s1_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmucsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the voltage event entity when an S1 port is configured and streaming."""
    if (s1 := entry.runtime_data.s1) is not None:
        async_add_s1_entities(
            s1, async_add_entities, lambda _: [EmucsS1VoltageEvent(s1)]
        )
