"""Monthly peaks in Home Assistant's long-term statistics, read through the recorder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import (
    get_last_statistics,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.emucs.capacity import month_start
from custom_components.emucs.peak_statistics import statistic_id
from tests.telegrams import build_telegram, load_template

from .common import serial_data, setup_entry, with_values
from .conftest import PtyMeter
from .test_capacity_sensors import feed

HISTORY_13 = load_template("quirk_history_13.txt")
HISTORY_SERIAL = "1SAG3105044444"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """Start the recorder before Home Assistant (the shared fixture starts it first)."""


async def monthly_rows(
    recorder: Recorder, hass: HomeAssistant, serial: str
) -> list[tuple[datetime, float | None]]:
    """Return (start, max) of every hourly row of the meter's monthly peaks."""
    await async_wait_recording_done(hass)
    sid = statistic_id(serial)
    result = await recorder.async_add_executor_job(
        statistics_during_period,
        hass,
        datetime(2000, 1, 1, tzinfo=UTC),
        None,
        {sid},
        "hour",
        None,
        {"max", "mean", "min"},
    )
    rows = result.get(sid, [])
    assert all(row["max"] == row["mean"] == row["min"] for row in rows)
    return [(datetime.fromtimestamp(row["start"], UTC), row["max"]) for row in rows]


async def test_history_in_statistics(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    make_pty_meter: Callable[..., PtyMeter],
) -> None:
    """13 months after one telegram, the same after a restart, one more a month later."""
    pty = make_pty_meter(payload=None)
    entry = await setup_entry(
        hass, serial_data(pty), unique_id=HISTORY_SERIAL, wait=False
    )
    feed(entry, build_telegram(HISTORY_13))
    await hass.async_block_till_done()
    rows = await monthly_rows(recorder_mock, hass, HISTORY_SERIAL)
    # March 2025 (running) and 12 months of history; February 2024 has no data.
    expected = [(month_start(2024, month), None) for month in range(3, 13)] + [
        (month_start(2025, month), None) for month in range(1, 4)
    ]
    assert [start for start, _ in rows] == [start for start, _ in expected]
    assert dict(rows)[month_start(2025, 2)] == 6.104
    assert dict(rows)[month_start(2025, 3)] == 5.412
    assert dict(rows)[month_start(2024, 3)] == 5.887

    # The same telegram again, then a restart: nothing is added twice.
    feed(entry, build_telegram(HISTORY_13))
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    feed(entry, build_telegram(HISTORY_13))
    await hass.async_block_till_done()
    assert await monthly_rows(recorder_mock, hass, HISTORY_SERIAL) == rows

    # A new peak in March updates March's row in place.
    higher = with_values(HISTORY_13, {"1-0:1.6.0": "(250315144500W)(06.002*kW)"})
    feed(entry, build_telegram(higher))
    await hass.async_block_till_done()
    updated = dict(await monthly_rows(recorder_mock, hass, HISTORY_SERIAL))
    assert len(updated) == len(rows)
    assert updated[month_start(2025, 3)] == 6.002

    # April: March moves into the history (the oldest month drops out of it).
    history_line = next(
        line for line in HISTORY_13.splitlines() if line.startswith("0-0:98.1.0")
    )
    entries = history_line.split("(1-0:1.6.0)(1-0:1.6.0)")[1]
    march = "(250401000000S)(250315144500W)(06.002*kW)"
    april_history = (
        f"(13)(1-0:1.6.0)(1-0:1.6.0){march}"
        + entries[: -len("(240301000000W)(632525252525W)(00.000*kW)")]
    )
    april = with_values(
        HISTORY_13,
        {
            "0-0:1.0.0": "(250401001000S)",
            "1-0:1.6.0": "(250401000000S)(00.000*kW)",
            "0-0:98.1.0": april_history,
        },
    )
    feed(entry, build_telegram(april))
    await hass.async_block_till_done()
    after = dict(await monthly_rows(recorder_mock, hass, HISTORY_SERIAL))
    assert len(after) == len(rows) + 1
    assert after[month_start(2025, 3)] == 6.002
    assert after[month_start(2025, 4)] == 0.0
    assert after[month_start(2024, 3)] == 5.887  # kept, though the meter forgot it
    last = await recorder_mock.async_add_executor_job(
        get_last_statistics, hass, 1, statistic_id(HISTORY_SERIAL), True, {"max"}
    )
    assert [row["start"] for row in last[statistic_id(HISTORY_SERIAL)]] == [
        month_start(2025, 4).timestamp()
    ]
    assert await hass.config_entries.async_unload(entry.entry_id)
