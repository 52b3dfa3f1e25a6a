"""S1 power-quality entities on the meter device: sensors, voltage events, waveform.

The platforms (sensor, event, image) call in here; S1 entities are added when the
first S1 values arrive, so a three-wire meter never gets L2 entities and a meter
without neutral measurement never gets a neutral-current sensor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.components.image import ImageEntity, ImageEntityDescription
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
    UnitOfFrequency,
    UnitOfPower,
    UnitOfReactivePower,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .protocol.s1_analytics import PhaseValues, TotalValues
from .protocol.s1_pipeline import Waveform
from .s1_coordinator import EmucsS1Coordinator, S1Data
from .waveform import render_svg

PHASES = ("L1", "L2", "L3")
EVENT_KINDS = ["dip", "swell", "interruption"]
WAVEFORM_REFRESH = timedelta(seconds=5)


@dataclass(frozen=True, kw_only=True)
class S1SensorEntityDescription(SensorEntityDescription):
    """An S1 sensor: its value and whether the stream supports it."""

    value_fn: Callable[[S1Data], StateType]
    has_fn: Callable[[S1Data], bool]


def _phase_value(
    phase: str, read: Callable[[PhaseValues], float | None], digits: int
) -> Callable[[S1Data], StateType]:
    def value(data: S1Data) -> StateType:
        values = data.values
        if values is None or phase not in values.phases:
            return None
        result = read(values.phases[phase])
        return None if result is None else round(result, digits)

    return value


def _has_phase(phase: str) -> Callable[[S1Data], bool]:
    return lambda data: data.values is not None and phase in data.values.phases


def _total_value(
    read: Callable[[TotalValues], float | None], digits: int
) -> Callable[[S1Data], StateType]:
    def value(data: S1Data) -> StateType:
        total = None if data.values is None else data.values.total
        result = None if total is None else read(total)
        return None if result is None else round(result, digits)

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
    digits: int
    enabled: bool


VOLTAGE = _Quantity(
    key="voltage",
    device_class=SensorDeviceClass.VOLTAGE,
    unit=UnitOfElectricPotential.VOLT,
    digits=2,
    enabled=True,
)
CURRENT = _Quantity(
    key="current",
    device_class=SensorDeviceClass.CURRENT,
    unit=UnitOfElectricCurrent.AMPERE,
    digits=3,
    enabled=True,
)
ACTIVE_POWER = _Quantity(
    key="active_power",
    device_class=SensorDeviceClass.POWER,
    unit=UnitOfPower.WATT,
    digits=1,
    enabled=True,
)
APPARENT_POWER = _Quantity(
    key="apparent_power",
    device_class=SensorDeviceClass.APPARENT_POWER,
    unit=UnitOfApparentPower.VOLT_AMPERE,
    digits=1,
    enabled=False,
)
REACTIVE_POWER = _Quantity(
    key="reactive_power",
    device_class=SensorDeviceClass.REACTIVE_POWER,
    unit=UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
    digits=1,
    enabled=False,
)
NON_ACTIVE_POWER = _Quantity(
    key="non_active_power",
    device_class=None,  # no device class fits N = sqrt(S² - P²)
    unit=UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
    digits=1,
    enabled=False,
)
POWER_FACTOR = _Quantity(
    key="power_factor",
    device_class=SensorDeviceClass.POWER_FACTOR,
    unit=PERCENTAGE,
    digits=1,
    enabled=True,
)
THD_VOLTAGE = _Quantity(
    key="thd_voltage", device_class=None, unit=PERCENTAGE, digits=2, enabled=True
)
THD_CURRENT = _Quantity(
    key="thd_current", device_class=None, unit=PERCENTAGE, digits=1, enabled=False
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
) -> S1SensorEntityDescription:
    return S1SensorEntityDescription(
        key=key,
        translation_key=translation_key,
        translation_placeholders=placeholders,
        device_class=quantity.device_class,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=quantity.unit,
        suggested_display_precision=quantity.digits,
        entity_registry_enabled_default=quantity.enabled,
        value_fn=value_fn,
        has_fn=has_fn,
    )


def _health(
    key: str, value_fn: Callable[[S1Data], StateType], *, enabled: bool = False
) -> S1SensorEntityDescription:
    return S1SensorEntityDescription(
        key=f"s1_{key}",
        translation_key=f"s1_{key}",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
        has_fn=lambda _: True,
    )


S1_SENSORS: tuple[S1SensorEntityDescription, ...] = (
    *(
        _describe(
            quantity,
            key=f"s1_{quantity.key}_{phase.lower()}",
            translation_key=f"s1_phase_{quantity.key}",
            value_fn=_phase_value(phase, read, quantity.digits),
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
            value_fn=_total_value(read, quantity.digits),
            has_fn=_has_total,
        )
        for quantity, read in TOTAL_QUANTITIES
    ),
    S1SensorEntityDescription(
        key="s1_frequency",
        translation_key="s1_frequency",
        device_class=SensorDeviceClass.FREQUENCY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        suggested_display_precision=3,
        value_fn=lambda data: (
            None
            if data.values is None or data.values.frequency_hz is None
            else round(data.values.frequency_hz, 3)
        ),
        has_fn=lambda data: data.values is not None,
    ),
    S1SensorEntityDescription(
        key="s1_neutral_current",
        translation_key="s1_neutral_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=3,
        value_fn=lambda data: (
            None
            if data.values is None or data.values.neutral_current_rms is None
            else round(data.values.neutral_current_rms, 3)
        ),
        has_fn=lambda data: (
            data.values is not None and data.values.neutral_current_rms is not None
        ),
    ),
    S1SensorEntityDescription(
        key="s1_frame_rate",
        translation_key="s1_frame_rate",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement="frames/s",
        suggested_display_precision=0,
        value_fn=lambda data: data.frames_per_second,
        has_fn=lambda _: True,
    ),
    _health("fcs_errors", lambda data: data.counters.fcs_errors, enabled=True),
    _health("missed_frames", lambda data: data.counters.missed_frames, enabled=True),
    _health("dropped_batches", lambda data: data.counters.dropped_batches),
    _health("discarded_bytes", lambda data: data.counters.discarded_bytes),
    _health("invalid_sample_frames", lambda data: data.counters.invalid_sample_frames),
)


class EmucsS1Entity(CoordinatorEntity[EmucsS1Coordinator]):
    """An S1 entity on the electricity meter device."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: EmucsS1Coordinator, description: EntityDescription
    ) -> None:
        """Bind the description to the meter device (created by the P1 entities)."""
        super().__init__(coordinator)
        self.entity_description = description
        serial = str(coordinator.config_entry.unique_id)
        self._attr_unique_id = f"{serial}_{description.key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, serial)})


