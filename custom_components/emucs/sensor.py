"""Sensors: every value of the meter and of its M-Bus submeters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
    UnitOfVolume,
    UnitOfVolumeFlowRate,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .capacity import CapacityState
from .const import DOMAIN
from .coordinator import (
    ENERGY_EXPORT_TOTAL,
    ENERGY_IMPORT_TOTAL,
    POWER_NET,
    EmucsConfigEntry,
    EmucsCoordinator,
    EmucsData,
    SubmeterVolume,
)
from .entity import (
    EmucsEntity,
    EmucsSubmeterEntity,
    EntityCandidates,
    async_add_dynamic_entities,
    submeter_key,
)
from .protocol import MBusDevice, obis
from .s1_entity import async_add_s1_entities, s1_sensors

PARALLEL_UPDATES = 0

BREAKER_STATES = ["disconnected", "connected", "ready_for_reconnection"]
BREAKER_STATE_CODES = dict(enumerate(BREAKER_STATES))
GRID_CONFIGURATIONS = {230: "3x230v", 400: "3n400v"}
TARIFFS = {1: "tariff_1", 2: "tariff_2"}
WATER_MEDIA = {"water", "warm_water", "hot_water", "cold_water"}


@dataclass(frozen=True, kw_only=True)
class EmucsSensorEntityDescription(SensorEntityDescription):
    """A meter sensor: its value and whether the telegrams support it."""

    value_fn: Callable[[EmucsData], StateType | datetime]
    has_fn: Callable[[EmucsData], bool]
    attrs_fn: Callable[[EmucsData], dict[str, Any]] | None = None


@dataclass(frozen=True, kw_only=True)
class EmucsSubmeterSensorEntityDescription(SensorEntityDescription):
    """A submeter sensor."""

    value_fn: Callable[[EmucsData, MBusDevice], StateType | datetime]
    has_fn: Callable[[MBusDevice], bool] = lambda _: True


def _present(key: str) -> Callable[[EmucsData], bool]:
    return lambda data: key in data.telegram.objects


def _energy(
    key: str, translation_key: str, tariff: str | None = None
) -> EmucsSensorEntityDescription:
    """Describe an energy register (one tariff) or the sum of both tariffs."""
    return EmucsSensorEntityDescription(
        key=translation_key if tariff is None else f"{translation_key}_{tariff}",
        translation_key=translation_key,
        translation_placeholders=None if tariff is None else {"tariff": tariff},
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        value_fn=lambda data: data.totals.get(key),
        has_fn=lambda data: key in data.totals,
    )


def _fast(
    key: str,
    name: str,
    *,
    device_class: SensorDeviceClass,
    unit: str,
    precision: int,
    translation_key: str | None = None,
    placeholders: dict[str, str] | None = None,
    enabled: bool = True,
) -> EmucsSensorEntityDescription:
    """Describe an instantaneous value, published as the mean over the interval."""
    return EmucsSensorEntityDescription(
        key=name,
        translation_key=translation_key or name,
        translation_placeholders=placeholders,
        device_class=device_class,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=unit,
        suggested_display_precision=precision,
        entity_registry_enabled_default=enabled,
        value_fn=lambda data: data.fast.get(key),
        has_fn=lambda data: key in data.fast,
    )


def _capacity(
    value: Callable[[CapacityState], float | int | None],
) -> Callable[[EmucsData], StateType]:
    def read(data: EmucsData) -> StateType:
        capacity = data.capacity
        if capacity is None or (result := value(capacity)) is None:
            return None
        return round(result, 3)

    return read


def _has_capacity(data: EmucsData) -> bool:
    return data.capacity is not None


def _forecast_attributes(data: EmucsData) -> dict[str, Any]:
    capacity = data.capacity
    if capacity is None:
        return {}
    quarter = capacity.quarter
    expected = capacity.demand_expected_kw
    return {
        "quarter_start": quarter.start.isoformat(),
        "energy_so_far": round(quarter.energy_kwh, 3),
        "baseline_estimated": quarter.baseline_estimated,
        # What 1-0:1.4.0 turned out to be, and what it should read by that model.
        "demand_register": capacity.demand_mode,
        "demand_register_expected": None if expected is None else round(expected, 3),
    }


def _headroom_attributes(data: EmucsData) -> dict[str, Any]:
    capacity = data.capacity
    return {} if capacity is None else {"target": round(capacity.target_kw, 3)}


def _months_attributes(data: EmucsData) -> dict[str, Any]:
    capacity = data.capacity
    if capacity is None:
        return {}
    return {"months": {month.label: month.peak_kw for month in capacity.months}}


def _enum(value: object, states: dict[int, str]) -> str | None:
    return states.get(value) if isinstance(value, int) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


PHASE_SENSORS: tuple[EmucsSensorEntityDescription, ...] = tuple(
    description
    for phase, (imp, exp, volt, curr) in enumerate(
        (
            (
                obis.POWER_IMPORT_L1,
                obis.POWER_EXPORT_L1,
                obis.VOLTAGE_L1,
                obis.CURRENT_L1,
            ),
            (
                obis.POWER_IMPORT_L2,
                obis.POWER_EXPORT_L2,
                obis.VOLTAGE_L2,
                obis.CURRENT_L2,
            ),
            (
                obis.POWER_IMPORT_L3,
                obis.POWER_EXPORT_L3,
                obis.VOLTAGE_L3,
                obis.CURRENT_L3,
            ),
        ),
        start=1,
    )
    for description in (
        _fast(
            imp,
            f"power_import_l{phase}",
            translation_key="power_import_phase",
            placeholders={"phase": str(phase)},
            device_class=SensorDeviceClass.POWER,
            unit=UnitOfPower.KILO_WATT,
            precision=3,
            enabled=False,
        ),
        _fast(
            exp,
            f"power_export_l{phase}",
            translation_key="power_export_phase",
            placeholders={"phase": str(phase)},
            device_class=SensorDeviceClass.POWER,
            unit=UnitOfPower.KILO_WATT,
            precision=3,
            enabled=False,
        ),
        _fast(
            volt,
            f"voltage_l{phase}",
            translation_key="voltage_phase",
            placeholders={"phase": str(phase)},
            device_class=SensorDeviceClass.VOLTAGE,
            unit=UnitOfElectricPotential.VOLT,
            precision=1,
        ),
        _fast(
            curr,
            f"current_l{phase}",
            translation_key="current_phase",
            placeholders={"phase": str(phase)},
            device_class=SensorDeviceClass.CURRENT,
            unit=UnitOfElectricCurrent.AMPERE,
            precision=2,
        ),
    )
)

SENSORS: tuple[EmucsSensorEntityDescription, ...] = (
    _energy(obis.ENERGY_IMPORT_T1, "energy_import_tariff", "1"),
    _energy(obis.ENERGY_IMPORT_T2, "energy_import_tariff", "2"),
    _energy(obis.ENERGY_EXPORT_T1, "energy_export_tariff", "1"),
    _energy(obis.ENERGY_EXPORT_T2, "energy_export_tariff", "2"),
    _energy(ENERGY_IMPORT_TOTAL, ENERGY_IMPORT_TOTAL),
    _energy(ENERGY_EXPORT_TOTAL, ENERGY_EXPORT_TOTAL),
    EmucsSensorEntityDescription(
        key="tariff",
        translation_key="tariff",
        device_class=SensorDeviceClass.ENUM,
        options=list(TARIFFS.values()),
        value_fn=lambda data: _enum(data.telegram.value(obis.TARIFF), TARIFFS),
        has_fn=_present(obis.TARIFF),
    ),
    _fast(
        obis.POWER_IMPORT,
        "power_import",
        device_class=SensorDeviceClass.POWER,
        unit=UnitOfPower.KILO_WATT,
        precision=3,
    ),
    _fast(
        obis.POWER_EXPORT,
        "power_export",
        device_class=SensorDeviceClass.POWER,
        unit=UnitOfPower.KILO_WATT,
        precision=3,
    ),
    _fast(
        POWER_NET,
        POWER_NET,
        device_class=SensorDeviceClass.POWER,
        unit=UnitOfPower.KILO_WATT,
        precision=3,
    ),
    *PHASE_SENSORS,
    _fast(
        obis.AVERAGE_DEMAND,
        "average_demand",
        device_class=SensorDeviceClass.POWER,
        unit=UnitOfPower.KILO_WATT,
        precision=3,
    ),
    EmucsSensorEntityDescription(
        key="peak_demand",
        translation_key="peak_demand",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=3,
        value_fn=lambda data: data.telegram.number(obis.PEAK_DEMAND),
        has_fn=_present(obis.PEAK_DEMAND),
    ),
    EmucsSensorEntityDescription(
        key="peak_demand_time",
        translation_key="peak_demand_time",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: (
            None
            if (peak := data.telegram.objects.get(obis.PEAK_DEMAND)) is None
            else peak.timestamp
        ),
        has_fn=_present(obis.PEAK_DEMAND),
    ),
    EmucsSensorEntityDescription(
        key="quarter_forecast",
        translation_key="quarter_forecast",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=3,
        value_fn=_capacity(lambda c: c.quarter.projected_kw),
        has_fn=_has_capacity,
        attrs_fn=_forecast_attributes,
    ),
    EmucsSensorEntityDescription(
        key="quarter_seconds_left",
        translation_key="quarter_seconds_left",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        # Whole seconds: HA 2026.10 gives duration sensors two decimals by default.
        suggested_display_precision=0,
        value_fn=_capacity(lambda c: c.quarter.seconds_left),
        has_fn=_has_capacity,
    ),
    EmucsSensorEntityDescription(
        key="peak_headroom",
        translation_key="peak_headroom",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=3,
        value_fn=_capacity(lambda c: c.headroom_kw),
        has_fn=_has_capacity,
        attrs_fn=_headroom_attributes,
    ),
    EmucsSensorEntityDescription(
        key="peak_average",
        translation_key="peak_average",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=3,
        value_fn=_capacity(lambda c: c.billing_average_kw),
        has_fn=_has_capacity,
        attrs_fn=_months_attributes,
    ),
    EmucsSensorEntityDescription(
        key="capacity_cost",
        translation_key="capacity_cost",
        device_class=SensorDeviceClass.MONETARY,
        native_unit_of_measurement="EUR",
        suggested_display_precision=2,
        value_fn=_capacity(lambda c: c.yearly_cost),
        # Only with a rate in the options (a new rate reloads the entry).
        has_fn=lambda data: (
            data.capacity is not None and data.capacity.yearly_cost is not None
        ),
    ),
    EmucsSensorEntityDescription(
        key="breaker_state",
        translation_key="breaker_state",
        device_class=SensorDeviceClass.ENUM,
        options=BREAKER_STATES,
        value_fn=lambda data: _enum(
            data.telegram.value(obis.BREAKER_STATE), BREAKER_STATE_CODES
        ),
        has_fn=_present(obis.BREAKER_STATE),
    ),
    EmucsSensorEntityDescription(
        key="limiter_threshold",
        translation_key="limiter_threshold",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=3,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.telegram.number(obis.LIMITER_THRESHOLD),
        has_fn=_present(obis.LIMITER_THRESHOLD),
    ),
    EmucsSensorEntityDescription(
        key="fuse_threshold",
        translation_key="fuse_threshold",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.telegram.number(obis.FUSE_THRESHOLD),
        has_fn=_present(obis.FUSE_THRESHOLD),
    ),
    EmucsSensorEntityDescription(
        key="grid_configuration",
        translation_key="grid_configuration",
        device_class=SensorDeviceClass.ENUM,
        options=list(GRID_CONFIGURATIONS.values()),
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: _enum(
            data.telegram.value(obis.GRID_CONFIGURATION), GRID_CONFIGURATIONS
        ),
        has_fn=_present(obis.GRID_CONFIGURATION),
    ),
    EmucsSensorEntityDescription(
        key="text_message",
        translation_key="text_message",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: _text(data.telegram.value(obis.TEXT_MESSAGE)),
        has_fn=_present(obis.TEXT_MESSAGE),
    ),
    EmucsSensorEntityDescription(
        key="message_code",
        translation_key="message_code",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: _text(data.telegram.value(obis.MESSAGE_CODE)),
        has_fn=_present(obis.MESSAGE_CODE),
    ),
    EmucsSensorEntityDescription(
        key="ean",
        translation_key="ean",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: _text(data.telegram.value(obis.EAN)) or None,
        has_fn=_present(obis.EAN),
    ),
    EmucsSensorEntityDescription(
        key="meter_clock",
        translation_key="meter_clock",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.telegram.timestamp,
        has_fn=_present(obis.TIMESTAMP),
    ),
    EmucsSensorEntityDescription(
        key="telegrams",
        translation_key="telegrams",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.telegrams,
        has_fn=lambda _: True,
    ),
    EmucsSensorEntityDescription(
        key="rejected_telegrams",
        translation_key="rejected_telegrams",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.rejected,
        has_fn=lambda _: True,
    ),
    EmucsSensorEntityDescription(
        key="last_telegram",
        translation_key="last_telegram",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.received,
        has_fn=lambda _: True,
    ),
)


def _submeter(
    value: Callable[[SubmeterVolume], float | datetime | None],
) -> Callable[[EmucsData, MBusDevice], StateType | datetime]:
    def read(data: EmucsData, device: MBusDevice) -> StateType | datetime:
        volume = data.submeters.get(device.channel)
        return None if volume is None else value(volume)

    return read


_volume = _submeter(lambda volume: volume.value)


SUBMETER_SENSORS: tuple[EmucsSubmeterSensorEntityDescription, ...] = (
    EmucsSubmeterSensorEntityDescription(
        key="gas",
        translation_key="gas",
        device_class=SensorDeviceClass.GAS,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfVolume.CUBIC_METERS,
        suggested_display_precision=3,
        value_fn=_volume,
        has_fn=lambda device: device.medium == "gas",
    ),
    EmucsSubmeterSensorEntityDescription(
        key="water",
        translation_key="water",
        device_class=SensorDeviceClass.WATER,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfVolume.CUBIC_METERS,
        suggested_display_precision=3,
        value_fn=_volume,
        has_fn=lambda device: device.medium in WATER_MEDIA,
    ),
    EmucsSubmeterSensorEntityDescription(
        key="volume",
        translation_key="volume",
        device_class=SensorDeviceClass.VOLUME,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfVolume.CUBIC_METERS,
        suggested_display_precision=3,
        value_fn=_volume,
        has_fn=lambda device: (
            device.medium != "gas" and device.medium not in WATER_MEDIA
        ),
    ),
    EmucsSubmeterSensorEntityDescription(
        key="flow_rate",
        translation_key="flow_rate",
        device_class=SensorDeviceClass.VOLUME_FLOW_RATE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfVolumeFlowRate.CUBIC_METERS_PER_HOUR,
        suggested_display_precision=3,
        value_fn=_submeter(lambda volume: volume.flow),
    ),
    EmucsSubmeterSensorEntityDescription(
        key="reading_time",
        translation_key="reading_time",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_submeter(lambda volume: volume.time),
    ),
    EmucsSubmeterSensorEntityDescription(
        key="valve_state",
        translation_key="valve_state",
        device_class=SensorDeviceClass.ENUM,
        options=BREAKER_STATES,
        value_fn=lambda _, device: _enum(device.valve, BREAKER_STATE_CODES),
        has_fn=lambda device: device.valve is not None,
    ),
    EmucsSubmeterSensorEntityDescription(
        key="ean",
        translation_key="ean",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda _, device: device.ean,
        has_fn=lambda device: device.ean is not None,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmucsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add sensors for the objects the meter sends, now and as they appear."""
    coordinator = entry.runtime_data
    if coordinator.capacity.settings.rate is None:
        # The rate was cleared in the options: the cost sensor is gone for good.
        registry = er.async_get(hass)
        if cost := registry.async_get_entity_id(
            "sensor", DOMAIN, f"{entry.unique_id}_capacity_cost"
        ):
            registry.async_remove(cost)

    def candidates(data: EmucsData) -> EntityCandidates:
        for description in SENSORS:
            if description.has_fn(data):
                yield description.key, partial(EmucsSensor, coordinator, description)
        for device in data.telegram.mbus:
            for sub in SUBMETER_SENSORS:
                if sub.has_fn(device):
                    yield (
                        f"{submeter_key(device)}_{sub.key}",
                        partial(EmucsSubmeterSensor, coordinator, sub, device),
                    )

    async_add_dynamic_entities(coordinator, async_add_entities, candidates)
    if (s1 := coordinator.s1) is not None:
        async_add_s1_entities(s1, async_add_entities, partial(s1_sensors, s1))


