"""The publishing policy (``derivation.py``) on decoded telegrams, without a link."""

from __future__ import annotations

from custom_components.emucs.derivation import (
    AVERAGED,
    ENERGY_IMPORT_TOTAL,
    POWER_NET,
    TOTALS,
    Derivation,
)
from custom_components.emucs.protocol import Telegram, decode_telegram, obis
from tests.telegrams import build_telegram, load_template

from .common import with_values

SPEC = load_template("spec_e21_3phase.txt")


def telegram(second: int = 9, values: dict[str, str] | None = None) -> Telegram:
    """Return the spec telegram at 13:54:<second>, other lines as ``with_values``."""
    lines = {obis.TIMESTAMP: f"(2005121354{second:02d}S)", **(values or {})}
    return decode_telegram(build_telegram(with_values(SPEC, lines)))


def power(kw: float) -> dict[str, str]:
    """Return the import power line of ``kw``."""
    return {obis.POWER_IMPORT: f"({kw:06.3f}*kW)"}


def register(kwh: float) -> dict[str, str]:
    """Return the tariff 1 import register line of ``kwh``."""
    return {obis.ENERGY_IMPORT_T1: f"({kwh:010.3f}*kWh)"}


def test_lists_follow_the_table() -> None:
    """What is averaged and what is guarded is the kind of each table row."""
    assert obis.POWER_IMPORT in AVERAGED
    assert obis.VOLTAGE_L3 in AVERAGED
    assert obis.ENERGY_IMPORT_T1 not in AVERAGED
    assert set(TOTALS) == {
        obis.ENERGY_IMPORT_T1,
        obis.ENERGY_IMPORT_T2,
        obis.ENERGY_EXPORT_T1,
        obis.ENERGY_EXPORT_T2,
    }


def test_every_telegram_without_averaging() -> None:
    """Publish interval 0: each telegram's values, and the net power."""
    derivation = Derivation(0)
    snapshot = derivation.update(telegram(values=power(1.5)))
    assert snapshot.value(obis.POWER_IMPORT) == 1.5
    assert snapshot.value(POWER_NET) == 1.5
    assert derivation.update(telegram(10, power(2.0))).value(POWER_NET) == 2.0


def test_window_publishes_the_mean_when_it_closes() -> None:
    """A 3 s window shows the first values, then the mean of three telegrams."""
    derivation = Derivation(3)
    published = [
        derivation.update(telegram(second, power(kw))).value(obis.POWER_IMPORT)
        for second, kw in ((0, 1.0), (1, 2.0), (2, 6.0), (3, 9.0))
    ]
    assert published == [1.0, 1.0, 1.0, 3.0]


def test_totals_never_go_back() -> None:
    """A lower register is held back and counted; the sum uses the kept value."""
    derivation = Derivation(0)
    first = derivation.update(telegram(values=register(100)))
    lower = derivation.update(telegram(10, register(99)))
    assert lower.value(obis.ENERGY_IMPORT_T1) == 100.0
    assert lower.value(ENERGY_IMPORT_TOTAL) == first.value(ENERGY_IMPORT_TOTAL)
    assert derivation.totals.glitches == 1
    derivation.clear()  # another meter: its registers count from scratch
    again = derivation.update(telegram(11, register(99)))
    assert again.value(obis.ENERGY_IMPORT_T1) == 99.0


def test_snapshot_reads_other_objects_from_the_telegram() -> None:
    """Objects published as sent come from the telegram; absent ones are not in it."""
    snapshot = Derivation(0).update(telegram())
    assert snapshot.value(obis.TARIFF) == 1
    assert obis.TARIFF in snapshot
    assert obis.MESSAGE_CODE not in snapshot
    assert snapshot.value(obis.MESSAGE_CODE) is None


def test_submeter_flow_from_successive_readings() -> None:
    """Two gas readings five minutes apart give a flow; a lower one is ignored."""
    derivation = Derivation(0)
    gas = f"0-1:{obis.MBUS_READING_UNCORRECTED}"
    derivation.update(telegram(values={gas: "(200512134500S)(00112.000*m3)"}))
    later = derivation.update(telegram(10, {gas: "(200512135000S)(00112.100*m3)"}))
    assert later.submeters[1].value == 112.1
    assert later.submeters[1].flow == 1.2
    lower = derivation.update(telegram(11, {gas: "(200512135500S)(00112.000*m3)"}))
    assert lower.submeters[1] == later.submeters[1]
