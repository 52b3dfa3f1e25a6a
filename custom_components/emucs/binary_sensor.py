"""Binary sensors: the virtual relays of eMUCS E.2.x meters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EmucsConfigEntry, EmucsData
from .entity import EmucsEntity, EntityCandidates, async_add_dynamic_entities

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EmucsBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A binary sensor of the meter."""

    is_on_fn: Callable[[EmucsData], bool | None]
    has_fn: Callable[[EmucsData], bool]


def _relay(number: int) -> EmucsBinarySensorEntityDescription:
    return EmucsBinarySensorEntityDescription(
        key=f"virtual_relay_{number}",
        translation_key="virtual_relay",
        translation_placeholders={"relay": str(number)},
        # 0-n:96.3.10: 1 = connected (on), 0 = disconnected.
        is_on_fn=lambda data: (
            None if (state := data.telegram.relays.get(number)) is None else state == 1
        ),
        has_fn=lambda data: number in data.telegram.relays,
    )


# eMUCS E.2.1 foresees 4 virtual relays; channels up to 8 are read all the same.
RELAYS = tuple(_relay(number) for number in range(1, 9))


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmucsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a binary sensor for each virtual relay the meter reports."""
    coordinator = entry.runtime_data

    def candidates(data: EmucsData) -> EntityCandidates:
        for description in RELAYS:
            if description.has_fn(data):
                yield (
                    description.key,
                    partial(EmucsBinarySensor, coordinator, description),
                )

    async_add_dynamic_entities(coordinator, async_add_entities, candidates)


class EmucsBinarySensor(EmucsEntity, BinarySensorEntity):
    """A virtual relay."""

    entity_description: EmucsBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """Return whether the relay is connected."""
        return self.entity_description.is_on_fn(self.coordinator.data)
