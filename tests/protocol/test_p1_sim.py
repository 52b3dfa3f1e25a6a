"""The P1 meter simulator: exact E.2.1 telegrams and registers that behave like a meter's.

Every telegram goes through our decoder; the checks use only what the telegrams say
(no simulator internals), so they hold the simulator to what a consumer sees.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import itertools

import pytest

from custom_components.emucs.protocol import P1Stream, Telegram, decode_telegram
from custom_components.emucs.protocol.p1_sim import (
    Faults,
    MeterConfig,
    P1Simulator,
    belgian_offset,
    format_tst,
)
from tests.telegrams import build_telegram, load_template

SUMMER = timezone(timedelta(hours=2))
WINTER = timezone(timedelta(hours=1))


def run(sim: P1Simulator, seconds: int) -> list[Telegram]:
    """Decode the next ``seconds`` telegrams (all must pass the CRC)."""
    telegrams = []
    for _ in range(seconds):
        tick = sim.step()
        assert tick.telegram is not None
        telegram = decode_telegram(tick.telegram)
        assert not telegram.invalid, telegram.invalid
        assert not telegram.unknown, telegram.unknown
        telegrams.append(telegram)
    return telegrams


def watts(telegram: Telegram, obis: str) -> int:
    """Return a kW value of the telegram in whole watts."""
    value = telegram.number(obis)
    assert value is not None
    return round(value * 1000)


def test_object_set_is_the_spec_examples() -> None:
    """Same objects, in the same order, as the E.2.1 examples (water on 24.2.1)."""
    for wiring, fixture in (
        ("four_wire", "spec_e21_3phase.txt"),
        ("single_phase", "spec_e21_1phase.txt"),
    ):
        spec = decode_telegram(build_telegram(load_template(fixture)))
        expected = [code.replace("0-2:24.2.3", "0-2:24.2.1") for code in spec.objects]
        sim = P1Simulator(
            MeterConfig(wiring=wiring), start=datetime(2026, 3, 2, 9, tzinfo=UTC)
        )
        (telegram,) = run(sim, 1)
        assert list(telegram.objects) == expected
        assert telegram.header == spec.header
        assert telegram.version == "50221"
        assert telegram.emucs_version == "2.1"
        assert [d.medium for d in telegram.mbus] == ["gas", "water"]


def test_exact_bytes() -> None:
    """One telegram in full: formats, CRLF, the CRC (checked by the pure-Python CRC)."""
    sim = P1Simulator(
        MeterConfig(
            wiring="single_phase", gas_id=None, water_id=None, history_months=1
        ),
        start=datetime(2026, 3, 2, 2, 59, 59, tzinfo=WINTER),
        seed=7,
    )
    data = sim.step().telegram
    assert data is not None
    text = data.decode("ascii")
    assert text.startswith("/FLU5\\253770234_A\r\n\r\n0-0:96.1.4(50221)\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert "0-0:1.0.0(260302030000W)\r\n" in text
    assert "1-0:1.8.1(004812.345*kWh)\r\n" in text
    assert "0-0:96.14.0(0002)\r\n" in text
    assert "0-0:98.1.0(1)(1-0:1.6.0)(1-0:1.6.0)(260301000000W)(2602" in text
    assert "0-0:17.0.0(99.999*kW)\r\n1-0:31.4.0(999.99*A)\r\n" in text
    assert build_telegram(text) == data  # CRC recomputed independently


@pytest.mark.parametrize("wiring", ["four_wire", "three_wire", "single_phase"])
def test_energy_registers_integrate_the_power(wiring: str) -> None:
    """Register increments = sum of the powers shown, per tariff, to 1 Wh.

    Weekday 06:40-07:20 local in June crosses the tariff change at 07:00 with the
    breakfast peaks, and the sun is up: import and export both happen.
    """
    start = datetime(2026, 6, 17, 6, 40, tzinfo=SUMMER)  # a Wednesday
    sim = P1Simulator(MeterConfig(wiring=wiring), start=start, seed=1)
    first, *telegrams = run(sim, 2401)
    sums = {(kind, tariff): 0 for kind in ("import", "export") for tariff in (1, 2)}
    for telegram in telegrams:
        tariff = telegram.value("0-0:96.14.0")
        assert tariff in (1, 2)
        sums["import", tariff] += watts(telegram, "1-0:1.7.0")
        sums["export", tariff] += watts(telegram, "1-0:2.7.0")
        imported = watts(telegram, "1-0:1.7.0")
        exported = watts(telegram, "1-0:2.7.0")
        assert not (imported and exported)
        # The totals are the algebraic sum of the phases (spec note 3).
        net = sum(
            watts(telegram, f"1-0:{21 + 20 * k}.7.0")
            - watts(telegram, f"1-0:{22 + 20 * k}.7.0")
            for k in range(1 if wiring == "single_phase" else 3)
        )
        assert imported - exported == net
    assert sums["import", 1] > 0
    assert sums["import", 2] > 0
    last = telegrams[-1]
    for (kind, tariff), ws in sums.items():
        obis = f"1-0:{1 if kind == 'import' else 2}.8.{tariff}"
        delta = watts(last, obis) - watts(first, obis)
        assert abs(delta - ws / 3600) < 1.0, (obis, delta, ws / 3600)


def test_solar_export_at_noon_and_none_at_night() -> None:
    """A June day: export around solar noon on L1 (the inverter's phase), none at night."""
    sim = P1Simulator(start=datetime(2026, 6, 20, 13, 30, tzinfo=SUMMER), seed=2)
    noon = run(sim, 60)
    assert sum(watts(t, "1-0:2.7.0") for t in noon) > 60 * 500
    assert all(watts(t, "1-0:42.7.0") == watts(t, "1-0:62.7.0") == 0 for t in noon)
    assert max(t.number("1-0:32.7.0") or 0 for t in noon) > 0
    sim = P1Simulator(start=datetime(2026, 6, 20, 2, 0, tzinfo=SUMMER), seed=2)
    assert all(watts(t, "1-0:2.7.0") == 0 for t in run(sim, 60))


def test_three_wire_meter_reads_zero_on_l2() -> None:
    """3x230 V (Aron): grid configuration 230, L2 voltage, current and power are 0."""
    sim = P1Simulator(
        MeterConfig(wiring="three_wire"),
        start=datetime(2026, 1, 14, 18, 30, tzinfo=WINTER),
    )
    for telegram in run(sim, 30):
        assert telegram.value("1-0:94.32.1") == 230
        for obis in ("1-0:52.7.0", "1-0:51.7.0", "1-0:41.7.0", "1-0:42.7.0"):
            assert telegram.number(obis) == 0
        assert (telegram.number("1-0:72.7.0") or 0) > 200


def test_quarter_demand_and_monthly_peak() -> None:
    """1-0:1.4.0 is the running mean of the quarter; quarter means feed 1-0:1.6.0.

    The first of a month at 18:00: the peak starts at 0 at midnight, the evening
    cooking quarters raise it, each time stamped with the quarter's end.
    """
    start = datetime(2026, 2, 1, 18, 0, tzinfo=WINTER)
    sim = P1Simulator(start=start, seed=4)
    telegrams = run(sim, 4 * 900)
    peak, peak_time = 0, start.replace(hour=0)
    quarter_sum = 0
    raised = 0
    for n, telegram in enumerate(telegrams, start=1):
        elapsed = n % 900
        quarter_sum += watts(telegram, "1-0:1.7.0")
        if elapsed == 0:
            mean = quarter_sum // 900
            if mean > peak:
                peak, peak_time = mean, telegram.timestamp
                raised += 1
            quarter_sum = 0
            assert watts(telegram, "1-0:1.4.0") == 0
        else:
            assert watts(telegram, "1-0:1.4.0") == quarter_sum // elapsed
        record = telegram.objects["1-0:1.6.0"]
        assert round(float(record.value or 0) * 1000) == peak
        assert record.timestamp == peak_time
    assert raised >= 2
    assert peak > 2000  # the wok and the oven together


def test_month_rollover_moves_the_peak_into_the_history() -> None:
    """Local midnight on the 1st: the month's peak heads 0-0:98.1.0, the peak restarts."""
    sim = P1Simulator(
        MeterConfig(history_months=2),
        start=datetime(2026, 2, 28, 23, 59, 58, tzinfo=WINTER),
    )
    before, at, after = run(sim, 3)
    month_peak = before.objects["1-0:1.6.0"]
    assert at.timestamp == datetime(2026, 3, 1, tzinfo=WINTER)
    old = before.value("0-0:98.1.0")
    new = at.value("0-0:98.1.0")
    assert isinstance(old, tuple)
    assert isinstance(new, tuple)
    assert len(old) == 2
    assert len(new) == 3
    assert new[1:] == old
    assert new[0].period_start == datetime(2026, 3, 1, tzinfo=WINTER)
    assert new[0].timestamp == month_peak.timestamp
    assert new[0].value == month_peak.value
    assert at.number("1-0:1.6.0") == 0
    assert at.objects["1-0:1.6.0"].timestamp == datetime(2026, 3, 1, tzinfo=WINTER)
    assert after.value("0-0:98.1.0") == new


def test_history_keeps_13_months() -> None:
    """A full history stays at 13 entries: the oldest month drops out."""
    sim = P1Simulator(start=datetime(2026, 4, 30, 23, 59, 58, tzinfo=SUMMER))
    before, at = run(sim, 2)
    old, new = before.value("0-0:98.1.0"), at.value("0-0:98.1.0")
    assert isinstance(old, tuple)
    assert isinstance(new, tuple)
    assert len(old) == len(new) == 13
    assert new[1:] == old[:12]


@pytest.mark.parametrize(
    ("start", "flags"),
    [
        # Autumn: 02:59:59 summer time is followed by 02:00:00 winter time.
        (datetime(2026, 10, 25, 0, 59, 57, tzinfo=UTC), "SSWW"),
        # Spring: 01:59:59 winter time is followed by 03:00:00 summer time.
        (datetime(2026, 3, 29, 0, 59, 57, tzinfo=UTC), "WWSS"),
    ],
)
def test_clock_follows_belgian_summer_time(start: datetime, flags: str) -> None:
    """The S/W flag switches at 01:00 UTC; decoded times advance by exactly 1 s."""
    sim = P1Simulator(start=start)
    stamps = []
    for _ in range(4):
        data = sim.step().telegram
        assert data is not None
        stamps.append(data.split(b"0-0:1.0.0(")[1][:13].decode())
    assert "".join(stamp[-1] for stamp in stamps) == flags
    decoded = [
        datetime.strptime(s[:12], "%y%m%d%H%M%S").replace(
            tzinfo=SUMMER if s[-1] == "S" else WINTER
        )
        for s in stamps
    ]
    assert [b - a for a, b in itertools.pairwise(decoded)] == [timedelta(seconds=1)] * 3


def test_belgian_offset_and_tst() -> None:
    """EU rule, checked on 2026's transitions."""
    assert belgian_offset(datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)) == timedelta(
        hours=1
    )
    assert belgian_offset(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == timedelta(hours=2)
    assert belgian_offset(datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC)) == timedelta(
        hours=2
    )
    assert belgian_offset(datetime(2026, 10, 25, 1, tzinfo=UTC)) == timedelta(hours=1)
    assert format_tst(datetime(2026, 7, 1, 10, 0, 5, tzinfo=UTC)) == "260701120005S"
    assert format_tst(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == "270101000000W"


def test_gas_and_water_every_five_minutes() -> None:
    """Readings change only on 5-minute marks, carry that time, and never decrease."""
    sim = P1Simulator(start=datetime(2026, 1, 12, 6, 30, tzinfo=WINTER), seed=5)
    seen: dict[int, set[tuple[datetime | None, float | None]]] = {1: set(), 2: set()}
    last = {1: 0.0, 2: 0.0}
    for telegram in run(sim, 1200):
        assert telegram.timestamp is not None
        for device in telegram.mbus:
            reading = device.reading
            assert reading is not None
            assert reading.timestamp is not None
            assert reading.timestamp <= telegram.timestamp
            assert reading.timestamp.minute % 5 == reading.timestamp.second == 0
            assert telegram.timestamp - reading.timestamp < timedelta(minutes=5)
            assert reading.value >= last[device.channel]
            last[device.channel] = reading.value
            seen[device.channel].add((reading.timestamp, reading.value))
    # 06:30 (taken before the start) and 06:35-06:50.
    assert len(seen[1]) == len(seen[2]) == 5
    # A winter morning: heating and a shower use gas, the shower water.
    assert len({value for _, value in seen[1]}) == 5
    assert len({value for _, value in seen[2]}) > 1


def test_breaker_state_on_request() -> None:
    """Disconnected: breaker 0 and no power at all; then ready, then connected."""
    sim = P1Simulator(start=datetime(2026, 6, 20, 13, 0, tzinfo=SUMMER))
    for state in (0, 2):
        sim.set_breaker(state)
        (telegram,) = run(sim, 1)
        assert telegram.value("0-0:96.3.10") == state
        assert telegram.number("1-0:1.7.0") == telegram.number("1-0:2.7.0") == 0
        assert telegram.number("1-0:31.7.0") == 0
    sim.set_breaker(1)
    (telegram,) = run(sim, 1)
    assert telegram.value("0-0:96.3.10") == 1
    assert (telegram.number("1-0:2.7.0") or 0) > 0
    with pytest.raises(ValueError):
        sim.set_breaker(3)


def test_deterministic_for_a_seed() -> None:
    """Same seed and start: same bytes; another seed: another household."""
    start = datetime(2026, 5, 5, 18, 0, tzinfo=SUMMER)

    def stream(seed: int) -> list[bytes | None]:
        sim = P1Simulator(start=start, seed=seed)
        return [sim.step().telegram for _ in range(120)]

    assert stream(3) == stream(3)
    assert stream(3) != stream(4)


def test_faults() -> None:
    """CRC errors are exactly the flagged telegrams; silences and drops happen."""
    sim = P1Simulator(
        MeterConfig(
            faults=Faults(crc_error_rate=0.2, silence_rate=0.01, disconnect_rate=0.02)
        ),
        start=datetime(2026, 6, 1, 12, tzinfo=SUMMER),
        seed=9,
    )
    stream = P1Stream()
    sent = corrupted = silent = drops = 0
    for _ in range(600):
        tick = sim.step()
        drops += tick.disconnect
        if tick.telegram is None:
            silent += 1
            continue
        sent += 1
        corrupted += tick.corrupted
        assert len(stream.feed(tick.telegram)) == (0 if tick.corrupted else 1)
    assert stream.stats.crc_errors == corrupted
    assert 0.1 * sent < corrupted < 0.3 * sent
    assert 15 <= silent < 600
    assert drops > 0


def test_rejects_naive_start() -> None:
    """The meter clock needs an offset."""
    with pytest.raises(ValueError):
        P1Simulator(start=datetime(2026, 1, 1))


def test_fast_forward_is_the_same_meter() -> None:
    """step(build=False) skips the bytes only: the registers and what follows match."""
    start = datetime(2026, 6, 15, 6, 0, tzinfo=SUMMER)
    fast = P1Simulator(
        MeterConfig(faults=Faults(crc_error_rate=0.1)), start=start, seed=1
    )
    full = P1Simulator(
        MeterConfig(faults=Faults(crc_error_rate=0.1)), start=start, seed=1
    )
    for _ in range(600):
        assert fast.step(build=False).telegram is None
        full.step()
    assert fast.import_ws == full.import_ws
    assert fast.export_ws == full.export_ws
    assert [fast.step().telegram for _ in range(30)] == [
        full.step().telegram for _ in range(30)
    ]
