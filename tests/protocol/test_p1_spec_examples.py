"""The example telegrams of eMUCS-P1 E.2.1 (annex B) and 1.7.1 (annex B) decode exactly as printed.

The templates in ``tests/fixtures/spec_*.txt`` are the examples as the specs print
them: blanks before ``(``, line breaks inside lines (even inside an OBIS code, a
value and a unit) and ``!XXX`` where the CRC goes. ``build_telegram`` turns them into
real bytes (CRLF, computed CRC-16/ARC), which go through the real framer and decoder.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from custom_components.emucs.protocol import (
    P1Framer,
    P1Stream,
    PeakRecord,
    Telegram,
    decode_telegram,
)
from tests.protocol.helpers import SUMMER, ts
from tests.telegrams import build_telegram, load_template, template_names

E21_1PHASE = "spec_e21_1phase.txt"
E21_3PHASE = "spec_e21_3phase.txt"
V171_1PHASE = "spec_171_1phase.txt"
V171_3PHASE = "spec_171_3phase.txt"
E21 = (E21_1PHASE, E21_3PHASE)
V171 = (V171_1PHASE, V171_3PHASE)
ALL = (*E21, *V171)

# CRC-16/ARC of each example once built (the pure-Python CRC of build_telegram
# in build_telegram); pins both the template bytes and the CRC.
CRCS = {
    E21_1PHASE: "6464",
    E21_3PHASE: "DFE8",
    V171_1PHASE: "B32C",
    V171_3PHASE: "B494",
}


def _decode(name: str) -> Telegram:
    return decode_telegram(build_telegram(load_template(name)))


# The 13-month history is the same in all four examples.
SPEC_HISTORY = (
    PeakRecord(
        period_start=ts("2020-05-01 00:00:00 S"),
        timestamp=ts("2020-04-23 19:25:38 S"),
        value=3.695,
        unit="kW",
    ),
    PeakRecord(
        period_start=ts("2020-04-01 00:00:00 S"),
        timestamp=ts("2020-03-05 12:21:39 S"),
        value=5.98,
        unit="kW",
    ),
    PeakRecord(
        period_start=ts("2020-03-01 00:00:00 S"),
        timestamp=ts("2020-02-10 03:54:21 W"),
        value=4.318,
        unit="kW",
    ),
)

# Telegram order of the objects, as printed.
ORDER_E21_1PHASE = [
    "0-0:96.1.4",
    "0-0:96.1.1",
    "0-0:96.1.2",
    "0-0:1.0.0",
    "1-0:1.8.1",
    "1-0:1.8.2",
    "1-0:2.8.1",
    "1-0:2.8.2",
    "0-0:96.14.0",
    "1-0:1.4.0",
    "1-0:1.6.0",
    "0-0:98.1.0",
    "1-0:1.7.0",
    "1-0:2.7.0",
    "1-0:21.7.0",
    "1-0:22.7.0",
    "1-0:32.7.0",
    "1-0:31.7.0",
    "0-0:96.3.10",
    "0-0:17.0.0",
    "1-0:31.4.0",
    "0-1:96.3.10",
    "0-2:96.3.10",
    "0-3:96.3.10",
    "0-4:96.3.10",
    "0-0:96.13.0",
    "0-1:24.1.0",
    "0-1:96.1.1",
    "0-1:96.1.2",
    "0-1:24.4.0",
    "0-1:24.2.3",
    "0-2:24.1.0",
    "0-2:96.1.1",
    "0-2:96.1.2",
    "0-2:24.2.3",
]
ORDER_171_1PHASE = [
    "0-0:96.1.4",
    "0-0:96.1.1",
    "0-0:1.0.0",
    "1-0:1.8.1",
    "1-0:1.8.2",
    "1-0:2.8.1",
    "1-0:2.8.2",
    "1-0:1.4.0",
    "1-0:1.6.0",
    "0-0:98.1.0",
    "0-0:96.14.0",
    "1-0:1.7.0",
    "1-0:2.7.0",
    "1-0:21.7.0",
    "1-0:22.7.0",
    "1-0:32.7.0",
    "1-0:31.7.0",
    "0-0:96.3.10",
    "0-0:17.0.0",
    "1-0:31.4.0",
    "0-0:96.13.0",
    "0-1:24.1.0",
    "0-1:96.1.1",
    "0-1:24.4.0",
    "0-1:24.2.3",
    "0-2:24.1.0",
    "0-2:96.1.1",
    "0-2:24.2.1",
]
# 1.7.1's three-phase example has neither a tariff indicator nor 1-0:1.7.0.
ORDER_171_3PHASE = [
    "0-0:96.1.4",
    "0-0:96.1.1",
    "0-0:1.0.0",
    "1-0:1.8.1",
    "1-0:1.8.2",
    "1-0:2.8.1",
    "1-0:2.8.2",
    "1-0:1.4.0",
    "1-0:1.6.0",
    "0-0:98.1.0",
    "1-0:2.7.0",
    "1-0:21.7.0",
    "1-0:41.7.0",
    "1-0:61.7.0",
    "1-0:22.7.0",
    "1-0:42.7.0",
    "1-0:62.7.0",
    "1-0:32.7.0",
    "1-0:52.7.0",
    "1-0:72.7.0",
    "1-0:31.7.0",
    "1-0:51.7.0",
    "1-0:71.7.0",
    "0-0:96.3.10",
    "0-0:17.0.0",
    "1-0:31.4.0",
    "0-0:96.13.0",
    "0-1:24.1.0",
    "0-1:96.1.1",
    "0-1:24.4.0",
    "0-1:24.2.3",
    "0-2:24.1.0",
    "0-2:96.1.1",
    "0-2:24.2.1",
]

HISTORY_JSON = [
    {
        "period_start": "2020-05-01T00:00:00+02:00",
        "timestamp": "2020-04-23T19:25:38+02:00",
        "value": 3.695,
        "unit": "kW",
    },
    {
        "period_start": "2020-04-01T00:00:00+02:00",
        "timestamp": "2020-03-05T12:21:39+02:00",
        "value": 5.98,
        "unit": "kW",
    },
    {
        "period_start": "2020-03-01T00:00:00+02:00",
        "timestamp": "2020-02-10T03:54:21+01:00",
        "value": 4.318,
        "unit": "kW",
    },
]

# The JSON contract (issue 2, scope 3) of E.2.1 annex B.2, written out by hand.
E21_3PHASE_JSON: dict[str, Any] = {
    "header": "FLU5\\253769484_A",
    "crc": "DFE8",
    "objects": {
        "0-0:96.1.4": {"value": "50220"},
        "1-0:94.32.1": {"value": 400},
        "0-0:96.1.1": {"value": "1SAG3101021605"},
        "0-0:96.1.2": {"value": "541440012345678900"},
        "0-0:1.0.0": {"value": "2020-05-12T13:54:09+02:00"},
        "1-0:1.8.1": {"value": 0.034, "unit": "kWh"},
        "1-0:1.8.2": {"value": 15.758, "unit": "kWh"},
        "1-0:2.8.1": {"value": 0.0, "unit": "kWh"},
        "1-0:2.8.2": {"value": 0.011, "unit": "kWh"},
        "0-0:96.14.0": {"value": 1},
        "1-0:1.4.0": {"value": 2.351, "unit": "kW"},
        "1-0:1.6.0": {
            "value": 2.589,
            "unit": "kW",
            "timestamp": "2020-05-09T13:45:58+02:00",
        },
        "0-0:98.1.0": {"value": HISTORY_JSON},
        "1-0:1.7.0": {"value": 0.0, "unit": "kW"},
        "1-0:2.7.0": {"value": 0.0, "unit": "kW"},
        "1-0:21.7.0": {"value": 0.0, "unit": "kW"},
        "1-0:41.7.0": {"value": 0.0, "unit": "kW"},
        "1-0:61.7.0": {"value": 0.0, "unit": "kW"},
        "1-0:22.7.0": {"value": 0.0, "unit": "kW"},
        "1-0:42.7.0": {"value": 0.0, "unit": "kW"},
        "1-0:62.7.0": {"value": 0.0, "unit": "kW"},
        "1-0:32.7.0": {"value": 234.7, "unit": "V"},
        "1-0:52.7.0": {"value": 234.7, "unit": "V"},
        "1-0:72.7.0": {"value": 234.7, "unit": "V"},
        "1-0:31.7.0": {"value": 0.0, "unit": "A"},
        "1-0:51.7.0": {"value": 0.0, "unit": "A"},
        "1-0:71.7.0": {"value": 0.0, "unit": "A"},
        "0-0:96.3.10": {"value": 1},
        "0-0:17.0.0": {"value": None, "unit": "kW", "deactivated": True},
        "1-0:31.4.0": {"value": None, "unit": "A", "deactivated": True},
        "0-1:96.3.10": {"value": 0},
        "0-2:96.3.10": {"value": 0},
        "0-3:96.3.10": {"value": 0},
        "0-4:96.3.10": {"value": 0},
        "0-0:96.13.0": {"value": ""},
        "0-1:24.1.0": {"value": 3},
        "0-1:96.1.1": {"value": "7FLO2119033733"},
        "0-1:96.1.2": {"value": "541440012345678900"},
        "0-1:24.4.0": {"value": 1},
        "0-1:24.2.3": {
            "value": 112.384,
            "unit": "m3",
            "timestamp": "2020-05-12T13:45:58+02:00",
        },
        "0-2:24.1.0": {"value": 7},
        "0-2:96.1.1": {"value": "8SAG1234567890"},
        "0-2:96.1.2": {"value": "541440012345678903"},
        "0-2:24.2.3": {
            "value": 872.234,
            "unit": "m3",
            "timestamp": "2020-05-12T13:45:58+02:00",
        },
    },
    "mbus": [
        {
            "channel": 1,
            "device_type": 3,
            "medium": "gas",
            "equipment_id": "7FLO2119033733",
            "ean": "541440012345678900",
            "valve": 1,
            "reading": {
                "value": 112.384,
                "unit": "m3",
                "timestamp": "2020-05-12T13:45:58+02:00",
            },
        },
        {
            "channel": 2,
            "device_type": 7,
            "medium": "water",
            "equipment_id": "8SAG1234567890",
            "ean": "541440012345678903",
            "valve": None,
            "reading": {
                "value": 872.234,
                "unit": "m3",
                "timestamp": "2020-05-12T13:45:58+02:00",
            },
        },
    ],
}


def test_templates_are_the_printed_examples() -> None:
    """The four templates exist and keep the spec's layout (blanks, broken lines)."""
    assert template_names("spec_") == sorted(ALL)
    assert "0-0:96.1.4 (50220)" in load_template(E21_1PHASE)
    assert "\n0-\n0:98.1.0 (3)" in load_template(E21_1PHASE)
    assert "(03.695*kW\n)" in load_template(E21_3PHASE)
    assert "(2\n00401000000S)" in load_template(V171_3PHASE)
    assert "(04.318*k\nW)" in load_template(V171_3PHASE)


