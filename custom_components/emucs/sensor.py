"""Sensors: every value of the meter and of its M-Bus submeters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfReactivePower,
    UnitOfTime,
    UnitOfVolume,
    UnitOfVolumeFlowRate,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .capacity import CapacityState
from .const import DOMAIN
from .coordinator import EmucsConfigEntry, EmucsCoordinator
from .derivation import (
    ENERGY_EXPORT_TOTAL,
    ENERGY_IMPORT_TOTAL,
    POWER_NET,
    Snapshot,
    SubmeterVolume,
)
from .entity import (
    EmucsEntity,
    EntityCandidates,
    async_add_entities_with_data,
    telegram_shape,
)
from .protocol import MBusDevice, obis
from .protocol.meter import submeter_key
from .protocol.p1 import Value
from .protocol.s1_analytics import PhaseValues, TotalValues
from .s1_coordinator import EVENT_KINDS, EmucsS1Coordinator, S1Data

PARALLEL_UPDATES = 0

BREAKER_STATES = ["disconnected", "connected", "ready_for_reconnection"]
BREAKER_STATE_CODES = dict(enumerate(BREAKER_STATES))
GRID_CONFIGURATIONS = {230: "3x230v", 400: "3n400v"}
TARIFFS = {1: "tariff_1", 2: "tariff_2"}


def _state(value: Value) -> StateType | datetime:
    return None if isinstance(value, tuple) else value


@dataclass(frozen=True, kw_only=True)
class EmucsSensorEntityDescription(SensorEntityDescription):
    """A meter sensor: an OBIS object (or a derived value) unless ``value_fn`` says."""

    key: str = ""
    """Defaults to the table's key of ``obis`` (a derived value's name is its key)."""
    obis: str | None = None
    """The object read from the snapshot; the default ``value_fn`` and ``has_fn``."""
    value_fn: Callable[[Snapshot], StateType | datetime] | None = None
    has_fn: Callable[[Snapshot], bool] | None = None
    attrs_fn: Callable[[Snapshot], dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        """Name an OBIS object's sensor after its table row, translated by its key."""
        if not self.key:
            if self.obis is None:
                raise TypeError("a sensor needs a key or an OBIS object")
            spec = obis.OBJECTS.get(self.obis)
            object.__setattr__(self, "key", self.obis if spec is None else spec.key)
        if self.translation_key is None:
            object.__setattr__(self, "translation_key", self.key)

    def value(self, data: Snapshot) -> StateType | datetime:
        """Return the sensor's value: ``value_fn``, else the object's."""
        if self.value_fn is not None:
            return self.value_fn(data)
        return None if self.obis is None else _state(data.value(self.obis))

    def has(self, data: Snapshot) -> bool:
        """Whether the meter supports the sensor: ``has_fn``, else the object is sent."""
        if self.has_fn is not None:
            return self.has_fn(data)
        return self.obis is None or self.obis in data


@dataclass(frozen=True, kw_only=True)
class EmucsSubmeterSensorEntityDescription(SensorEntityDescription):
    """A submeter sensor."""

    obis: str | None = None
    """The channel object it shows (``C.D.E`` of ``0-n:``); the volumes show the
    reading, whichever of 24.2.1 and 24.2.3 the submeter sends."""
    value_fn: Callable[[Snapshot, MBusDevice], StateType | datetime]
    has_fn: Callable[[MBusDevice], bool] = lambda _: True


@dataclass(frozen=True, kw_only=True)
class EmucsS1SensorEntityDescription(SensorEntityDescription):
    """An S1 sensor: its value and whether the stream supports it."""

    value_fn: Callable[[S1Data], StateType]
    has_fn: Callable[[S1Data], bool] = lambda _: True


def _energy(
    code: str, translation_key: str | None = None, tariff: str | None = None
) -> EmucsSensorEntityDescription:
    """Describe an energy register (one tariff) or the sum of both tariffs."""
    return EmucsSensorEntityDescription(
        obis=code,
        translation_key=translation_key,
        translation_placeholders=None if tariff is None else {"tariff": tariff},
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
    )


