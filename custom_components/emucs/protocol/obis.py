"""The object table: every object of the eMUCS P1 tables (E.2.1 Tables 4-7, 1.7.1 Tables 3-6).

Adding an object is one row here; the decoder, the JSON output and how the integration
publishes the value (its ``Kind``) follow from the row.
Objects on channel 0 are keyed by their reduced OBIS code (``1-0:1.8.1``); objects on
channels 1-8 (``0-n:``) are keyed by their ``C.D.E`` part and belong to an M-Bus device
or, for ``96.3.10``, to a virtual relay.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

__all__ = [
    "CHANNEL_OBJECTS",
    "MEDIA",
    "MEDIUM_MODELS",
    "OBJECTS",
    "WATER_MEDIA",
    "Kind",
    "ObjectSpec",
    "ValueType",
]


class ValueType(Enum):
    """How the groups of an object line are read."""

    NUMBER = "number"
    """One F-format decimal with an optional ``*unit``."""
    THRESHOLD = "threshold"
    """A number whose format maximum (all nines) means "deactivated"."""
    INTEGER = "integer"
    """An enumeration or count sent as digits (tariff, breaker, relay, valve...)."""
    TEXT = "text"
    """A string kept as sent (version, EAN)."""
    HEX_TEXT = "hex_text"
    """An octet string sent as hex digits (identifiers, messages), decoded to text."""
    TIMESTAMP = "timestamp"
    """A TST ``YYMMDDhhmmssX`` timestamp."""
    TIMED_NUMBER = "timed_number"
    """``(TST)(number*unit)``: a capture time followed by a value."""
    PEAK_HISTORY = "peak_history"
    """``0-0:98.1.0``: a profile generic of monthly demand peaks."""


class Kind(Enum):
    """What the integration publishes for an object.

    Every kind but ``INTERNAL`` is an entity: a test checks that each such row has
    an entity description.
    """

    AVERAGED = "averaged"
    """Instantaneous (kW, V, A): published as the mean over the publish interval."""
    TOTAL = "total"
    """A register that only grows: a lower value is a glitch and is held back."""
    NUMBER = "number"
    """A number published as sent (peak, thresholds)."""
    STATE = "state"
    """An enumeration published as sent (tariff, breaker, valve, relay)."""
    TEXT = "text"
    """Text published as sent (messages, EAN)."""
    TIME = "time"
    """A timestamp published as sent (the meter's clock)."""
    INTERNAL = "internal"
    """Read by the integration itself (device info, capacity tariff): no entity."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectSpec:
    """One row of the object table."""

    obis: str
    """Reduced OBIS code; ``0-n:`` stands for channels 1-8."""
    key: str
    """Stable snake_case name used by the integration and in documentation."""
    name: str
    """Human-readable name for the CLI."""
    value_type: ValueType
    kind: Kind
    unit: str | None = None
    """Unit the specs give; the telegram's own unit is what is reported."""


# Reduced OBIS codes of the objects the integration reads directly.
VERSION: Final = "0-0:96.1.4"
EQUIPMENT_ID: Final = "0-0:96.1.1"
EAN: Final = "0-0:96.1.2"
TIMESTAMP: Final = "0-0:1.0.0"
GRID_CONFIGURATION: Final = "1-0:94.32.1"
ENERGY_IMPORT_T1: Final = "1-0:1.8.1"
ENERGY_IMPORT_T2: Final = "1-0:1.8.2"
ENERGY_EXPORT_T1: Final = "1-0:2.8.1"
ENERGY_EXPORT_T2: Final = "1-0:2.8.2"
TARIFF: Final = "0-0:96.14.0"
AVERAGE_DEMAND: Final = "1-0:1.4.0"
PEAK_DEMAND: Final = "1-0:1.6.0"
PEAK_HISTORY: Final = "0-0:98.1.0"
POWER_IMPORT: Final = "1-0:1.7.0"
POWER_EXPORT: Final = "1-0:2.7.0"
POWER_IMPORT_L1: Final = "1-0:21.7.0"
POWER_IMPORT_L2: Final = "1-0:41.7.0"
POWER_IMPORT_L3: Final = "1-0:61.7.0"
POWER_EXPORT_L1: Final = "1-0:22.7.0"
POWER_EXPORT_L2: Final = "1-0:42.7.0"
POWER_EXPORT_L3: Final = "1-0:62.7.0"
VOLTAGE_L1: Final = "1-0:32.7.0"
VOLTAGE_L2: Final = "1-0:52.7.0"
VOLTAGE_L3: Final = "1-0:72.7.0"
CURRENT_L1: Final = "1-0:31.7.0"
CURRENT_L2: Final = "1-0:51.7.0"
CURRENT_L3: Final = "1-0:71.7.0"
BREAKER_STATE: Final = "0-0:96.3.10"
LIMITER_THRESHOLD: Final = "0-0:17.0.0"
FUSE_THRESHOLD: Final = "1-0:31.4.0"
TEXT_MESSAGE: Final = "0-0:96.13.0"
MESSAGE_CODE: Final = "0-0:96.13.1"

# C.D.E parts of channel objects (0-n:C.D.E).
MBUS_DEVICE_TYPE: Final = "24.1.0"
MBUS_EQUIPMENT_ID: Final = "96.1.1"
MBUS_EAN: Final = "96.1.2"
MBUS_VALVE: Final = "24.4.0"
MBUS_READING_5MIN: Final = "24.2.1"
MBUS_READING_UNCORRECTED: Final = "24.2.3"
RELAY_STATE: Final = "96.3.10"

QUARTER_S: Final = 900
"""Seconds of the demand period of 1-0:1.4.0, 1-0:1.6.0 and 0-0:98.1.0."""

# Per-phase codes, L1 to L3.
POWER_IMPORT_PHASES: Final = (POWER_IMPORT_L1, POWER_IMPORT_L2, POWER_IMPORT_L3)
POWER_EXPORT_PHASES: Final = (POWER_EXPORT_L1, POWER_EXPORT_L2, POWER_EXPORT_L3)
VOLTAGE_PHASES: Final = (VOLTAGE_L1, VOLTAGE_L2, VOLTAGE_L3)
CURRENT_PHASES: Final = (CURRENT_L1, CURRENT_L2, CURRENT_L3)

_V = ValueType
_K = Kind

OBJECTS: Final[dict[str, ObjectSpec]] = {
    spec.obis: spec
    for spec in (
        ObjectSpec(
            obis=VERSION,
            key="version",
            name="Version information",
            value_type=_V.TEXT,
            kind=_K.INTERNAL,
        ),
        ObjectSpec(
            obis=GRID_CONFIGURATION,
            key="grid_configuration",
            name="Grid configuration",
            value_type=_V.INTEGER,
            kind=_K.STATE,
        ),
        ObjectSpec(
            obis=EQUIPMENT_ID,
            key="equipment_id",
            name="Equipment identifier",
            value_type=_V.HEX_TEXT,
            kind=_K.INTERNAL,
        ),
        ObjectSpec(
            obis=EAN, key="ean", name="EAN identifier", value_type=_V.TEXT, kind=_K.TEXT
        ),
        ObjectSpec(
            obis=TIMESTAMP,
            key="timestamp",
            name="Date-time stamp",
            value_type=_V.TIMESTAMP,
            kind=_K.TIME,
        ),
        ObjectSpec(
            obis=ENERGY_IMPORT_T1,
            key="energy_import_tariff_1",
            name="Energy import tariff 1",
            value_type=_V.NUMBER,
            kind=_K.TOTAL,
            unit="kWh",
        ),
        ObjectSpec(
            obis=ENERGY_IMPORT_T2,
            key="energy_import_tariff_2",
            name="Energy import tariff 2",
            value_type=_V.NUMBER,
            kind=_K.TOTAL,
            unit="kWh",
        ),
        ObjectSpec(
            obis=ENERGY_EXPORT_T1,
            key="energy_export_tariff_1",
            name="Energy export tariff 1",
            value_type=_V.NUMBER,
            kind=_K.TOTAL,
            unit="kWh",
        ),
        ObjectSpec(
            obis=ENERGY_EXPORT_T2,
            key="energy_export_tariff_2",
            name="Energy export tariff 2",
            value_type=_V.NUMBER,
            kind=_K.TOTAL,
            unit="kWh",
        ),
        ObjectSpec(
            obis=TARIFF,
            key="tariff",
            name="Tariff indicator",
            value_type=_V.INTEGER,
            kind=_K.STATE,
        ),
        ObjectSpec(
            obis=AVERAGE_DEMAND,
            key="average_demand",
            name="Current average demand",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="kW",
        ),
        ObjectSpec(
            obis=PEAK_DEMAND,
            key="peak_demand",
            name="Peak demand this month",
            value_type=_V.TIMED_NUMBER,
            kind=_K.NUMBER,
            unit="kW",
        ),
        ObjectSpec(
            obis=PEAK_HISTORY,
            key="peak_history",
            name="Peak demand last 13 months",
            value_type=_V.PEAK_HISTORY,
            kind=_K.INTERNAL,
            unit="kW",
        ),
        ObjectSpec(
            obis=POWER_IMPORT,
            key="power_import",
            name="Power import",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="kW",
        ),
        ObjectSpec(
            obis=POWER_EXPORT,
            key="power_export",
            name="Power export",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="kW",
        ),
        ObjectSpec(
            obis=POWER_IMPORT_L1,
            key="power_import_l1",
            name="Power import L1",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="kW",
        ),
        ObjectSpec(
            obis=POWER_IMPORT_L2,
            key="power_import_l2",
            name="Power import L2",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="kW",
        ),
        ObjectSpec(
            obis=POWER_IMPORT_L3,
            key="power_import_l3",
            name="Power import L3",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="kW",
        ),
        ObjectSpec(
            obis=POWER_EXPORT_L1,
            key="power_export_l1",
            name="Power export L1",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="kW",
        ),
        ObjectSpec(
            obis=POWER_EXPORT_L2,
            key="power_export_l2",
            name="Power export L2",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="kW",
        ),
        ObjectSpec(
            obis=POWER_EXPORT_L3,
            key="power_export_l3",
            name="Power export L3",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="kW",
        ),
        ObjectSpec(
            obis=VOLTAGE_L1,
            key="voltage_l1",
            name="Voltage L1",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="V",
        ),
        ObjectSpec(
            obis=VOLTAGE_L2,
            key="voltage_l2",
            name="Voltage L2",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="V",
        ),
        ObjectSpec(
            obis=VOLTAGE_L3,
            key="voltage_l3",
            name="Voltage L3",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="V",
        ),
        ObjectSpec(
            obis=CURRENT_L1,
            key="current_l1",
            name="Current L1",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="A",
        ),
        ObjectSpec(
            obis=CURRENT_L2,
            key="current_l2",
            name="Current L2",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="A",
        ),
        ObjectSpec(
            obis=CURRENT_L3,
            key="current_l3",
            name="Current L3",
            value_type=_V.NUMBER,
            kind=_K.AVERAGED,
            unit="A",
        ),
        ObjectSpec(
            obis=BREAKER_STATE,
            key="breaker_state",
            name="Breaker state",
            value_type=_V.INTEGER,
            kind=_K.STATE,
        ),
        ObjectSpec(
            obis=LIMITER_THRESHOLD,
            key="limiter_threshold",
            name="Limiter threshold",
            value_type=_V.THRESHOLD,
            kind=_K.NUMBER,
            unit="kW",
        ),
        ObjectSpec(
            obis=FUSE_THRESHOLD,
            key="fuse_threshold",
            name="Fuse supervision threshold",
            value_type=_V.THRESHOLD,
            kind=_K.NUMBER,
            unit="A",
        ),
        ObjectSpec(
            obis=TEXT_MESSAGE,
            key="text_message",
            name="Text message",
            value_type=_V.HEX_TEXT,
            kind=_K.TEXT,
        ),
        ObjectSpec(
            obis=MESSAGE_CODE,
            key="message_code",
            name="Consumer message code",
            value_type=_V.HEX_TEXT,
            kind=_K.TEXT,
        ),
    )
}

CHANNEL_OBJECTS: Final[dict[str, ObjectSpec]] = {
    spec.obis[4:]: spec
    for spec in (
        ObjectSpec(
            obis="0-n:" + MBUS_DEVICE_TYPE,
            key="device_type",
            name="Device type",
            value_type=_V.INTEGER,
            kind=_K.INTERNAL,
        ),
        ObjectSpec(
            obis="0-n:" + MBUS_EQUIPMENT_ID,
            key="equipment_id",
            name="Equipment identifier",
            value_type=_V.HEX_TEXT,
            kind=_K.INTERNAL,
        ),
        ObjectSpec(
            obis="0-n:" + MBUS_EAN,
            key="ean",
            name="EAN identifier",
            value_type=_V.TEXT,
            kind=_K.TEXT,
        ),
        ObjectSpec(
            obis="0-n:" + MBUS_VALVE,
            key="valve",
            name="Valve state",
            value_type=_V.INTEGER,
            kind=_K.STATE,
        ),
        ObjectSpec(
            obis="0-n:" + MBUS_READING_5MIN,
            key="reading",
            name="Reading (5-minute)",
            value_type=_V.TIMED_NUMBER,
            kind=_K.TOTAL,
            unit="m3",
        ),
        ObjectSpec(
            obis="0-n:" + MBUS_READING_UNCORRECTED,
            key="reading",
            name="Reading (not temperature corrected)",
            value_type=_V.TIMED_NUMBER,
            kind=_K.TOTAL,
            unit="m3",
        ),
        ObjectSpec(
            obis="0-n:" + RELAY_STATE,
            key="relay_state",
            name="Virtual relay state",
            value_type=_V.INTEGER,
            kind=_K.STATE,
        ),
    )
}

# Device type codes (EN 13757-3 / OMS) to medium; gas and water are what Belgian
# meters carry today, the rest keeps a future heat or warm-water meter readable.
MEDIA: Final[dict[int, str]] = {
    0x02: "electricity",
    0x03: "gas",
    0x04: "heat",
    0x06: "warm_water",
    0x07: "water",
    0x0A: "cooling",
    0x0B: "cooling",
    0x0C: "heat",
    0x0D: "heat_cooling",
    0x15: "hot_water",
    0x16: "cold_water",
}
MEDIUM_MODELS: Final[dict[str, str]] = {
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
"""Device model per medium, as the submeter's device shows it."""
WATER_MEDIA: Final = frozenset({"water", "warm_water", "hot_water", "cold_water"})
"""Media whose volume is water (the Energy dashboard's water source)."""