class EmucsS1Sensor(EmucsS1Entity, SensorEntity):
    """A power-quality value from the S1 stream."""

    entity_description: S1SensorEntityDescription

    @property
    def native_value(self) -> StateType:
        """Return the value of the last publish interval."""
        return self.entity_description.value_fn(self.coordinator.data)


class EmucsS1EventCounter(EmucsS1Entity, RestoreSensor):
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


class EmucsS1VoltageEvent(EmucsS1Entity, EventEntity):
    """Fires once per voltage dip, swell or interruption that ended."""

    _attr_event_types = EVENT_KINDS

    def __init__(self, coordinator: EmucsS1Coordinator) -> None:
        """Create the event entity."""
        super().__init__(
            coordinator,
            EventEntityDescription(
                key="s1_voltage_event", translation_key="s1_voltage_event"
            ),
        )

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


class EmucsS1Waveform(EmucsS1Entity, ImageEntity):
    """The last two cycles of voltage and current per phase, as an SVG."""

    _attr_content_type = "image/svg+xml"

    def __init__(self, coordinator: EmucsS1Coordinator, hass: HomeAssistant) -> None:
        """Create the image entity."""
        EmucsS1Entity.__init__(
            self,
            coordinator,
            ImageEntityDescription(key="s1_waveform", translation_key="s1_waveform"),
        )
        ImageEntity.__init__(self, hass)
        self._waveform: Waveform | None = None
        self._svg: tuple[Waveform, bytes] | None = None

    @callback
    def _handle_coordinator_update(self) -> None:
        waveform = self.coordinator.data.waveform
        now = dt_util.utcnow()
        last = self._attr_image_last_updated
        if waveform is not None and (last is None or now - last >= WAVEFORM_REFRESH):
            self._waveform = waveform
            self._attr_image_last_updated = now
        super()._handle_coordinator_update()

    async def async_image(self) -> bytes | None:
        """Return the SVG of the last refresh, drawn in the executor when asked for."""
        waveform = self._waveform
        if waveform is None:
            return None
        if self._svg is None or self._svg[0] is not waveform:
            svg = await self.hass.async_add_executor_job(render_svg, waveform)
            self._svg = (waveform, svg)
        return self._svg[1]


@callback
def async_add_s1_entities(
    coordinator: EmucsS1Coordinator,
    async_add_entities: AddEntitiesCallback,
    make: Callable[[S1Data], list[Entity]],
) -> None:
    """Add the platform's S1 entities once, when the first S1 values arrive."""
    done = False

    @callback
    def _add() -> None:
        nonlocal done
        data = coordinator.data
        if done or data is None or data.values is None:
            return
        done = True
        async_add_entities(make(data))

    _add()
    coordinator.config_entry.async_on_unload(coordinator.async_add_listener(_add))


def s1_sensors(coordinator: EmucsS1Coordinator, data: S1Data) -> list[Entity]:
    """Return the S1 sensors the stream supports, and the event counters."""
    entities: list[Entity] = [
        EmucsS1Sensor(coordinator, description)
        for description in S1_SENSORS
        if description.has_fn(data)
    ]
    entities.extend(EmucsS1EventCounter(coordinator, kind) for kind in EVENT_KINDS)
    return entities