@pytest.mark.parametrize("name", ALL)
def test_example_frames_and_decodes(name: str) -> None:
    """Real bytes: CRLF lines, CRC over '/'..'!', one telegram out of the framer."""
    raw = build_telegram(load_template(name))
    assert raw.startswith(b"/FLU5\\2537")
    assert raw.endswith(b"!" + CRCS[name].encode() + b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    framer = P1Framer()
    assert framer.feed(raw) == [raw[:-2]]
    assert framer.stats.telegrams == 1
    assert framer.stats.crc_errors == framer.stats.malformed == 0
    telegram = decode_telegram(raw[:-2])
    assert telegram.crc == CRCS[name]
    assert telegram.invalid == []
    assert telegram.unknown == []
    assert telegram.raw == raw[:-2]
    # A trailing CRLF is allowed.
    assert decode_telegram(raw).to_dict() == telegram.to_dict()


def test_e21_3phase_to_dict_is_the_json_contract() -> None:
    """Annex B.2 of E.2.1, every object, in the documented JSON form."""
    telegram = _decode(E21_3PHASE)
    result = telegram.to_dict()
    assert result == E21_3PHASE_JSON
    assert list(result["objects"]) == list(E21_3PHASE_JSON["objects"])
    assert json.loads(json.dumps(result)) == result


def test_e21_3phase_model() -> None:
    """The typed model of E.2.1 annex B.2."""
    telegram = _decode(E21_3PHASE)
    assert telegram.header == "FLU5\\253769484_A"
    assert telegram.manufacturer == "FLU"
    assert telegram.identification == "253769484_A"
    assert telegram.version == "50220"
    assert telegram.dsmr_version == "5.0.2"
    assert telegram.emucs_version == "2.0"
    assert telegram.equipment_id == "1SAG3101021605"
    assert telegram.timestamp == datetime(2020, 5, 12, 13, 54, 9, tzinfo=SUMMER)
    assert telegram.timestamp.astimezone(UTC) == datetime(
        2020, 5, 12, 11, 54, 9, tzinfo=UTC
    )
    assert telegram.value("1-0:94.32.1") == 400
    assert telegram.value("0-0:96.1.2") == "541440012345678900"
    assert telegram.number("1-0:1.8.2") == 15.758
    assert telegram.value("0-0:96.14.0") == 1
    assert telegram.value("0-0:96.3.10") == 1
    assert telegram.relays == {1: 0, 2: 0, 3: 0, 4: 0}
    peak = telegram.objects["1-0:1.6.0"]
    assert (peak.value, peak.unit) == (2.589, "kW")
    assert peak.timestamp == datetime(2020, 5, 9, 13, 45, 58, tzinfo=SUMMER)
    assert telegram.value("0-0:98.1.0") == SPEC_HISTORY
    for obis, voltage in (("1-0:32.7.0", 234.7), ("1-0:52.7.0", 234.7)):
        assert (telegram.value(obis), telegram.objects[obis].unit) == (voltage, "V")
    # Absent objects read as None.
    assert telegram.value("1-0:99.97.0") is None
    assert telegram.number("0-0:96.1.1") is None


@pytest.mark.parametrize("name", ALL)
def test_history_and_peak(name: str) -> None:
    """0-0:98.1.0 has 3 entries, 1-0:1.6.0 the peak with its capture time."""
    telegram = _decode(name)
    history = telegram.objects["0-0:98.1.0"]
    assert history.value == SPEC_HISTORY
    assert history.error is None
    # February 2020 was winter time (+01:00), the other months summer time.
    assert [r.timestamp.utcoffset() for r in SPEC_HISTORY if r.timestamp] == [
        timedelta(hours=2),
        timedelta(hours=2),
        timedelta(hours=1),
    ]
    assert telegram.value("1-0:1.4.0") == 2.351
    assert telegram.objects["1-0:1.4.0"].unit == "kW"
    assert telegram.value("1-0:1.6.0") == 2.589
    assert telegram.objects["1-0:1.6.0"].timestamp == ts("2020-05-09 13:45:58 S")


@pytest.mark.parametrize(
    ("name", "limiter_raw", "fuse_raw"),
    [
        (E21_1PHASE, "99.999*kW", "999.99*A"),
        (E21_3PHASE, "(99.999*kW)", "(999.99*A)"),
        (V171_1PHASE, "999.9*kW", "999*A"),
        (V171_3PHASE, "999.9*kW", "999*A"),
    ],
)
def test_thresholds_deactivated(name: str, limiter_raw: str, fuse_raw: str) -> None:
    """The format maximum means deactivated: 99.999 kW/999.99 A (E.2.1), 999.9 kW/999 A (1.7)."""
    assert limiter_raw in load_template(name)
    assert fuse_raw in load_template(name)
    telegram = _decode(name)
    limiter = telegram.objects["0-0:17.0.0"]
    fuse = telegram.objects["1-0:31.4.0"]
    assert (limiter.value, limiter.unit, limiter.deactivated) == (None, "kW", True)
    assert (fuse.value, fuse.unit, fuse.deactivated) == (None, "A", True)
    assert limiter.error is fuse.error is None
    assert limiter.to_dict() == {"value": None, "unit": "kW", "deactivated": True}
    assert fuse.to_dict() == {"value": None, "unit": "A", "deactivated": True}


@pytest.mark.parametrize(
    ("name", "version", "emucs"),
    [
        (E21_1PHASE, "50220", "2.0"),
        (E21_3PHASE, "50220", "2.0"),
        (V171_1PHASE, "50217", "1.7"),
        (V171_3PHASE, "50217", "1.7"),
    ],
)
def test_version(name: str, version: str, emucs: str) -> None:
    """Version XXXYY: DSMR 5.0.2 and the eMUCS generation."""
    telegram = _decode(name)
    assert telegram.version == version
    assert telegram.dsmr_version == "5.0.2"
    assert telegram.emucs_version == emucs


@pytest.mark.parametrize(
    ("name", "equipment_id", "timestamp"),
    [
        (E21_1PHASE, "1SAG1100000231", "2020-05-12 14:55:52 S"),
        (E21_3PHASE, "1SAG3101021605", "2020-05-12 13:54:09 S"),
        (V171_1PHASE, "1SAG1100000231", "2020-05-12 14:55:52 S"),
        (V171_3PHASE, "1SAG3101021605", "2020-05-12 13:54:09 S"),
    ],
)
def test_identifiers_and_time(name: str, equipment_id: str, timestamp: str) -> None:
    """Hex-encoded identifiers are decoded; 0-0:1.0.0's value is its time."""
    telegram = _decode(name)
    assert telegram.equipment_id == equipment_id
    assert telegram.value("0-0:96.1.1") == equipment_id
    assert telegram.timestamp == ts(timestamp)
    assert telegram.value("0-0:1.0.0") == ts(timestamp)
    assert telegram.objects["0-0:1.0.0"].to_dict() == {
        "value": ts(timestamp).isoformat()
    }
    assert telegram.header == (
        "FLU5\\253770234_A" if "1phase" in name else "FLU5\\253769484_A"
    )
    assert telegram.value("0-0:96.13.0") == ""


@pytest.mark.parametrize("name", ALL)
def test_mbus_grouping(name: str) -> None:
    """Gas on channel 1, water on channel 2; the medium comes from the device type.

    E.2.1 prints the water reading on 24.2.3 (the gas code), 1.7.1 on 24.2.1:
    both must give a water meter.
    """
    telegram = _decode(name)
    water_code = "24.2.3" if name in E21 else "24.2.1"
    assert f"0-2:{water_code}" in telegram.objects
    gas, water = telegram.mbus
    reading_time = ts("2020-05-12 13:45:58 S")
    assert (gas.channel, gas.device_type, gas.medium) == (1, 3, "gas")
    assert gas.equipment_id == "7FLO2119033733"
    assert gas.valve == 1
    assert gas.reading is not None
    assert (gas.reading.value, gas.reading.unit) == (112.384, "m3")
    assert gas.reading.timestamp == reading_time
    assert (water.channel, water.device_type, water.medium) == (2, 7, "water")
    assert water.equipment_id == "8SAG1234567890"
    assert water.valve is None
    assert water.reading is not None
    assert (water.reading.value, water.reading.unit) == (872.234, "m3")
    assert water.reading.timestamp == reading_time
    if name in E21:
        assert (gas.ean, water.ean) == ("541440012345678900", "541440012345678903")
        # The virtual relays are not M-Bus devices and do not touch the breaker.
        assert telegram.relays == {1: 0, 2: 0, 3: 0, 4: 0}
        assert telegram.value("0-0:96.3.10") == 1
    else:
        assert gas.ean is water.ean is None
        assert telegram.relays == {}
    assert len(telegram.mbus) == 2


@pytest.mark.parametrize(
    ("name", "order"),
    [
        (E21_1PHASE, ORDER_E21_1PHASE),
        (V171_1PHASE, ORDER_171_1PHASE),
        (V171_3PHASE, ORDER_171_3PHASE),
        (E21_3PHASE, list(E21_3PHASE_JSON["objects"])),
    ],
)
def test_every_object_in_order(name: str, order: list[str]) -> None:
    """Every printed line is an object, known, valid, in telegram order."""
    telegram = _decode(name)
    assert list(telegram.objects) == order
    assert all(obj.spec is not None for obj in telegram.objects.values())
    assert all(obj.error is None for obj in telegram.objects.values())


def test_e21_1phase_values() -> None:
    """E.2.1 annex B.1, value by value (the layout with blanks and broken lines)."""
    telegram = _decode(E21_1PHASE)
    expected: dict[str, tuple[object, str | None]] = {
        "0-0:96.1.4": ("50220", None),
        "0-0:96.1.1": ("1SAG1100000231", None),
        "0-0:96.1.2": ("541440012345678900", None),
        "1-0:1.8.1": (0.915, "kWh"),
        "1-0:1.8.2": (1.955, "kWh"),
        "1-0:2.8.1": (0.0, "kWh"),
        "1-0:2.8.2": (0.03, "kWh"),
        "0-0:96.14.0": (1, None),
        "1-0:1.4.0": (2.351, "kW"),
        "1-0:1.6.0": (2.589, "kW"),
        "1-0:1.7.0": (0.0, "kW"),
        "1-0:2.7.0": (0.0, "kW"),
        "1-0:21.7.0": (0.0, "kW"),
        "1-0:22.7.0": (0.0, "kW"),
        "1-0:32.7.0": (234.6, "V"),
        "1-0:31.7.0": (0.0, "A"),
        "0-0:96.3.10": (1, None),
        "0-1:96.3.10": (0, None),
        "0-2:96.3.10": (0, None),
        "0-3:96.3.10": (0, None),
        "0-4:96.3.10": (0, None),
        "0-0:96.13.0": ("", None),
        "0-1:24.1.0": (3, None),
        "0-1:96.1.1": ("7FLO2119033733", None),
        "0-1:96.1.2": ("541440012345678900", None),
        "0-1:24.4.0": (1, None),
        "0-1:24.2.3": (112.384, "m3"),
        "0-2:24.1.0": (7, None),
        "0-2:96.1.1": ("8SAG1234567890", None),
        "0-2:96.1.2": ("541440012345678903", None),
        "0-2:24.2.3": (872.234, "m3"),
    }
    for obis, (value, unit) in expected.items():
        obj = telegram.objects[obis]
        assert (obj.value, obj.unit) == (value, unit), obis
        assert type(obj.value) is type(value), obis
    assert telegram.objects["0-2:24.2.3"].timestamp == ts("2020-05-12 13:45:58 S")
    # No 1-0:94.32.1 in a single-phase example.
    assert "1-0:94.32.1" not in telegram.objects


@pytest.mark.parametrize("name", V171)
def test_171_values(name: str) -> None:
    """1.7.1 annex B, value by value."""
    telegram = _decode(name)
    three_phase = name == V171_3PHASE
    energy = (0.034, 15.758, 0.0, 0.011) if three_phase else (0.915, 1.955, 0.0, 0.03)
    for obis, value in zip(
        ("1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.1", "1-0:2.8.2"), energy, strict=True
    ):
        assert (telegram.value(obis), telegram.objects[obis].unit) == (value, "kWh")
    if three_phase:
        assert telegram.value("0-0:96.14.0") is None
        assert "1-0:1.7.0" not in telegram.objects
        for obis in ("1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0"):
            assert telegram.value(obis) == 234.7
        for obis in ("1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0"):
            assert (telegram.value(obis), telegram.objects[obis].unit) == (0.0, "A")
        powers = ("1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0")
        powers += ("1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0", "1-0:2.7.0")
    else:
        assert telegram.value("0-0:96.14.0") == 1
        assert telegram.value("1-0:32.7.0") == 234.6
        assert telegram.value("1-0:31.7.0") == 0.0
        assert "1-0:52.7.0" not in telegram.objects
        powers = ("1-0:1.7.0", "1-0:2.7.0", "1-0:21.7.0", "1-0:22.7.0")
    for obis in powers:
        assert (telegram.value(obis), telegram.objects[obis].unit) == (0.0, "kW")
    assert telegram.value("0-0:96.3.10") == 1
    assert "0-0:96.1.2" not in telegram.objects


def test_stream_of_all_examples() -> None:
    """The four examples back to back through P1Stream, byte by byte."""
    stream = P1Stream()
    data = b"".join(build_telegram(load_template(name)) for name in ALL)
    telegrams = [t for i in range(len(data)) for t in stream.feed(data[i : i + 1])]
    assert [t.crc for t in telegrams] == [CRCS[name] for name in ALL]
    assert [t.to_dict() for t in telegrams] == [_decode(n).to_dict() for n in ALL]
    assert stream.stats.telegrams == 4
    assert stream.stats.discarded_bytes == 4 * 2  # the CRLF after each '!XXXX'
    assert stream.pop_rejections() == []


@pytest.mark.parametrize("name", ALL)
def test_to_dict_snapshot(name: str, snapshot: SnapshotAssertion) -> None:
    """The JSON form of each example, pinned."""
    assert _decode(name).to_dict() == snapshot
