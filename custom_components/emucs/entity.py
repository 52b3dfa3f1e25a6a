"""The base entity of every platform, and adding entities as data shows them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import EmucsPushCoordinator
from .derivation import Snapshot
from .protocol import MBusDevice
from .protocol.meter import (
    meter_manufacturer,
    meter_model,
    meter_sw_version,
    submeter_key,
    submeter_model,
)


class EmucsEntity[CoordinatorT: EmucsPushCoordinator[Any]](
    CoordinatorEntity[CoordinatorT]
):
    """An entity of the electricity meter, or of one of its M-Bus submeters."""

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: CoordinatorT,
        description: EntityDescription,
        submeter: MBusDevice | None = None,
    ) -> None:
        """Bind the description to the meter's device or to the submeter's own."""
        super().__init__(coordinator)
        self.entity_description = description
        serial = str(coordinator.config_entry.unique_id)
        if submeter is not None:
            key = f"{serial}_{submeter_key(submeter)}"
            model = submeter_model(submeter)
            self._attr_unique_id = f"{key}_{description.key}"
            self._attr_device_info = DeviceInfo(
                identifiers={(DOMAIN, key)},
                name=model,
                model=model,
                serial_number=submeter.equipment_id,
            )
            return
        self._attr_unique_id = f"{serial}_{description.key}"
        # The P1 telegram describes the meter; S1 entities may join its device first.
        if (data := coordinator.config_entry.runtime_data.p1.data) is None:
            self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, serial)})
        else:
            telegram = data.telegram
            self._attr_device_info = DeviceInfo(
                identifiers={(DOMAIN, serial)},
                name="Electricity meter",
                manufacturer=meter_manufacturer(telegram),
                model=meter_model(telegram),
                serial_number=telegram.equipment_id,
                sw_version=meter_sw_version(telegram),
            )


type EntityCandidates = Iterable[tuple[str, Callable[[], Entity]]]


@callback
def async_add_entities_with_data[DataT](
    coordinator: EmucsPushCoordinator[DataT],
    async_add_entities: AddEntitiesCallback,
    candidates: Callable[[DataT], EntityCandidates],
    shape: Callable[[DataT], object] | None = None,
) -> None:
    """Add entities for what the data holds, now and whenever it grows.

    ``candidates`` yields (key, factory) for every entity the data supports; factories
    run only for keys not added yet, so values that appear later get entities without
    a reload. ``shape`` (optional) tells cheaply whether the data can hold anything
    new: candidates are only looked at when it changes.
    """
    added: set[str] = set()
    last_shape: object = None

    @callback
    def _add_new() -> None:
        nonlocal last_shape
        data = coordinator.data
        if data is None:
            return
        if shape is not None:
            if (current := shape(data)) == last_shape:
                return
            last_shape = current
        new = []
        for key, factory in candidates(data):
            if key not in added:
                added.add(key)
                new.append(factory())
        if new:
            async_add_entities(new)

    _add_new()
    coordinator.config_entry.async_on_unload(coordinator.async_add_listener(_add_new))


def telegram_shape(data: Snapshot) -> object:
    """Return what P1 entities depend on: the objects and submeters sent."""
    telegram = data.telegram
    return (tuple(telegram.objects), tuple(d.channel for d in telegram.mbus))
