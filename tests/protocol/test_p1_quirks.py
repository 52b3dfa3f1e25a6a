"""Field-quirk telegrams (DESIGN.md section 2) through the real framer and decoder.

Each ``tests/fixtures/quirk_*.txt`` is a telegram in real-meter form (no blanks, one
object per line) with a ``!XXXX`` placeholder; ``build_telegram`` makes the bytes
(CRLF, CRC-16/ARC). Every test decodes what the framer emits, not the template.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from syrupy.assertion import SnapshotAssertion

from custom_components.emucs.protocol import (
    P1DecodeError,
    P1Framer,
    P1Stream,
    PeakRecord,
    Telegram,
    decode_telegram,
)
from tests.protocol.helpers import SUMMER, WINTER, ts
from tests.telegrams import build_telegram, load_template, template_names

QUIRKS = template_names("quirk_")


def _raw(name: str, **kwargs: bool) -> bytes:
    """Return what the framer emits for a template (``/`` through the CRC digits)."""
    data = build_telegram(load_template(name), **kwargs)
    framer = P1Framer()
    telegrams = framer.feed(data)
    assert telegrams == [data[:-2]], framer.pop_rejections()
    return telegrams[0]


def _decode(name: str) -> Telegram:
    return decode_telegram(_raw(name))


def _values(telegram: Telegram, expected: dict[str, tuple[object, str | None]]) -> None:
    """Assert value, unit and type of objects."""
    for obis, (value, unit) in expected.items():
        obj = telegram.objects[obis]
        assert (obj.value, obj.unit) == (value, unit), obis
        assert type(obj.value) is type(value), obis
        assert obj.error is None, obis


def test_corpus_is_complete() -> None:
    """Every quirk named in DESIGN.md section 2 has a template."""
    assert QUIRKS == [
        "quirk_dst_autumn_summer.txt",
        "quirk_dst_autumn_winter.txt",
        "quirk_gas_placeholder.txt",
        "quirk_grid_3x230.txt",
        "quirk_history_13.txt",
        "quirk_history_empty.txt",
        "quirk_lowercase_crc.txt",
        "quirk_malformed_value.txt",
        "quirk_mbus_channel5.txt",
        "quirk_old_firmware_50213.txt",
        "quirk_relays_e21.txt",
        "quirk_single_phase_50217.txt",
        "quirk_text_message.txt",
        "quirk_thresholds_set.txt",
        "quirk_two_gas_meters.txt",
        "quirk_unknown_obis.txt",
        "quirk_water_channel1.txt",
    ]


@pytest.mark.parametrize("name", QUIRKS)
def test_real_meter_form(name: str) -> None:
    """Real-meter layout: no blanks, one whole object per line, CRLF on the wire."""
    text = load_template(name)
    lines = text.rstrip("\n").split("\n")
    assert lines[0].startswith("/FLU5\\2537")
    assert lines[1] == ""
    assert lines[-1] == "!XXXX"
    assert " " not in "".join(lines[2:-1])
    assert all(line[0].isdigit() and line.endswith(")") for line in lines[2:-1])
    raw = build_telegram(text)
    assert raw.count(b"\r\n") == len(lines)
    assert raw.count(b"\n") == len(lines)
    assert len(raw) < 1600


def test_old_firmware_50213() -> None:
    """Integer currents, no 1.4.0/1.6.0/98.1.0, no per-phase power, 1.7 thresholds."""
    telegram = _decode("quirk_old_firmware_50213.txt")
    assert telegram.version == "50213"
    assert (telegram.dsmr_version, telegram.emucs_version) == ("5.0.2", "1.3")
    assert telegram.equipment_id == "1SAG3105067890"
    assert telegram.timestamp == ts("2019-03-17 09:30:25 W")
    _values(
        telegram,
        {
            "1-0:1.8.1": (1234.567, "kWh"),
            "1-0:1.8.2": (987.654, "kWh"),
            "1-0:2.8.1": (12.345, "kWh"),
            "1-0:2.8.2": (3.21, "kWh"),
            "0-0:96.14.0": (2, None),
            "1-0:1.7.0": (1.234, "kW"),
            "1-0:2.7.0": (0.0, "kW"),
            "1-0:32.7.0": (230.1, "V"),
            "1-0:52.7.0": (231.4, "V"),
            "1-0:72.7.0": (229.8, "V"),
            "1-0:31.7.0": (3.0, "A"),
            "1-0:51.7.0": (0.0, "A"),
            "1-0:71.7.0": (2.0, "A"),
            "0-0:96.3.10": (1, None),
        },
    )
    for absent in ("1-0:1.4.0", "1-0:1.6.0", "0-0:98.1.0", "1-0:21.7.0", "1-0:94.32.1"):
        assert absent not in telegram.objects
        assert telegram.value(absent) is None
    for obis, unit in (("0-0:17.0.0", "kW"), ("1-0:31.4.0", "A")):
        obj = telegram.objects[obis]
        assert (obj.value, obj.unit, obj.deactivated) == (None, unit, True)
    (gas,) = telegram.mbus
    assert (gas.channel, gas.medium, gas.valve, gas.ean) == (1, "gas", 1, None)
    assert gas.reading is not None
    assert gas.reading.value == 1234.567
    assert gas.reading.timestamp == ts("2019-03-17 09:00:00 W")
    assert telegram.invalid == telegram.unknown == []


def test_single_phase_50217() -> None:
    """A single-phase eMUCS 1.7 meter sends only L1 lines."""
    telegram = _decode("quirk_single_phase_50217.txt")
    assert (telegram.version, telegram.emucs_version) == ("50217", "1.7")
    assert telegram.header == "FLU5\\253770234_A"
    _values(
        telegram,
        {
            "1-0:1.8.1": (4521.337, "kWh"),
            "1-0:2.8.1": (874.12, "kWh"),
            "1-0:1.4.0": (0.436, "kW"),
            "1-0:1.7.0": (0.439, "kW"),
            "1-0:21.7.0": (0.439, "kW"),
            "1-0:22.7.0": (0.0, "kW"),
            "1-0:32.7.0": (229.7, "V"),
            "1-0:31.7.0": (1.91, "A"),
        },
    )
    l2_l3 = [
        o
        for o in telegram.objects
        if o.split(":")[1].split(".")[0]
        in {"41", "42", "51", "52", "61", "62", "71", "72"}
    ]
    assert l2_l3 == []
    assert "1-0:94.32.1" not in telegram.objects
    assert telegram.value("0-0:98.1.0") == (
        PeakRecord(
            period_start=ts("2023-06-01 00:00:00 S"),
            timestamp=ts("2023-05-17 18:45:00 S"),
            value=4.105,
            unit="kW",
        ),
        PeakRecord(
            period_start=ts("2023-05-01 00:00:00 S"),
            timestamp=ts("2023-04-12 20:00:00 S"),
            value=3.64,
            unit="kW",
        ),
    )
    assert telegram.objects["0-0:17.0.0"].deactivated
    assert telegram.objects["1-0:31.4.0"].deactivated
    assert [d.channel for d in telegram.mbus] == [1]


def test_grid_3x230() -> None:
    """3x230 V (Aron): grid configuration 230, L2 voltage and power are 0."""
    telegram = _decode("quirk_grid_3x230.txt")
    _values(
        telegram,
        {
            "1-0:94.32.1": (230, None),
            "1-0:32.7.0": (232.1, "V"),
            "1-0:52.7.0": (0.0, "V"),
            "1-0:72.7.0": (231.8, "V"),
            "1-0:21.7.0": (1.822, "kW"),
            "1-0:41.7.0": (0.0, "kW"),
            "1-0:61.7.0": (1.283, "kW"),
            "1-0:42.7.0": (0.0, "kW"),
            "1-0:31.7.0": (8.01, "A"),
            "1-0:51.7.0": (0.0, "A"),
            "1-0:71.7.0": (5.65, "A"),
            "1-0:1.7.0": (3.105, "kW"),
        },
    )
    # P = P1 + P3 in a two-wattmeter set-up.
    assert round(1.822 + 1.283, 3) == telegram.value("1-0:1.7.0")
    assert telegram.objects["1-0:94.32.1"].to_dict() == {"value": 230}
    assert telegram.mbus == ()
    assert telegram.relays == {}


def test_two_gas_meters() -> None:
    """Gas on channels 1 and 2; an empty EAN is None; F8(2,2) volume."""
    telegram = _decode("quirk_two_gas_meters.txt")
    first, second = telegram.mbus
    assert (first.channel, first.device_type, first.medium) == (1, 3, "gas")
    assert (second.channel, second.device_type, second.medium) == (2, 3, "gas")
    assert first.equipment_id == "7FLO2118012345"
    assert second.equipment_id == "7FLO2122099999"
    assert (first.ean, second.ean) == ("541449000002222222", None)
    assert telegram.value("0-2:96.1.2") == ""
    assert (first.valve, second.valve) == (1, 0)
    assert first.reading is not None
    assert second.reading is not None
    assert (first.reading.value, first.reading.unit) == (4567.891, "m3")
    assert first.reading.timestamp == ts("2024-12-03 21:00:05 W")
    assert (second.reading.value, second.reading.unit) == (123.45, "m3")
    assert second.reading.timestamp == ts("2024-12-03 20:50:05 W")
    assert second.to_dict() == {
        "channel": 2,
        "device_type": 3,
        "medium": "gas",
        "equipment_id": "7FLO2122099999",
        "ean": None,
        "valve": 0,
        "reading": {
            "value": 123.45,
            "unit": "m3",
            "timestamp": "2024-12-03T20:50:05+01:00",
        },
    }
    assert telegram.value("0-0:96.14.0") == 2


def test_water_on_channel_1() -> None:
    """Water (device type 7) on channel 1, reading on 24.2.1, no valve."""
    telegram = _decode("quirk_water_channel1.txt")
    (water,) = telegram.mbus
    assert water.to_dict() == {
        "channel": 1,
        "device_type": 7,
        "medium": "water",
        "equipment_id": "8SAG1234560001",
        "ean": "541449000004444444",
        "valve": None,
        "reading": {
            "value": 321.987,
            "unit": "m3",
            "timestamp": "2025-07-07T11:55:00+02:00",
        },
    }
    assert "0-1:24.2.3" not in telegram.objects
    assert telegram.objects["0-1:24.2.1"].timestamp == ts("2025-07-07 11:55:00 S")
    # Solar export at noon.
    _values(telegram, {"1-0:2.7.0": (2.748, "kW"), "1-0:1.7.0": (0.0, "kW")})


def test_history_empty() -> None:
    """``0-0:98.1.0(0)(1-0:1.6.0)(1-0:1.6.0)``: a new meter, no months yet."""
    telegram = _decode("quirk_history_empty.txt")
    history = telegram.objects["0-0:98.1.0"]
    assert history.value == ()
    assert history.error is None
    assert history.to_dict() == {"value": []}
    assert telegram.value("1-0:1.6.0") == 1.873
    assert telegram.objects["1-0:1.6.0"].timestamp == ts("2025-03-11 07:45:00 W")


def test_history_13_months() -> None:
    """13 entries, newest first, winter/summer flags per entry, one month without data."""
    telegram = _decode("quirk_history_13.txt")
    history = telegram.value("0-0:98.1.0")
    assert isinstance(history, tuple)
    assert len(history) == 13
    expected = [
        ("2025-03-01 00:00:00 W", "2025-02-12 18:30:00 W", 6.104),
        ("2025-02-01 00:00:00 W", "2025-01-15 07:45:00 W", 7.338),
        ("2025-01-01 00:00:00 W", "2024-12-24 18:15:00 W", 8.912),
        ("2024-12-01 00:00:00 W", "2024-11-28 19:00:00 W", 6.775),
        ("2024-11-01 00:00:00 W", "2024-10-30 17:30:00 W", 5.21),
        ("2024-10-01 00:00:00 S", "2024-09-17 20:15:00 S", 4.006),
        ("2024-09-01 00:00:00 S", "2024-08-21 12:45:00 S", 3.518),
        ("2024-08-01 00:00:00 S", "2024-07-10 13:30:00 S", 3.222),
        ("2024-07-01 00:00:00 S", "2024-06-27 20:00:00 S", 3.901),
        ("2024-06-01 00:00:00 S", "2024-05-14 18:45:00 S", 4.47),
        ("2024-05-01 00:00:00 S", "2024-04-03 07:15:00 S", 5.093),
        ("2024-04-01 00:00:00 S", "2024-03-18 19:00:00 W", 5.887),
    ]
    for record, (start, peak, value) in zip(history, expected, strict=False):
        assert record == PeakRecord(
            period_start=ts(start), timestamp=ts(peak), value=value, unit="kW"
        )
    # The oldest month has no data: peak time 632525252525W.
    assert history[12] == PeakRecord(
        period_start=ts("2024-03-01 00:00:00 W"), timestamp=None, value=0.0, unit="kW"
    )
    assert history[12].to_dict() == {
        "period_start": "2024-03-01T00:00:00+01:00",
        "timestamp": None,
        "value": 0.0,
        "unit": "kW",
    }
    assert max(r.value for r in history) == 8.912


@pytest.mark.parametrize(
    ("name", "utc", "import_t2", "gas"),
    [
        ("quirk_dst_autumn_summer.txt", "2026-10-25 00:30:00", 7123.456, 3456.001),
        ("quirk_dst_autumn_winter.txt", "2026-10-25 01:30:00", 7123.668, 3456.087),
    ],
)
def test_dst_autumn_side(name: str, utc: str, import_t2: float, gas: float) -> None:
    """Each side of the repeated hour on its own."""
    telegram = _decode(name)
    expected = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert telegram.timestamp is not None
    assert telegram.timestamp.astimezone(UTC) == expected
    assert telegram.timestamp.replace(tzinfo=None) == datetime(2026, 10, 25, 2, 30)
    assert telegram.value("1-0:1.8.2") == import_t2
    (device,) = telegram.mbus
    assert device.reading is not None
    assert device.reading.value == gas
    assert device.reading.timestamp == expected - timedelta(minutes=5)


def test_dst_autumn_hour_is_exact() -> None:
    """02:30 S and 02:30 W on 25 October 2026 are one hour apart, in that order."""
    summer = _decode("quirk_dst_autumn_summer.txt")
    winter = _decode("quirk_dst_autumn_winter.txt")
    assert summer.timestamp == datetime(2026, 10, 25, 2, 30, tzinfo=SUMMER)
    assert winter.timestamp == datetime(2026, 10, 25, 2, 30, tzinfo=WINTER)
    assert winter.timestamp - summer.timestamp == timedelta(hours=1)
    assert summer.to_dict()["objects"]["0-0:1.0.0"] == {
        "value": "2026-10-25T02:30:00+02:00"
    }
    assert winter.to_dict()["objects"]["0-0:1.0.0"] == {
        "value": "2026-10-25T02:30:00+01:00"
    }
    s_gas, w_gas = summer.mbus[0].reading, winter.mbus[0].reading
    assert s_gas is not None
    assert w_gas is not None
    assert w_gas.timestamp is not None
    assert s_gas.timestamp is not None
    assert w_gas.timestamp - s_gas.timestamp == timedelta(hours=1)
    # Both telegrams in one stream: two distinct telegrams, time moving forward.
    stream = P1Stream()
    data = build_telegram(load_template("quirk_dst_autumn_summer.txt"))
    data += build_telegram(load_template("quirk_dst_autumn_winter.txt"))
    decoded = stream.feed(data)
    assert [t.timestamp for t in decoded] == [summer.timestamp, winter.timestamp]


def test_gas_placeholder_is_no_reading() -> None:
    """``(632525252525W)(00000.000)``: no time, no unit: no reading yet, never 0 m3."""
    telegram = _decode("quirk_gas_placeholder.txt")
    (gas,) = telegram.mbus
    assert (gas.channel, gas.device_type, gas.medium) == (1, 3, "gas")
    assert gas.equipment_id == "7FLO2122099999"
    assert gas.ean is None
    assert gas.valve == 1
    assert gas.reading is None
    obj = telegram.objects["0-1:24.2.3"]
    assert (obj.value, obj.unit, obj.timestamp, obj.error) == (None, None, None, None)
    assert obj.to_dict() == {"value": None, "timestamp": None}
    assert gas.to_dict()["reading"] is None


def test_lowercase_crc() -> None:
    """A CRC printed in lower case is accepted and reported in upper case."""
    upper = build_telegram(load_template("quirk_lowercase_crc.txt"))
    lower = build_telegram(load_template("quirk_lowercase_crc.txt"), lowercase_crc=True)
    assert upper.endswith(b"!50FD\r\n")
    assert lower.endswith(b"!50fd\r\n")
    framer = P1Framer()
    assert framer.feed(lower) == [lower[:-2]]
    assert framer.stats.crc_errors == 0
    telegram = decode_telegram(lower)
    assert telegram.crc == "50FD"
    assert telegram.to_dict() == decode_telegram(upper).to_dict()
    assert telegram.emucs_version == "1.7"
    assert telegram.value("1-0:31.7.0") == 1.7
    # The model does not depend on the case.
    assert P1Stream().feed(lower)[0].crc == "50FD"


def test_relays_never_overwrite_the_breaker() -> None:
    """E.2.1 virtual relays 1/0/1/1 with the breaker at 0; no M-Bus devices 3 and 4."""
    telegram = _decode("quirk_relays_e21.txt")
    assert telegram.value("0-0:96.3.10") == 0
    assert telegram.objects["0-0:96.3.10"].to_dict() == {"value": 0}
    assert telegram.relays == {1: 1, 2: 0, 3: 1, 4: 1}
    for channel, state in telegram.relays.items():
        obj = telegram.objects[f"0-{channel}:96.3.10"]
        assert (obj.value, obj.error) == (state, None)
        assert obj.spec is not None
        assert obj.spec.key == "relay_state"
    assert [d.channel for d in telegram.mbus] == [1, 2]
    gas, water = telegram.mbus
    assert (gas.medium, water.medium) == ("gas", "water")
    assert gas.reading is not None
    assert water.reading is not None
    assert (gas.reading.value, water.reading.value) == (5678.432, 456.789)
    assert [d["channel"] for d in telegram.to_dict()["mbus"]] == [1, 2]


def test_thresholds_set() -> None:
    """A real limiter (6.9 kW) and fuse threshold (40 A) are values, not deactivated."""
    telegram = _decode("quirk_thresholds_set.txt")
    limiter = telegram.objects["0-0:17.0.0"]
    fuse = telegram.objects["1-0:31.4.0"]
    assert (limiter.value, limiter.unit, limiter.deactivated) == (6.9, "kW", False)
    assert (fuse.value, fuse.unit, fuse.deactivated) == (40.0, "A", False)
    assert limiter.to_dict() == {"value": 6.9, "unit": "kW"}
    assert fuse.to_dict() == {"value": 40.0, "unit": "A"}
    # Leap day in winter time.
    assert telegram.timestamp == ts("2024-02-29 20:00:00 W")
    assert telegram.value("1-0:1.4.0") == 5.112


def test_text_message_and_message_code() -> None:
    """Both messages are hex-encoded text and are decoded."""
    telegram = _decode("quirk_text_message.txt")
    assert telegram.value("0-0:96.13.0") == "Onderbreking netbeheer 14/11 09:00-12:00"
    assert telegram.value("0-0:96.13.1") == "01234567"
    assert telegram.objects["0-0:96.13.1"].to_dict() == {"value": "01234567"}
    # The history entry straddles the end of summer time.
    history = telegram.value("0-0:98.1.0")
    assert isinstance(history, tuple)
    (record,) = history
    assert record.period_start == ts("2024-11-01 00:00:00 W")
    assert record.timestamp == ts("2024-10-23 19:00:00 S")


def test_unknown_obis_kept_raw() -> None:
    """Unknown lines (DSMR power-failure log and counters) are kept as raw text."""
    telegram = _decode("quirk_unknown_obis.txt")
    unknown = {obj.obis: obj.raw for obj in telegram.unknown}
    assert unknown == {
        "0-0:96.7.21": "(00004)",
        "0-0:96.7.9": "(00002)",
        "1-0:99.97.0": (
            "(2)(0-0:96.7.19)(250112060000W)(0000002345*s)(240803141500S)(0000000321*s)"
        ),
        "1-0:32.32.0": "(00003)",
    }
    for obis, raw in unknown.items():
        obj = telegram.objects[obis]
        assert (obj.value, obj.spec, obj.error) == (None, None, None)
        assert obj.to_dict() == {"raw": raw}
        assert telegram.value(obis) is None
    # Known objects around them are intact and the order is kept.
    keys = list(telegram.objects)
    assert keys.index("0-0:96.7.21") == keys.index("1-0:31.4.0") + 1
    assert keys[-1] == "0-0:96.13.0"
    assert telegram.invalid == []
    assert telegram.value("1-0:31.7.0") == 0.45
    assert telegram.to_dict()["objects"]["1-0:99.97.0"] == {
        "raw": unknown["1-0:99.97.0"]
    }


def test_malformed_value_invalidates_that_object_only() -> None:
    """``1-0:32.7.0(23X.1*V)``: that voltage is invalid, the telegram is fine."""
    telegram = _decode("quirk_malformed_value.txt")
    (bad,) = telegram.invalid
    assert bad.obis == "1-0:32.7.0"
    assert bad.value is None
    assert bad.raw == "(23X.1*V)"
    assert bad.error
    assert bad.to_dict() == {"value": None, "error": bad.error, "raw": "(23X.1*V)"}
    assert telegram.value("1-0:32.7.0") is None
    assert telegram.number("1-0:32.7.0") is None
    _values(
        telegram,
        {
            "1-0:31.7.0": (2.36, "A"),
            "1-0:1.7.0": (0.551, "kW"),
            "1-0:1.8.1": (999.001, "kWh"),
        },
    )
    assert len(telegram.objects) == 22
    assert telegram.unknown == []


def test_mbus_channel_5() -> None:
    """E.2.1 allows M-Bus channels up to 8: water on channel 5 next to gas on 1."""
    telegram = _decode("quirk_mbus_channel5.txt")
    assert [(d.channel, d.device_type, d.medium) for d in telegram.mbus] == [
        (1, 3, "gas"),
        (5, 7, "water"),
    ]
    water = telegram.mbus[1]
    assert water.equipment_id == "8SAG1234560005"
    assert water.ean == "541449000019191919"
    assert water.reading is not None
    assert (water.reading.value, water.reading.unit) == (246.802, "m3")
    assert water.reading.timestamp == ts("2025-06-10 07:10:00 S")
    # Relay 1 shares channel 1 with the gas meter without mixing with it.
    assert telegram.relays == {1: 1}
    assert telegram.mbus[0].valve == 1
    assert telegram.value("0-0:96.3.10") == 1


# Non-ASCII bytes: the framer passes them through, the decoder confines them to
# the object they sit in. Built as bytes, not from a text template.
NON_ASCII_BASE = "quirk_thresholds_set.txt"


@pytest.mark.parametrize(
    ("old", "new", "obis"),
    [
        (b"1-0:32.7.0(228.4*V)", b"1-0:32.7.0(22\xb2.4*V)", "1-0:32.7.0"),
        (b"1-0:31.7.0(027.21*A)", b"1-0:31.7.0(027.2\xff*A)", "1-0:31.7.0"),
        (b"0-0:96.14.0(0001)", b"0-0:96.14.0(000\xb9)", "0-0:96.14.0"),
        (b"0-0:1.0.0(240229200000W)", b"0-0:1.0.0(24022920000\xb3W)", "0-0:1.0.0"),
        (b"0-0:17.0.0(06.900*kW)", b"0-0:17.0.0(06.9\xe900*kW)", "0-0:17.0.0"),
    ],
)
def test_non_ascii_byte_in_a_value(old: bytes, new: bytes, obis: str) -> None:
    """A byte >= 0x80 inside a value (even one Python calls a digit) invalidates that object."""
    template = load_template(NON_ASCII_BASE).encode("ascii")
    assert template.count(old) == 1
    data = build_telegram(template.replace(old, new))
    framer = P1Framer()
    (raw,) = framer.feed(data)
    assert raw == data[:-2]
    telegram = decode_telegram(raw)
    (bad,) = telegram.invalid
    assert bad.obis == obis
    assert bad.value is None
    assert bad.raw == new[new.index(b"(") :].decode("latin-1")
    reference = decode_telegram(_raw(NON_ASCII_BASE))
    assert len(telegram.objects) == len(reference.objects)
    for key, obj in telegram.objects.items():
        if key != obis:
            assert obj == reference.objects[key]


def test_non_ascii_bytes_in_text_and_unknown_lines() -> None:
    """Non-ASCII in a message or an unknown line is kept, never fatal."""
    template = load_template("quirk_text_message.txt").encode("ascii")
    template = template.replace(
        b"0-0:96.13.1(3031323334353637)",
        b"0-0:96.13.1(\xc3\xa9t\xe9)\n0-0:96.99.9(\x80\xfe)",
    )
    telegram = P1Stream().feed(build_telegram(template))[0]
    assert telegram.value("0-0:96.13.1") == "\xc3\xa9t\xe9"
    assert telegram.objects["0-0:96.99.9"].to_dict() == {"raw": "(\x80\xfe)"}
    assert telegram.value("1-0:32.7.0") == 230.0


@pytest.mark.parametrize(
    "line",
    [
        b"0-\xb2:24.1.0(003)",  # superscript two: str.isdigit() but not int()
        b"0-\xb9:96.3.10(1)",
        b"\xb3-0:1.8.1(000001.000*kWh)",
        b"1-0:1.8.\xb2(000001.000*kWh)",
        b"0-0:96.1.4\xa0(50221)",
        b"\xff\xfe",
    ],
)
def test_non_ascii_bytes_in_an_obis_code(line: bytes) -> None:
    """A non-ASCII byte in the OBIS code makes an unknown line, never an exception."""
    template = load_template("quirk_grid_3x230.txt").encode("ascii")
    data = build_telegram(template.replace(b"0-0:96.13.0()", b"0-0:96.13.0()\n" + line))
    (telegram,) = P1Stream().feed(data)
    assert telegram.value("1-0:94.32.1") == 230
    assert telegram.invalid == []
    (unknown,) = telegram.unknown
    assert unknown.value is None
    assert unknown.to_dict()["raw"] is not None
    assert telegram.mbus == ()
    assert telegram.relays == {}


def test_quirk_stream_byte_by_byte() -> None:
    """The whole corpus back to back, fed one byte at a time."""
    data = [build_telegram(load_template(name)) for name in QUIRKS]
    framer = P1Framer()
    stream = b"".join(data)
    out = [t for i in range(len(stream)) for t in framer.feed(stream[i : i + 1])]
    assert out == [d[:-2] for d in data]
    assert framer.stats.telegrams == len(QUIRKS)
    assert framer.stats.crc_errors == framer.stats.malformed == 0


def test_decode_rejects_frame_errors() -> None:
    """The frame is strict: start, terminator, CRC field, CRC value, header."""
    good = _raw("quirk_history_empty.txt")
    with pytest.raises(P1DecodeError, match="start"):
        decode_telegram(good[1:])
    with pytest.raises(P1DecodeError, match="'!'"):
        decode_telegram(good[: good.rindex(b"!")])
    with pytest.raises(P1DecodeError, match="CRC"):
        decode_telegram(good[:-1])
    with pytest.raises(P1DecodeError, match="CRC mismatch"):
        decode_telegram(good[:-4] + b"0000")
    assert decode_telegram(good[:-4] + b"0000", verify_crc=False).crc == "0000"
    with pytest.raises(P1DecodeError, match="identification"):
        decode_telegram(build_telegram("/\n\n0-0:96.14.0(0001)\n!"))


@pytest.mark.parametrize("name", QUIRKS)
def test_to_dict_snapshot(name: str, snapshot: SnapshotAssertion) -> None:
    """The JSON form of each quirk, pinned."""
    assert _decode(name).to_dict() == snapshot