class EmucsSensor(EmucsEntity, SensorEntity):
    """A sensor of the electricity meter."""

    entity_description: EmucsSensorEntityDescription

    def __init__(
        self, coordinator: EmucsCoordinator, description: EmucsSensorEntityDescription
    ) -> None:
        """Create the sensor and read its first value."""
        super().__init__(coordinator, description)
        self._attr_native_value = description.value_fn(coordinator.data)
        if description.attrs_fn is not None:
            self._attr_extra_state_attributes = description.attrs_fn(coordinator.data)
        self._written_available = True

    @callback
    def _handle_coordinator_update(self) -> None:
        # Skip the state machine when nothing changed: most values are stable from
        # one telegram to the next, and there is one telegram a second.
        value = self.entity_description.value_fn(self.coordinator.data)
        available = self.available
        if value == self._attr_native_value and available == self._written_available:
            return
        self._attr_native_value = value
        self._written_available = available
        if (attrs_fn := self.entity_description.attrs_fn) is not None:
            self._attr_extra_state_attributes = attrs_fn(self.coordinator.data)
        self.async_write_ha_state()


class EmucsSubmeterSensor(EmucsSubmeterEntity, SensorEntity):
    """A sensor of an M-Bus submeter."""

    entity_description: EmucsSubmeterSensorEntityDescription

    @property
    def native_value(self) -> StateType | datetime:
        """Return the value from the latest telegram."""
        device = self.device
        if device is None:
            return None
        return self.entity_description.value_fn(self.coordinator.data, device)
