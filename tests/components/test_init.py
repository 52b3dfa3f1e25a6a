"""Setup, unload, reload and device removal against real PTY and TCP meters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.emucs.const import (
    CONF_PUBLISH_INTERVAL,
    CONF_SERIAL_PORT,
    CONF_SILENCE_TIMEOUT,
)
from custom_components.emucs.protocol import decode_telegram
from tests.telegrams import build_telegram, load_template

from .common import (
    coordinator,
    find_device,
    serial_data,
    setup_entry,
    state,
    wait_for,
    wait_for_telegrams,
    with_values,
)
from .conftest import SPEC_EQUIPMENT_ID, PtyMeter, TcpMeter

type MakeTcpMeter = Callable[..., Awaitable[TcpMeter]]

GAS_ID = "7FLO2119033733"
WATER_ID = "8SAG1234567890"
WITHOUT_WATER = build_telegram(
    "".join(
        line
        for line in load_template("spec_e21_3phase.txt").splitlines(keepends=True)
        if not line.startswith("0-2:")
    )
)
"""The spec telegram without its water meter (M-Bus channel 2)."""


def network_data(meter: TcpMeter) -> dict[str, Any]:
    """Return config entry data for a meter behind a loopback TCP server."""
    return {CONF_HOST: meter.host, CONF_PORT: meter.port}


def assert_spec_values(hass: HomeAssistant) -> None:
    """Check entities of every kind against the spec telegram's values."""
    assert state(hass, "energy_import_tariff_1").state == "0.034"
    assert state(hass, "energy_import_tariff_2").state == "15.758"
    assert state(hass, "energy_import_total").state == "15.792"
    assert state(hass, "voltage_l1").state == "234.7"
    assert state(hass, "average_demand").state == "2.351"
    assert state(hass, "breaker_state").state == "connected"
    assert state(hass, "tariff").state == "tariff_1"
    assert state(hass, f"{GAS_ID}_gas").state == "112.384"
    assert state(hass, f"{WATER_ID}_water").state == "872.234"
    assert state(hass, "virtual_relay_1", "binary_sensor").state == "off"


