"""Base entities: the meter device and one device per M-Bus submeter."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import EmucsCoordinator, EmucsData
from .protocol import MBusDevice, Telegram, obis

MEDIUM_MODELS = {
    "gas": "Gas meter",
    "water": "Water meter",
    "warm_water": "Warm water meter",
    "hot_water": "Hot water meter",
    "cold_water": "Cold water meter",
    "heat": "Heat meter",
    "cooling": "Cooling meter",
    "heat_cooling": "Heat/cooling meter",
    "electricity": "Electricity submeter",
}


def _is_sagemcom(telegram: Telegram) -> bool:
    return "SAG" in (telegram.equipment_id or "")


def meter_model(telegram: Telegram) -> str:
    """Sagemcom S211 (one phase) or T211 (three phases), else what the header says."""
    three_phase = telegram.value(obis.VOLTAGE_L3) is not None
    if _is_sagemcom(telegram):
        return "T211" if three_phase else "S211"
    return f"{'3' if three_phase else '1'}-phase meter ({telegram.header})"


def meter_sw_version(telegram: Telegram) -> str | None:
    """``DSMR 5.0.2 / eMUCS 2.1`` from the version object."""
    if telegram.dsmr_version is None:
        return telegram.version
    return f"DSMR {telegram.dsmr_version} / eMUCS {telegram.emucs_version}"


def submeter_key(device: MBusDevice) -> str:
    """Stable part of a submeter's identifiers: its serial, else its channel."""
    return device.equipment_id or f"channel_{device.channel}"


class EmucsEntity(CoordinatorEntity[EmucsCoordinator]):
    """An entity of the electricity meter device."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: EmucsCoordinator, description: EntityDescription
    ) -> None:
        """Bind the description to the meter device."""
        super().__init__(coordinator)
        self.entity_description = description
        serial = coordinator.config_entry.unique_id
        self._attr_unique_id = f"{serial}_{description.key}"
        telegram = coordinator.data.telegram
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, str(serial))},
            name="Electricity meter",
            manufacturer="Sagemcom"
            if _is_sagemcom(telegram)
            else telegram.manufacturer,
            model=meter_model(telegram),
            serial_number=telegram.equipment_id,
            sw_version=meter_sw_version(telegram),
        )


class EmucsSubmeterEntity(CoordinatorEntity[EmucsCoordinator]):
    """An entity of an M-Bus submeter (gas, water) connected to the meter."""

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: EmucsCoordinator,
        description: EntityDescription,
        device: MBusDevice,
    ) -> None:
        """Bind the description to the submeter's own device."""
        super().__init__(coordinator)
        self.entity_description = description
        self.channel = device.channel
        serial = coordinator.config_entry.unique_id
        key = submeter_key(device)
        self._attr_unique_id = f"{serial}_{key}_{description.key}"
        model = MEDIUM_MODELS.get(
            device.medium or "", f"M-Bus device type {device.device_type}"
        )
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"{serial}_{key}")},
            name=model,
            model=model,
            serial_number=device.equipment_id,
        )

    async def async_added_to_hass(self) -> None:
        """Link the submeter's device to the meter's.

        By registry ID: ``DeviceInfo.via_device`` is deprecated from HA 2026.9 and
        its replacement ``via_device_id`` does not exist in 2025.4.
        """
        await super().async_added_to_hass()
        # Our submeters are main devices; a child device (HA 2026.9+) has no via link.
        if not isinstance(own := self.device_entry, dr.DeviceEntry):
            return
        registry = dr.async_get(self.hass)
        meter = registry.async_get_or_create(
            config_entry_id=self.coordinator.config_entry.entry_id,
            identifiers={(DOMAIN, str(self.coordinator.config_entry.unique_id))},
        )
        if own.via_device_id != meter.id:
            registry.async_update_device(own.id, via_device_id=meter.id)

    @property
    def device(self) -> MBusDevice | None:
        """Return the submeter in the latest telegram, ``None`` if no longer sent."""
        for device in self.coordinator.data.telegram.mbus:
            if device.channel == self.channel:
                return device
        return None

    @property
    def available(self) -> bool:
        """Unavailable while the link is down or the submeter is missing."""
        return super().available and self.device is not None


type EntityCandidates = Iterator[tuple[str, Callable[[], Entity]]]


@callback
def async_add_dynamic_entities(
    coordinator: EmucsCoordinator,
    async_add_entities: AddEntitiesCallback,
    candidates: Callable[[EmucsData], EntityCandidates],
) -> None:
    """Add entities for what the telegrams contain, now and whenever it grows.

    ``candidates`` yields (key, factory) for every entity the data supports; factories
    run only for keys not added yet. Objects and submeters that appear later thus get
    entities without a reload.
    """
    added: set[str] = set()
    shape: tuple[object, ...] = ()

    @callback
    def _add_new() -> None:
        nonlocal shape
        data = coordinator.data
        if data is None:
            return
        telegram = data.telegram
        current = (tuple(telegram.objects), tuple(d.channel for d in telegram.mbus))
        if current == shape:
            return  # same objects as the last telegram: nothing new
        shape = current
        new = []
        for key, factory in candidates(data):
            if key not in added:
                added.add(key)
                new.append(factory())
        if new:
            async_add_entities(new)

    _add_new()
    coordinator.config_entry.async_on_unload(coordinator.async_add_listener(_add_new))
