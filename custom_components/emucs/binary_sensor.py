"""Binary sensors: the virtual relays of eMUCS E.2.x meters, and the peak at risk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EmucsConfigEntry, EmucsCoordinator
from .derivation import Snapshot
from .entity import (
    EmucsEntity,
    EntityCandidates,
    async_add_entities_with_data,
    telegram_shape,
)
from .protocol import obis

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EmucsBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A binary sensor of the meter."""

    obis: str | None = None
    """The object it shows (for relays, the C.D.E part of ``0-n:``)."""
    is_on_fn: Callable[[Snapshot], bool | None]
    has_fn: Callable[[Snapshot], bool] = lambda _: True
    attrs_fn: Callable[[Snapshot], dict[str, Any]] | None = None


def _relay(number: int) -> EmucsBinarySensorEntityDescription:
    return EmucsBinarySensorEntityDescription(
        key=f"virtual_relay_{number}",
        obis=obis.RELAY_STATE,
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


def _risk_attributes(data: Snapshot) -> dict[str, Any]:
    capacity = data.capacity
    if capacity is None:
        return {}
    # The quarter's start lets automations wait for the next quarter on the meter's
    # clock (the blueprint that pauses a charger does). Nothing here changes every
    # second: each change is a row in the recorder.
    return {
        "quarter_start": capacity.quarter.start.isoformat(),
        "target": round(capacity.target_kw, 3),
    }


PEAK_AT_RISK = EmucsBinarySensorEntityDescription(
    key="peak_at_risk",
    translation_key="peak_at_risk",
    is_on_fn=lambda data: None if data.capacity is None else data.capacity.at_risk,
    has_fn=lambda data: data.capacity is not None,
    attrs_fn=_risk_attributes,
)

BINARY_SENSORS = (*RELAYS, PEAK_AT_RISK)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmucsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a binary sensor for each virtual relay the meter reports."""
    p1 = entry.runtime_data.p1

    def candidates(data: Snapshot) -> EntityCandidates:
        for description in BINARY_SENSORS:
            if description.has_fn(data):
                yield description.key, partial(EmucsBinarySensor, p1, description)

    async_add_entities_with_data(p1, async_add_entities, candidates, telegram_shape)


class EmucsBinarySensor(EmucsEntity[EmucsCoordinator], BinarySensorEntity):
    """A virtual relay, or whether this quarter may set a new peak."""

    entity_description: EmucsBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """Return whether the relay is connected, or the peak at risk."""
        return self.entity_description.is_on_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the forecast behind the peak at risk."""
        attrs_fn = self.entity_description.attrs_fn
        return None if attrs_fn is None else attrs_fn(self.coordinator.data)