async def test_setup_serial(
    hass: HomeAssistant,
    pty_meter: PtyMeter,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """A meter on a serial port: entities with the telegram's values, three devices."""
    entry = await setup_entry(hass, serial_data(pty_meter))

    assert entry.state is ConfigEntryState.LOADED
    assert_spec_values(hass)
    devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    assert sorted(devices, key=lambda d: d.name or "") == snapshot
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_setup_network(hass: HomeAssistant, tcp_meter: TcpMeter) -> None:
    """A meter behind a TCP dongle works the same."""
    entry = await setup_entry(hass, network_data(tcp_meter))

    assert entry.state is ConfigEntryState.LOADED
    assert_spec_values(hass)
    assert tcp_meter.connections == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unload_closes_link(hass: HomeAssistant, tcp_meter: TcpMeter) -> None:
    """Unloading closes the socket and stops the link task; entities go unavailable.

    The harness fails the test if a task of ours is still running at the end.
    """
    entry = await setup_entry(hass, network_data(tcp_meter))
    link = coordinator(entry).link

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not link.stats.connected
    assert state(hass, "voltage_l1").state == STATE_UNAVAILABLE
    # The dongle notices the closed socket on its next write.
    await wait_for(hass, lambda: not tcp_meter._clients, "the dongle to see the close")
    assert tcp_meter.connections == 1


async def test_serial_port_missing(hass: HomeAssistant) -> None:
    """A cable that is not plugged in: setup is retried, with a translated reason."""
    path = "/dev/serial/by-id/usb-no-such-cable"
    entry = await setup_entry(hass, {CONF_SERIAL_PORT: path}, wait=False)

    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None
    assert entry.reason.startswith(f"Could not open {path}: ")
    assert "No such file or directory" in entry.reason


async def test_network_refused(hass: HomeAssistant, tcp_meter: TcpMeter) -> None:
    """A dongle that refuses the connection: setup is retried."""
    await tcp_meter.stop()
    entry = await setup_entry(hass, network_data(tcp_meter), wait=False)

    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None
    assert entry.reason.startswith(f"Could not open 127.0.0.1:{tcp_meter.port}: ")


@pytest.fixture
def reloads(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every config entry reload (the real reload still runs)."""
    calls: list[str] = []
    reload = hass.config_entries.async_reload

    async def _spy(entry_id: str) -> bool:
        calls.append(entry_id)
        return await reload(entry_id)

    monkeypatch.setattr(hass.config_entries, "async_reload", _spy)
    return calls


async def test_options_change_reloads_once(
    hass: HomeAssistant, pty_meter: PtyMeter, reloads: list[str]
) -> None:
    """New options reload the entry once; the same options or a new title do not."""
    entry = await setup_entry(hass, serial_data(pty_meter))
    first = coordinator(entry)
    options = {CONF_PUBLISH_INTERVAL: 10, CONF_SILENCE_TIMEOUT: 30}

    hass.config_entries.async_update_entry(entry, options=options)
    await hass.async_block_till_done()

    assert reloads == [entry.entry_id]
    assert entry.state is ConfigEntryState.LOADED
    assert coordinator(entry) is not first
    assert coordinator(entry).derivation.window.interval == 10
    assert coordinator(entry).link._silence_timeout == 30

    hass.config_entries.async_update_entry(entry, options=dict(options))
    hass.config_entries.async_update_entry(entry, title="Meter in the garage")
    await hass.async_block_till_done()

    assert reloads == [entry.entry_id]
    await wait_for_telegrams(hass, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_reloads_once(
    hass: HomeAssistant, make_tcp_meter: MakeTcpMeter, reloads: list[str]
) -> None:
    """Reconfigure changes the data and reloads once; the update listener does not."""
    old, new = await make_tcp_meter(), await make_tcp_meter()
    entry = await setup_entry(hass, network_data(old))

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "network"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], network_data(new)
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert reloads == [entry.entry_id]
    assert entry.state is ConfigEntryState.LOADED
    assert coordinator(entry).link.target.port == new.port
    await wait_for_telegrams(hass, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_stop_closes_link(hass: HomeAssistant, tcp_meter: TcpMeter) -> None:
    """Stopping Home Assistant stops the link task and closes the socket."""
    entry = await setup_entry(hass, network_data(tcp_meter))
    link = coordinator(entry).link

    await hass.async_stop()

    assert not link.stats.connected
    assert link._link is None
    await wait_for(hass, lambda: not tcp_meter._clients, "the dongle to see the close")


async def remove_device(
    hass_ws_client: WebSocketGenerator, device_id: str, entry_id: str
) -> dict[str, Any]:
    """Ask to remove a device from the entry, as the device page does."""
    client = await hass_ws_client()
    await client.send_json_auto_id(
        {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": entry_id,
            "device_id": device_id,
        }
    )
    response: dict[str, Any] = await client.receive_json()
    return response


async def test_remove_stale_submeter(
    hass: HomeAssistant,
    pty_meter: PtyMeter,
    device_registry: dr.DeviceRegistry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A submeter the meter no longer reports can be removed; others cannot."""
    assert await async_setup_component(hass, "config", {})
    entry = await setup_entry(hass, serial_data(pty_meter))
    pty_meter.payload = WITHOUT_WATER
    await wait_for(
        hass,
        lambda: len(coordinator(entry).data.telegram.mbus) == 1,
        "a telegram without the water meter",
    )

    def device(identifier: str) -> dr.DeviceEntry:
        result = find_device(device_registry, entry, identifier)
        assert result is not None
        return result

    meter = device(SPEC_EQUIPMENT_ID)
    gas = device(f"{SPEC_EQUIPMENT_ID}_{GAS_ID}")
    water = device(f"{SPEC_EQUIPMENT_ID}_{WATER_ID}")
    assert state(hass, f"{WATER_ID}_water").state == STATE_UNAVAILABLE

    for refused in (meter, gas):
        response = await remove_device(hass_ws_client, refused.id, entry.entry_id)
        assert not response["success"]
        assert device_registry.async_get(refused.id) is not None

    response = await remove_device(hass_ws_client, water.id, entry.entry_id)
    assert response["success"]
    assert device_registry.async_get(water.id) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_remove_submeter_while_not_loaded(
    hass: HomeAssistant,
    pty_meter: PtyMeter,
    device_registry: dr.DeviceRegistry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Without a link nothing is known to be present: submeters can go, the meter not."""
    assert await async_setup_component(hass, "config", {})
    entry = await setup_entry(hass, serial_data(pty_meter))
    assert await hass.config_entries.async_unload(entry.entry_id)
    meter = find_device(device_registry, entry, SPEC_EQUIPMENT_ID)
    gas = find_device(device_registry, entry, f"{SPEC_EQUIPMENT_ID}_{GAS_ID}")
    assert meter is not None
    assert gas is not None

    response = await remove_device(hass_ws_client, meter.id, entry.entry_id)
    assert not response["success"]
    response = await remove_device(hass_ws_client, gas.id, entry.entry_id)
    assert response["success"]


@pytest.mark.parametrize(
    ("template", "values", "model", "manufacturer", "sw_version"),
    [
        ("spec_e21_1phase.txt", {}, "S211", "Sagemcom", "DSMR 5.0.2 / eMUCS 2.0"),
        (
            "spec_e21_3phase.txt",
            {"0-0:96.1.1": f"({b'1ABC0000000001'.hex()})"},
            "3-phase meter (FLU5\\253769484_A)",
            "FLU",
            "DSMR 5.0.2 / eMUCS 2.0",
        ),
        (
            "spec_e21_1phase.txt",
            {"0-0:96.1.4": "(5022)"},
            "S211",
            "Sagemcom",
            "5022",
        ),
    ],
    ids=["sagemcom_single_phase", "other_maker", "odd_version"],
)
async def test_meter_device(
    *,
    hass: HomeAssistant,
    pty_meter: PtyMeter,
    device_registry: dr.DeviceRegistry,
    template: str,
    values: dict[str, str],
    model: str,
    manufacturer: str,
    sw_version: str,
) -> None:
    """Model, maker and version of the meter device come from the telegram."""
    pty_meter.payload = build_telegram(with_values(load_template(template), values))
    serial = decode_telegram(pty_meter.payload).equipment_id
    assert serial is not None
    entry = await setup_entry(hass, serial_data(pty_meter), unique_id=serial)

    device = find_device(device_registry, entry, serial)
    assert device is not None
    assert (device.model, device.manufacturer, device.sw_version) == (
        model,
        manufacturer,
        sw_version,
    )
    assert device.serial_number == serial
    assert await hass.config_entries.async_unload(entry.entry_id)