def _averaged(
    code: str,
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
        obis=code,
        translation_key=translation_key,
        translation_placeholders=placeholders,
        device_class=device_class,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=unit,
        suggested_display_precision=precision,
        entity_registry_enabled_default=enabled,
    )


def _capacity(
    value: Callable[[CapacityState], float | int | None],
) -> Callable[[Snapshot], StateType]:
    # Forecasts are arithmetic on 3-decimal registers: kept at the registers'
    # resolution (like the interval means), not for display.
    def read(data: Snapshot) -> StateType:
        capacity = data.capacity
        if capacity is None or (result := value(capacity)) is None:
            return None
        return round(result, 3)

    return read


def _has_capacity(data: Snapshot) -> bool:
    return data.capacity is not None


def _forecast_attributes(data: Snapshot) -> dict[str, Any]:
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


def _headroom_attributes(data: Snapshot) -> dict[str, Any]:
    capacity = data.capacity
    return {} if capacity is None else {"target": round(capacity.target_kw, 3)}


def _months_attributes(data: Snapshot) -> dict[str, Any]:
    capacity = data.capacity
    if capacity is None:
        return {}
    return {"months": {month.label: month.peak_kw for month in capacity.months}}


def _enum(code: str, states: dict[int, str]) -> Callable[[Snapshot], str | None]:
    def read(data: Snapshot) -> str | None:
        value = data.value(code)
        return states.get(value) if isinstance(value, int) else None

    return read


