"""Capacity tariff entities and statistics in Home Assistant.

Most tests feed simulator telegrams straight into the link's byte handler, one meter
second at a time, with Home Assistant's clock moved to the meter's (``freezer``
freezes the event loop clock too, which would stall a writer on a pseudo-terminal).
One test goes through a real pseudo-terminal end to end.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.emucs.const import (
    CONF_CAPACITY_RATE,
    CONF_PEAK_TARGET,
    CONF_PUBLISH_INTERVAL,
    DOMAIN,
)
from custom_components.emucs.protocol import decode_telegram, obis
from custom_components.emucs.protocol.obis import QUARTER_S
from custom_components.emucs.protocol.p1_sim import MeterConfig, P1Simulator, Tick
from tests.telegrams import build_telegram, load_template

from .common import (
    collect_states,
    coordinator,
    entity_id,
    serial_data,
    setup_entry,
    state,
    telegrams,
    wait_for,
    write_to_pty,
)
from .conftest import PtyMeter

type MakePtyMeter = Callable[..., PtyMeter]

SIM_SERIAL = MeterConfig().equipment_id
HISTORY_13 = load_template("quirk_history_13.txt")
HISTORY_SERIAL = "1SAG3105044444"
CAPACITY_SENSORS = (
    "quarter_forecast",
    "quarter_seconds_left",
    "peak_headroom",
    "peak_average",
)


def sim_state(hass: HomeAssistant, key: str, platform: str = "sensor") -> State:
    """Return the state of the simulated meter's entity ``key``."""
    return state(hass, key, platform, SIM_SERIAL)


def feed(entry: MockConfigEntry, data: bytes) -> None:
    """Hand bytes to the link as if they came from the port, synchronously."""
    coordinator(entry).link._feed(data)


class SimulatedMeter:
    """A simulated household whose telegrams are fed one meter second at a time."""

    def __init__(
        self, entry: MockConfigEntry, freezer: FrozenDateTimeFactory, start: datetime
    ) -> None:
        """Start the meter clock one second before ``start`` (UTC)."""
        self.entry = entry
        self.freezer = freezer
        self.sim = P1Simulator(
            MeterConfig(pv_peak_kw=0.0), start=start - timedelta(seconds=1), seed=5
        )

    def step(self, *, send: bool = True) -> Tick:
        """Advance one second; send its telegram (Home Assistant's clock follows)."""
        tick = self.sim.step(build=send)
        if send:
            assert tick.telegram is not None
            self.freezer.move_to(tick.time)
            feed(self.entry, tick.telegram)
        return tick

    @property
    def import_ws(self) -> int:
        """Import registers in watt-seconds (exact, not truncated to Wh)."""
        return sum(self.sim.import_ws)


def check_quarter(
    hass: HomeAssistant, meter: SimulatedMeter, tick: Tick, quarter_start: str
) -> None:
    """Feed a whole quarter from its first second ``tick``; check every second."""
    start_ws = meter.import_ws
    for second in range(QUARTER_S):
        if second:
            tick = meter.step()
        power = max(sum(tick.phase_power_w), 0) / 1000
        left = QUARTER_S - second
        energy_kj = (meter.import_ws - start_ws) / 1000
        assert int(sim_state(hass, "quarter_seconds_left").state) == left
        forecast = sim_state(hass, "quarter_forecast")
        assert forecast.attributes["quarter_start"] == quarter_start
        assert forecast.attributes["baseline_estimated"] is False
        exact = (energy_kj + power * left) / QUARTER_S
        assert abs(float(forecast.state) - exact) < 0.0045
        headroom = sim_state(hass, "peak_headroom")
        target = headroom.attributes["target"]
        exact = max(0.0, (target * QUARTER_S - energy_kj) / left)
        assert abs(float(headroom.state) - exact) <= 3.6 / left + 0.0005
        capacity = coordinator(meter.entry).data.capacity
        assert capacity is not None
        at_risk = capacity.quarter.projected_kw > 0.9 * capacity.target_kw
        risk = sim_state(hass, "peak_at_risk", "binary_sensor")
        assert risk.state == ("on" if at_risk else "off")
        assert risk.attributes["quarter_start"] == quarter_start


