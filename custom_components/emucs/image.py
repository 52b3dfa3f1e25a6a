"""Image entity: the S1 waveform (last two cycles of V and I per phase)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EmucsConfigEntry
from .s1_entity import EmucsS1Waveform, async_add_s1_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmucsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the waveform image when an S1 port is configured and streaming."""
    if (s1 := entry.runtime_data.s1) is not None:
        async_add_s1_entities(
            s1, async_add_entities, lambda _: [EmucsS1Waveform(s1, hass)]
        )