PHASE_SENSORS: tuple[EmucsSensorEntityDescription, ...] = tuple(
    description
    for phase, (imp, exp, volt, curr) in enumerate(
        zip(
            obis.POWER_IMPORT_PHASES,
            obis.POWER_EXPORT_PHASES,
            obis.VOLTAGE_PHASES,
            obis.CURRENT_PHASES,
            strict=True,
        ),
        start=1,
    )
    for description in (
        _averaged(
            imp,
            translation_key="power_import_phase",
            placeholders={"phase": str(phase)},
            device_class=SensorDeviceClass.POWER,
            unit=UnitOfPower.KILO_WATT,
            precision=3,
            enabled=False,
        ),
        _averaged(
            exp,
            translation_key="power_export_phase",
            placeholders={"phase": str(phase)},
            device_class=SensorDeviceClass.POWER,
            unit=UnitOfPower.KILO_WATT,
            precision=3,
            enabled=False,
        ),
        _averaged(
            volt,
            translation_key="voltage_phase",
            placeholders={"phase": str(phase)},
            device_class=SensorDeviceClass.VOLTAGE,
            unit=UnitOfElectricPotential.VOLT,
            precision=1,
        ),
        _averaged(
            curr,
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
    _energy(ENERGY_IMPORT_TOTAL),
    _energy(ENERGY_EXPORT_TOTAL),
    EmucsSensorEntityDescription(
        obis=obis.TARIFF,
        device_class=SensorDeviceClass.ENUM,
        options=list(TARIFFS.values()),
        value_fn=_enum(obis.TARIFF, TARIFFS),
    ),
    _averaged(
        obis.POWER_IMPORT,
        device_class=SensorDeviceClass.POWER,
        unit=UnitOfPower.KILO_WATT,
        precision=3,
    ),
    _averaged(
        obis.POWER_EXPORT,
        device_class=SensorDeviceClass.POWER,
        unit=UnitOfPower.KILO_WATT,
        precision=3,
    ),
    _averaged(
        POWER_NET,
        device_class=SensorDeviceClass.POWER,
        unit=UnitOfPower.KILO_WATT,
        precision=3,
    ),
    *PHASE_SENSORS,
    _averaged(
        obis.AVERAGE_DEMAND,
        device_class=SensorDeviceClass.POWER,
        unit=UnitOfPower.KILO_WATT,
        precision=3,
    ),
    EmucsSensorEntityDescription(
        obis=obis.PEAK_DEMAND,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=3,
    ),
    EmucsSensorEntityDescription(
        key="peak_demand_time",
        obis=obis.PEAK_DEMAND,
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: (
            None
            if (peak := data.telegram.objects.get(obis.PEAK_DEMAND)) is None
            else peak.timestamp
        ),
    ),
    EmucsSensorEntityDescription(
        key="quarter_forecast",
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
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        # Whole seconds: HA 2026.10 gives duration sensors two decimals by default.
        suggested_display_precision=0,
        value_fn=_capacity(lambda c: c.quarter.seconds_left),
        has_fn=_has_capacity,
    ),
    EmucsSensorEntityDescription(
        key="peak_headroom",
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
        obis=obis.BREAKER_STATE,
        device_class=SensorDeviceClass.ENUM,
        options=BREAKER_STATES,
        value_fn=_enum(obis.BREAKER_STATE, BREAKER_STATE_CODES),
    ),
    EmucsSensorEntityDescription(
        obis=obis.LIMITER_THRESHOLD,
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=3,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    EmucsSensorEntityDescription(
        obis=obis.FUSE_THRESHOLD,
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    EmucsSensorEntityDescription(
        obis=obis.GRID_CONFIGURATION,
        device_class=SensorDeviceClass.ENUM,
        options=list(GRID_CONFIGURATIONS.values()),
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_enum(obis.GRID_CONFIGURATION, GRID_CONFIGURATIONS),
    ),
    EmucsSensorEntityDescription(
        obis=obis.TEXT_MESSAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    EmucsSensorEntityDescription(
        obis=obis.MESSAGE_CODE,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    EmucsSensorEntityDescription(
        obis=obis.EAN,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: _state(data.value(obis.EAN)) or None,
    ),
    EmucsSensorEntityDescription(
        key="meter_clock",
        obis=obis.TIMESTAMP,
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
    ),
    EmucsSensorEntityDescription(
        key="telegrams",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.telegrams,
    ),
    EmucsSensorEntityDescription(
        key="rejected_telegrams",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.rejected,
    ),
    EmucsSensorEntityDescription(
        key="last_telegram",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.received,
    ),
)


def _submeter(
    value: Callable[[SubmeterVolume], float | datetime | None],
) -> Callable[[Snapshot, MBusDevice], StateType | datetime]:
    def read(data: Snapshot, device: MBusDevice) -> StateType | datetime:
        volume = data.submeters.get(device.channel)
        return None if volume is None else value(volume)

    return read


_volume = _submeter(lambda volume: volume.value)


SUBMETER_SENSORS: tuple[EmucsSubmeterSensorEntityDescription, ...] = (
    EmucsSubmeterSensorEntityDescription(
        key="gas",
        obis=obis.MBUS_READING_UNCORRECTED,
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
        obis=obis.MBUS_READING_5MIN,
        translation_key="water",
        device_class=SensorDeviceClass.WATER,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfVolume.CUBIC_METERS,
        suggested_display_precision=3,
        value_fn=_volume,
        has_fn=lambda device: device.medium in obis.WATER_MEDIA,
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
            device.medium != "gas" and device.medium not in obis.WATER_MEDIA
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
        obis=obis.MBUS_VALVE,
        translation_key="valve_state",
        device_class=SensorDeviceClass.ENUM,
        options=BREAKER_STATES,
        value_fn=lambda _, device: (
            None if device.valve is None else BREAKER_STATE_CODES.get(device.valve)
        ),
        has_fn=lambda device: device.valve is not None,
    ),
    EmucsSubmeterSensorEntityDescription(
        key="ean",
        obis=obis.MBUS_EAN,
        translation_key="ean",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda _, device: device.ean,
        has_fn=lambda device: device.ean is not None,
    ),
)


PHASES = ("L1", "L2", "L3")


def _phase_value(
    phase: str, read: Callable[[PhaseValues], float | None]
) -> Callable[[S1Data], StateType]:
    def value(data: S1Data) -> StateType:
        values = data.values
        if values is None or phase not in values.phases:
            return None
        return read(values.phases[phase])

    return value


def _has_phase(phase: str) -> Callable[[S1Data], bool]:
    return lambda data: data.values is not None and phase in data.values.phases


def _total_value(
    read: Callable[[TotalValues], float | None],
) -> Callable[[S1Data], StateType]:
    def value(data: S1Data) -> StateType:
        total = None if data.values is None else data.values.total
        return None if total is None else read(total)

    return value


def _has_total(data: S1Data) -> bool:
    return data.values is not None and data.values.total is not None


def _percent(value: float | None) -> float | None:
    return None if value is None else value * 100


@dataclass(frozen=True, kw_only=True)
class _Quantity:
    key: str
    device_class: SensorDeviceClass | None
    unit: str | None
    precision: int
    enabled: bool


VOLTAGE = _Quantity(
    key="voltage",
    device_class=SensorDeviceClass.VOLTAGE,
    unit=UnitOfElectricPotential.VOLT,
    precision=2,
    enabled=True,
)
CURRENT = _Quantity(
    key="current",
    device_class=SensorDeviceClass.CURRENT,
    unit=UnitOfElectricCurrent.AMPERE,
    precision=3,
    enabled=True,
)
ACTIVE_POWER = _Quantity(
    key="active_power",
    device_class=SensorDeviceClass.POWER,
    unit=UnitOfPower.WATT,
    precision=1,
    enabled=True,
)
APPARENT_POWER = _Quantity(
    key="apparent_power",
    device_class=SensorDeviceClass.APPARENT_POWER,
    unit=UnitOfApparentPower.VOLT_AMPERE,
    precision=1,
    enabled=False,
)
REACTIVE_POWER = _Quantity(
    key="reactive_power",
    device_class=SensorDeviceClass.REACTIVE_POWER,
    unit=UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
    precision=1,
    enabled=False,
)
NON_ACTIVE_POWER = _Quantity(
    key="non_active_power",
    device_class=None,  # no device class fits N = sqrt(S² - P²)
    unit=UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
    precision=1,
    enabled=False,
)
POWER_FACTOR = _Quantity(
    key="power_factor",
    device_class=SensorDeviceClass.POWER_FACTOR,
    unit=PERCENTAGE,
    precision=1,
    enabled=True,
)
THD_VOLTAGE = _Quantity(
    key="thd_voltage", device_class=None, unit=PERCENTAGE, precision=2, enabled=True
)
THD_CURRENT = _Quantity(
    key="thd_current", device_class=None, unit=PERCENTAGE, precision=1, enabled=False
)

PHASE_QUANTITIES: tuple[
    tuple[_Quantity, Callable[[PhaseValues], float | None]], ...
] = (
    (VOLTAGE, lambda p: p.voltage_rms),
    (CURRENT, lambda p: p.current_rms),
    (ACTIVE_POWER, lambda p: p.active_power),
    (APPARENT_POWER, lambda p: p.apparent_power),
    (REACTIVE_POWER, lambda p: p.fundamental_reactive_power),
    (NON_ACTIVE_POWER, lambda p: p.reactive_power),
    (POWER_FACTOR, lambda p: _percent(p.power_factor)),
    (THD_VOLTAGE, lambda p: p.thd_voltage),
    (THD_CURRENT, lambda p: p.thd_current),
)
TOTAL_QUANTITIES: tuple[
    tuple[_Quantity, Callable[[TotalValues], float | None]], ...
] = (
    (ACTIVE_POWER, lambda t: t.active_power),
    (APPARENT_POWER, lambda t: t.apparent_power),
    (NON_ACTIVE_POWER, lambda t: t.reactive_power),
    (POWER_FACTOR, lambda t: _percent(t.power_factor)),
)


def _describe(
    quantity: _Quantity,
    *,
    key: str,
    translation_key: str,
    value_fn: Callable[[S1Data], StateType],
    has_fn: Callable[[S1Data], bool],
    placeholders: dict[str, str] | None = None,
) -> EmucsS1SensorEntityDescription:
    return EmucsS1SensorEntityDescription(
        key=key,
        translation_key=translation_key,
        translation_placeholders=placeholders,
        device_class=quantity.device_class,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=quantity.unit,
        suggested_display_precision=quantity.precision,
        entity_registry_enabled_default=quantity.enabled,
        value_fn=value_fn,
        has_fn=has_fn,
    )


def _health(
    key: str, value_fn: Callable[[S1Data], StateType], *, enabled: bool = False
) -> EmucsS1SensorEntityDescription:
    return EmucsS1SensorEntityDescription(
        key=f"s1_{key}",
        translation_key=f"s1_{key}",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
    )


S1_SENSORS: tuple[EmucsS1SensorEntityDescription, ...] = (
    *(
        _describe(
            quantity,
            key=f"s1_{quantity.key}_{phase.lower()}",
            translation_key=f"s1_phase_{quantity.key}",
            value_fn=_phase_value(phase, read),
            has_fn=_has_phase(phase),
            placeholders={"phase": phase},
        )
        for phase in PHASES
        for quantity, read in PHASE_QUANTITIES
    ),
    *(
        _describe(
            quantity,
            key=f"s1_total_{quantity.key}",
            translation_key=f"s1_total_{quantity.key}",
            value_fn=_total_value(read),
            has_fn=_has_total,
        )
        for quantity, read in TOTAL_QUANTITIES
    ),
    EmucsS1SensorEntityDescription(
        key="s1_frequency",
        translation_key="s1_frequency",
        device_class=SensorDeviceClass.FREQUENCY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        suggested_display_precision=3,
        value_fn=lambda data: None if data.values is None else data.values.frequency_hz,
        has_fn=lambda data: data.values is not None,
    ),
    EmucsS1SensorEntityDescription(
        key="s1_neutral_current",
        translation_key="s1_neutral_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=3,
        value_fn=lambda data: (
            None if data.values is None else data.values.neutral_current_rms
        ),
        has_fn=lambda data: (
            data.values is not None and data.values.neutral_current_rms is not None
        ),
    ),
    EmucsS1SensorEntityDescription(
        key="s1_frame_rate",
        translation_key="s1_frame_rate",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement="frames/s",
        suggested_display_precision=0,
        value_fn=lambda data: data.frames_per_second,
    ),
    _health("fcs_errors", lambda data: data.counters.fcs_errors, enabled=True),
    _health("missed_frames", lambda data: data.counters.missed_frames, enabled=True),
    _health("dropped_batches", lambda data: data.counters.dropped_batches),
    _health("discarded_bytes", lambda data: data.counters.discarded_bytes),
    _health("invalid_sample_frames", lambda data: data.counters.invalid_sample_frames),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmucsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add sensors for what the meter sends, now and as it appears."""
    p1 = entry.runtime_data.p1
    if p1.capacity.settings.rate is None:
        # The rate was cleared in the options: the cost sensor is gone for good.
        registry = er.async_get(hass)
        if cost := registry.async_get_entity_id(
            "sensor", DOMAIN, f"{entry.unique_id}_capacity_cost"
        ):
            registry.async_remove(cost)

    def candidates(data: Snapshot) -> EntityCandidates:
        for description in SENSORS:
            if description.has(data):
                yield description.key, partial(EmucsSensor, p1, description)
        for device in data.telegram.mbus:
            for sub in SUBMETER_SENSORS:
                if sub.has_fn(device):
                    yield (
                        f"{submeter_key(device)}_{sub.key}",
                        partial(EmucsSubmeterSensor, p1, sub, device),
                    )

    async_add_entities_with_data(p1, async_add_entities, candidates, telegram_shape)
    if (s1 := entry.runtime_data.s1) is not None:

        def s1_candidates(data: S1Data) -> EntityCandidates:
            if data.values is None:
                return
            for description in S1_SENSORS:
                if description.has_fn(data):
                    yield description.key, partial(EmucsS1Sensor, s1, description)
            for kind in EVENT_KINDS:
                yield f"s1_{kind}_count", partial(EmucsS1EventCounter, s1, kind)

        async_add_entities_with_data(s1, async_add_entities, s1_candidates)


class EmucsSensor(EmucsEntity[EmucsCoordinator], SensorEntity):
    """A sensor of the electricity meter."""

    entity_description: EmucsSensorEntityDescription

    def __init__(
        self, coordinator: EmucsCoordinator, description: EmucsSensorEntityDescription
    ) -> None:
        """Create the sensor and read its first value."""
        super().__init__(coordinator, description)
        self._attr_native_value = description.value(coordinator.data)
        if description.attrs_fn is not None:
            self._attr_extra_state_attributes = description.attrs_fn(coordinator.data)
        self._written_available = True

    @callback
    def _handle_coordinator_update(self) -> None:
        # Skip the state machine when nothing changed: most values are stable from
        # one telegram to the next, and there is one telegram a second.
        value = self.entity_description.value(self.coordinator.data)
        available = self.available
        if value == self._attr_native_value and available == self._written_available:
            return
        self._attr_native_value = value
        self._written_available = available
        if (attrs_fn := self.entity_description.attrs_fn) is not None:
            self._attr_extra_state_attributes = attrs_fn(self.coordinator.data)
        self.async_write_ha_state()


class EmucsSubmeterSensor(EmucsEntity[EmucsCoordinator], SensorEntity):
    """A sensor of an M-Bus submeter (gas, water), on the submeter's own device."""

    entity_description: EmucsSubmeterSensorEntityDescription

    def __init__(
        self,
        coordinator: EmucsCoordinator,
        description: EmucsSubmeterSensorEntityDescription,
        device: MBusDevice,
    ) -> None:
        """Bind the description to the submeter on ``device``'s channel."""
        super().__init__(coordinator, description, device)
        self.channel = device.channel

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

    @property
    def native_value(self) -> StateType | datetime:
        """Return the value from the latest telegram."""
        device = self.device
        if device is None:
            return None
        return self.entity_description.value_fn(self.coordinator.data, device)


class EmucsS1Sensor(EmucsEntity[EmucsS1Coordinator], SensorEntity):
    """A power-quality value from the S1 stream."""

    entity_description: EmucsS1SensorEntityDescription

    @property
    def native_value(self) -> StateType:
        """Return the value of the last publish interval."""
        return self.entity_description.value_fn(self.coordinator.data)


class EmucsS1EventCounter(EmucsEntity[EmucsS1Coordinator], RestoreSensor):
    """Voltage events of one kind counted since the integration was added."""

    _attr_state_class = SensorStateClass.TOTAL_INCREASING
    _attr_native_value: int

    def __init__(self, coordinator: EmucsS1Coordinator, kind: str) -> None:
        """Count ``kind`` events (dips, swells or interruptions)."""
        super().__init__(
            coordinator,
            SensorEntityDescription(
                key=f"s1_{kind}_count", translation_key=f"s1_{kind}_count"
            ),
        )
        self._kind = kind
        self._attr_native_value = 0

    async def async_added_to_hass(self) -> None:
        """Continue from the count before the restart."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if last is not None and isinstance(last.native_value, (int, float)):
            self._attr_native_value = int(last.native_value)

    @callback
    def _handle_coordinator_update(self) -> None:
        self._attr_native_value += sum(
            1 for event in self.coordinator.data.events if event.kind == self._kind
        )
        super()._handle_coordinator_update()