async def test_every_second_of_a_quarter_and_a_month_rollover(
    hass: HomeAssistant, make_pty_meter: MakePtyMeter, freezer: FrozenDateTimeFactory
) -> None:
    """Forecast, seconds left, headroom and risk at each second; one event per peak."""
    freezer.move_to(datetime(2026, 3, 31, 21, 45, tzinfo=UTC))
    entry = await setup_entry(
        hass,
        serial_data(make_pty_meter(payload=None)),
        unique_id=SIM_SERIAL,
        wait=False,
    )
    meter = SimulatedMeter(entry, freezer, datetime(2026, 3, 31, 21, 45, tzinfo=UTC))
    tick = meter.step()  # 23:45:00 S, a quarter start
    await hass.async_block_till_done()
    check_quarter(hass, meter, tick, "2026-03-31T23:45:00+02:00")

    # Into April: the meter moves March's peak into the history and starts afresh.
    march_peak = float(sim_state(hass, "peak_demand").state)
    event_id = entity_id(hass, "monthly_peak", "event", SIM_SERIAL)
    rises = []
    last_peak = None
    with collect_states(hass, {event_id}) as events:
        for _ in range(31 * 60):
            telegram = decode_telegram(meter.step().telegram or b"")
            peak = telegram.objects[obis.PEAK_DEMAND]
            if (peak.timestamp, peak.value) != last_peak:
                if last_peak is not None and peak.value > last_peak[1]:
                    rises.append(peak.value)
                last_peak = (peak.timestamp, peak.value)
        await hass.async_block_till_done()
    assert rises  # the simulated April starts with a peak every quarter or so
    assert [e.attributes["peak"] for e in events] == rises
    assert all(e.attributes["event_type"] == "new_peak" for e in events)
    assert events[0].attributes["previous"] == 0.0
    months = sim_state(hass, "peak_average").attributes["months"]
    assert list(months)[:2] == ["2026-04", "2026-03"]
    assert months["2026-03"] == march_peak
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("start", "quarters"),
    [
        # 01:45 W: the quarter ends at 03:00 S, 15 minutes later.
        (
            datetime(2026, 3, 29, 0, 45, tzinfo=UTC),
            ("2026-03-29T01:45:00+01:00", "2026-03-29T03:00:00+02:00"),
        ),
        # 02:45 S: the next quarter is 02:00 W, the repeated hour.
        (
            datetime(2026, 10, 25, 0, 45, tzinfo=UTC),
            ("2026-10-25T02:45:00+02:00", "2026-10-25T02:00:00+01:00"),
        ),
    ],
)
async def test_dst_days(
    hass: HomeAssistant,
    make_pty_meter: MakePtyMeter,
    freezer: FrozenDateTimeFactory,
    start: datetime,
    quarters: tuple[str, str],
) -> None:
    """The quarter across each DST change lasts 900 s on the meter's clock."""
    freezer.move_to(start)
    entry = await setup_entry(
        hass,
        serial_data(make_pty_meter(payload=None)),
        unique_id=SIM_SERIAL,
        wait=False,
    )
    meter = SimulatedMeter(entry, freezer, start)
    tick = meter.step()
    await hass.async_block_till_done()
    check_quarter(hass, meter, tick, quarters[0])
    check_quarter(hass, meter, meter.step(), quarters[1])
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_restart_in_mid_quarter(
    hass: HomeAssistant, make_pty_meter: MakePtyMeter, freezer: FrozenDateTimeFactory
) -> None:
    """After a restart the quarter continues from the saved register reading."""
    start = datetime(2026, 1, 14, 18, 0, tzinfo=UTC)
    freezer.move_to(start)
    pty = make_pty_meter(payload=None)
    entry = await setup_entry(hass, serial_data(pty), unique_id=SIM_SERIAL, wait=False)
    meter = SimulatedMeter(entry, freezer, start)
    meter.step()  # 19:00:00 W
    start_ws = meter.import_ws
    for _ in range(299):
        meter.step()
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)

    for _ in range(120):  # Home Assistant is down for two minutes
        meter.step(send=False)
    assert await hass.config_entries.async_setup(entry.entry_id)
    tick = meter.step()
    await hass.async_block_till_done()
    forecast = sim_state(hass, "quarter_forecast")
    assert forecast.attributes["baseline_estimated"] is False
    assert forecast.attributes["quarter_start"] == "2026-01-14T19:00:00+01:00"
    energy_kj = (meter.import_ws - start_ws) / 1000
    assert abs(forecast.attributes["energy_so_far"] * 3600 - energy_kj) < 3.6 + 1.8
    power = max(sum(tick.phase_power_w), 0) / 1000
    exact = (energy_kj + power * (QUARTER_S - 420)) / QUARTER_S
    assert abs(float(forecast.state) - exact) < 0.0045
    assert int(sim_state(hass, "quarter_seconds_left").state) == QUARTER_S - 420
    assert await hass.config_entries.async_unload(entry.entry_id)

    # Without the saved state (a new entry) the start of the quarter is estimated.
    await hass.config_entries.async_remove(entry.entry_id)
    other = await setup_entry(hass, serial_data(pty), unique_id=SIM_SERIAL, wait=False)
    meter.entry = other
    meter.step()
    await hass.async_block_till_done()
    assert sim_state(hass, "quarter_forecast").attributes["baseline_estimated"] is True
    assert await hass.config_entries.async_unload(other.entry_id)


