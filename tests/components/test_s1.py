"""S1 end to end: simulated frames through a real pseudo-terminal into HA entities."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
import os

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.emucs import config_flow, coordinator as coordinator_module
from custom_components.emucs.const import (
    CONF_PUBLISH_INTERVAL,
    CONF_S1_PORT,
    CONF_S1_PUBLISH_INTERVAL,
    CONF_SILENCE_TIMEOUT,
    DOMAIN,
)
from custom_components.emucs.protocol.s1_pipeline import S1Pipeline, S1Result

from .common import entity_id, serial_data, setup_entry, setup_with_s1, state, wait_for
from .conftest import CONFIG, PtyMeter, S1PtyMeter, TcpMeter


async def test_s1_entities_follow_the_stream(
    hass: HomeAssistant,
    pty_meter: PtyMeter,
    s1_meter: S1PtyMeter,
    hass_client: ClientSessionGenerator,
) -> None:
    """True RMS, power, PF, frequency and events arrive as entities on the meter."""
    entry, s1 = await setup_with_s1(hass, pty_meter, s1_meter)
    await wait_for(
        hass, lambda: s1.counters.events["dip"] >= 1, "the dip on L2", timeout=30
    )

    assert float(state(hass, "s1_voltage_l1").state) == pytest.approx(230.0, rel=1e-3)
    assert float(state(hass, "s1_current_l1").state) == pytest.approx(10.0, rel=1e-3)
    assert float(state(hass, "s1_active_power_l1").state) == pytest.approx(
        1991.86, abs=0.005 * 2300
    )
    assert float(state(hass, "s1_power_factor_l1").state) == pytest.approx(
        86.6, abs=0.5
    )
    assert float(state(hass, "s1_current_l3").state) == pytest.approx(2.0, rel=1e-3)
    assert float(state(hass, "s1_frequency").state) == pytest.approx(50.0, abs=0.01)
    assert float(state(hass, "s1_neutral_current").state) >= 0
    assert state(hass, "s1_total_active_power").attributes["unit_of_measurement"] == "W"
    assert state(hass, "s1_fcs_errors").state == "0"
    assert state(hass, "s1_dip_count").state == "1"

    event = state(hass, "s1_voltage_event", "event")
    assert event.attributes["event_type"] == "dip"
    assert event.attributes["phase"] == "L2"
    assert event.attributes["duration"] == pytest.approx(0.2, abs=0.03)
    assert event.attributes["depth"] == pytest.approx(40.0, abs=1.0)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["options"][CONF_S1_PORT] == "**REDACTED**"
    assert diagnostics["s1"]["counters"]["events"]["dip"] == 1
    assert diagnostics["s1"]["values"]["four_wire"] is True
    assert set(diagnostics["s1"]["values"]["phases"]) == {"L1", "L2", "L3"}

    client = await hass_client()
    image = entity_id(hass, "s1_waveform", "image")
    response = await client.get(f"/api/image_proxy/{image}")
    assert response.status == HTTPStatus.OK
    assert response.content_type == "image/svg+xml"
    assert (await response.read()).startswith(b"<svg")

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


@pytest.mark.usefixtures("fast_backoff")
async def test_s1_silence_unavailable_then_back(
    hass: HomeAssistant, pty_meter: PtyMeter, s1_meter: S1PtyMeter
) -> None:
    """A silent S1 stream makes its entities unavailable; they recover with it."""
    entry, s1 = await setup_with_s1(
        hass, pty_meter, s1_meter, {CONF_SILENCE_TIMEOUT: 1}
    )
    voltage = entity_id(hass, "s1_voltage_l1")

    s1_meter.paused = True
    await wait_for(
        hass,
        lambda: hass.states.get(voltage).state == STATE_UNAVAILABLE,
        "S1 entities unavailable",
    )
    assert state(hass, "voltage_l1").state != STATE_UNAVAILABLE  # P1 goes on

    s1_meter.paused = False
    await wait_for(
        hass,
        lambda: hass.states.get(voltage).state not in (STATE_UNAVAILABLE, "unknown"),
        "S1 entities back",
    )
    assert float(hass.states.get(voltage).state) == pytest.approx(230.0, rel=1e-3)
    assert s1.link.stats.connects >= 2
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_s1_decoder_error_does_not_end_the_stream(
    hass: HomeAssistant,
    pty_meter: PtyMeter,
    s1_meter: S1PtyMeter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception in the executor is logged; the next batches are decoded."""
    real = S1Pipeline.process
    calls = 0

    def flaky(self: S1Pipeline, data: bytes, *, restart: bool = False) -> S1Result:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("decoder bug")
        return real(self, data, restart=restart)

    monkeypatch.setattr(S1Pipeline, "process", flaky)
    entry, _ = await setup_with_s1(hass, pty_meter, s1_meter)
    assert "Error decoding an S1 batch" in caplog.text
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_s1_port_missing_keeps_p1_and_raises_repair(
    hass: HomeAssistant,
    pty_meter: PtyMeter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A configured S1 port that never delivers does not block P1; a repair says why."""
    monkeypatch.setattr(coordinator_module, "SILENT_REPAIR_AFTER", 0.0)
    entry = await setup_entry(
        hass, serial_data(pty_meter), {CONF_S1_PORT: "/dev/nonexistent-s1"}
    )
    assert entry.state is ConfigEntryState.LOADED
    assert float(state(hass, "voltage_l1").state) > 0

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"s1_silent_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders == {"target": "/dev/nonexistent-s1"}
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
def quick_s1_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give up on a silent S1 port after half a second."""
    monkeypatch.setattr(config_flow, "S1_PROBE_TIMEOUT", 0.5)


async def test_config_flow_adds_s1_port(
    hass: HomeAssistant, tcp_meter: TcpMeter, quick_s1_probe: None
) -> None:
    """The confirm step takes an optional S1 port, probed for a valid frame."""
    master, slave = os.openpty()  # an S1 port that opens but stays silent
    try:
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_USER}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "network"}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_HOST: tcp_meter.host, CONF_PORT: tcp_meter.port}
        )
        assert result["step_id"] == "confirm"
        for port, error in (
            ("/dev/nonexistent-s1", "s1_cannot_open"),
            (os.ttyname(slave), "s1_no_data"),
        ):
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {CONF_S1_PORT: port}
            )
            assert result["errors"] == {CONF_S1_PORT: error}
    finally:
        os.close(master)
        os.close(slave)

    s1_meter = S1PtyMeter(CONFIG)
    s1_meter.start()
    try:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_S1_PORT: f" {s1_meter.path} "}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entry = result["result"]
        assert entry.options == {CONF_S1_PORT: s1_meter.path}
        await hass.async_block_till_done()
        s1 = entry.runtime_data.s1
        assert s1 is not None
        await wait_for(hass, lambda: s1.data is not None, "S1 values")
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await s1_meter.stop()


async def test_options_flow_probes_new_s1_port(
    hass: HomeAssistant, pty_meter: PtyMeter, quick_s1_probe: None
) -> None:
    """A new S1 port in the options is checked before it is stored."""
    entry = await setup_entry(hass, serial_data(pty_meter))
    assert entry.runtime_data.s1 is None
    options = {
        CONF_PUBLISH_INTERVAL: 0,
        CONF_SILENCE_TIMEOUT: 10,
        CONF_S1_PUBLISH_INTERVAL: 5,
    }
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**options, CONF_S1_PORT: "/dev/nonexistent-s1"}
    )
    assert result["errors"] == {CONF_S1_PORT: "s1_cannot_open"}
    assert CONF_S1_PORT not in entry.options
    hass.config_entries.options.async_abort(result["flow_id"])
    assert await hass.config_entries.async_unload(entry.entry_id)