async def test_old_firmware_has_no_capacity_entities(
    hass: HomeAssistant,
    make_pty_meter: MakePtyMeter,
    entity_registry: er.EntityRegistry,
) -> None:
    """Firmware 50213 sends neither 1.4.0, 1.6.0 nor 98.1.0: no capacity entities."""
    telegram = build_telegram(load_template("quirk_old_firmware_50213.txt"))
    serial = decode_telegram(telegram).equipment_id
    assert serial is not None
    entry = await setup_entry(
        hass, serial_data(make_pty_meter(payload=None)), unique_id=serial, wait=False
    )
    feed(entry, telegram)
    await hass.async_block_till_done()
    unique_ids = {
        e.unique_id
        for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    }
    assert f"{serial}_energy_import_total" in unique_ids
    for key in (*CAPACITY_SENSORS, "capacity_cost", "peak_at_risk", "monthly_peak"):
        assert f"{serial}_{key}" not in unique_ids
    assert coordinator(entry).data.capacity is None
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("options", "cost"), [({}, None), ({CONF_CAPACITY_RATE: 50.0}, "266.504")]
)
async def test_average_peak_and_cost(
    hass: HomeAssistant,
    make_pty_meter: MakePtyMeter,
    options: dict[str, float],
    cost: str | None,
) -> None:
    """The 12-month average of quirk_history_13; the cost only with a rate."""
    entry = await setup_entry(
        hass,
        serial_data(make_pty_meter(payload=None)),
        {**options, CONF_PEAK_TARGET: 6.0},
        unique_id=HISTORY_SERIAL,
        wait=False,
    )
    feed(entry, build_telegram(HISTORY_13))
    await hass.async_block_till_done()
    average = state(hass, "peak_average", serial=HISTORY_SERIAL)
    assert float(average.state) == pytest.approx(5.33008, abs=5e-4)
    assert average.attributes["months"]["2025-02"] == 6.104
    assert average.attributes["months"]["2024-02"] is None  # no data
    assert len(average.attributes["months"]) == 14
    headroom = state(hass, "peak_headroom", serial=HISTORY_SERIAL)
    assert headroom.attributes["target"] == 6.0  # the option beats the 5.412 kW peak
    registry = er.async_get(hass)
    cost_id = registry.async_get_entity_id(
        "sensor", DOMAIN, f"{HISTORY_SERIAL}_capacity_cost"
    )
    if cost is None:
        assert cost_id is None
    else:
        assert cost_id is not None
        cost_state = hass.states.get(cost_id)
        assert cost_state is not None
        assert f"{float(cost_state.state):.3f}" == cost
        assert cost_state.attributes["unit_of_measurement"] == "EUR"
        # Clearing the rate removes the sensor rather than leaving it unavailable.
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_CAPACITY_RATE: 0.0}
        )
        await hass.async_block_till_done()
        assert registry.async_get(cost_id) is None
        assert hass.states.get(cost_id) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_capacity_values_follow_the_publish_interval(
    hass: HomeAssistant, make_pty_meter: MakePtyMeter, freezer: FrozenDateTimeFactory
) -> None:
    """With a 10 s interval the forecast is written once per interval, not per second."""
    start = datetime(2026, 1, 14, 18, 0, tzinfo=UTC)
    freezer.move_to(start)
    entry = await setup_entry(
        hass,
        serial_data(make_pty_meter(payload=None)),
        {CONF_PUBLISH_INTERVAL: 10},
        unique_id=SIM_SERIAL,
        wait=False,
    )
    meter = SimulatedMeter(entry, freezer, start)
    meter.step()
    await hass.async_block_till_done()
    watched = {entity_id(hass, key, serial=SIM_SERIAL) for key in CAPACITY_SENSORS}
    with collect_states(hass, watched) as seen:
        for _ in range(60):
            meter.step()
    per_entity = {e: sum(1 for s in seen if s.entity_id == e) for e in watched}
    assert 0 < max(per_entity.values()) <= 6
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_end_to_end_through_a_pty(
    hass: HomeAssistant, make_pty_meter: MakePtyMeter
) -> None:
    """Simulator telegrams through a real pseudo-terminal reach the capacity sensors."""
    sim = P1Simulator(
        MeterConfig(pv_peak_kw=0.0),
        start=datetime(2026, 1, 14, 17, 59, 59, tzinfo=UTC),
        seed=2,
    )
    meter = make_pty_meter(payload=None)
    entry = await setup_entry(
        hass, serial_data(meter), unique_id=SIM_SERIAL, wait=False
    )
    ticks = [sim.step() for _ in range(30)]
    handled = telegrams(entry) + len(ticks)
    await write_to_pty(meter, b"".join(t.telegram or b"" for t in ticks))
    await wait_for(hass, lambda: telegrams(entry) >= handled, "30 telegrams")
    assert sim_state(hass, "quarter_seconds_left").state == str(QUARTER_S - 29)
    forecast = sim_state(hass, "quarter_forecast")
    assert forecast.attributes["baseline_estimated"] is False
    last = decode_telegram(ticks[-1].telegram or b"")
    first = decode_telegram(ticks[0].telegram or b"")
    energy = sum(
        (last.number(code) or 0) - (first.number(code) or 0)
        for code in (obis.ENERGY_IMPORT_T1, obis.ENERGY_IMPORT_T2)
    )
    power = last.number(obis.POWER_IMPORT) or 0
    expected = (energy * 3600 + power * (QUARTER_S - 29)) / QUARTER_S
    assert float(forecast.state) == pytest.approx(expected, abs=0.0006)
    assert await hass.config_entries.async_unload(entry.entry_id)
