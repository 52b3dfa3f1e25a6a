"""Config flow, end to end: every step probes a real PTY or loopback TCP meter.

Nothing in the flow is mocked. Two things are set by the tests: the probe timeout
(a constant, lowered so that "nothing arrives" takes 1 s instead of 15 s) and, in
the tests of the port list, what ``serial.tools.list_ports.comports`` reports: the
operating system never lists a pseudo-terminal as a serial port, so those tests
describe the PTY as the USB cable the OS would report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import socket
from typing import Any, NoReturn

from homeassistant.config_entries import (
    SOURCE_USB,
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
)
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers.service_info.usb import UsbServiceInfo
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import serial.tools.list_ports
from serial.tools.list_ports_common import ListPortInfo
import voluptuous as vol

from custom_components.emucs import config_flow, connection
from custom_components.emucs.const import (
    CONF_CAPACITY_RATE,
    CONF_PEAK_RISK,
    CONF_PEAK_TARGET,
    CONF_PUBLISH_INTERVAL,
    CONF_S1_PORT,
    CONF_S1_PUBLISH_INTERVAL,
    CONF_SERIAL_PORT,
    CONF_SILENCE_TIMEOUT,
    DOMAIN,
)

from .common import setup_entry
from .conftest import (
    BAD_CRC_TELEGRAM,
    DUTCH_TELEGRAM,
    SPEC_EQUIPMENT_ID,
    SPEC_TELEGRAM,
    SPEC_TITLE,
    PtyMeter,
    TcpMeter,
)

PROBE_TIMEOUT = 1.0
OTHER_METER = "1SAG9999999999"

type MakePtyMeter = Callable[..., PtyMeter]
type MakeTcpMeter = Callable[..., Awaitable[TcpMeter]]


@pytest.fixture(autouse=True)
def fast_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give up on a silent or garbled port after 1 s instead of 15 s."""
    monkeypatch.setattr(config_flow, "PROBE_TIMEOUT", PROBE_TIMEOUT)


@pytest.fixture
def serial_ports(monkeypatch: pytest.MonkeyPatch) -> list[ListPortInfo]:
    """Return the list the OS reports as serial ports (empty unless a test adds some)."""
    ports: list[ListPortInfo] = []
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: list(ports))
    return ports


def usb_port(path: str) -> ListPortInfo:
    """Describe ``path`` as the FTDI-based P1 cable the OS would list."""
    port = ListPortInfo(path, skip_link_detection=True)
    port.vid, port.pid = 0x0403, 0x6001
    port.serial_number = "A10KZP45"
    port.manufacturer = "FTDI"
    port.description = "P1 cable"
    return port


def closed_tcp_port() -> int:
    """Return a loopback TCP port on which nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def start_flow(hass: HomeAssistant, step: str) -> dict[str, Any]:
    """Start a user flow and pick ``step`` ("serial" or "network") in the menu."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": step}
    )


async def finish_setup(hass: HomeAssistant, result: dict[str, Any]) -> ConfigEntry:
    """Check that the created entry set up against its meter, then unload it."""
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_user_menu(hass: HomeAssistant) -> None:
    """The user is asked first how the meter is connected."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )

    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["serial", "network"]


async def test_serial_listed_port(
    hass: HomeAssistant, pty_meter: PtyMeter, serial_ports: list[ListPortInfo]
) -> None:
    """A listed port is probed, the meter is shown, confirmed and set up."""
    serial_ports.append(usb_port(pty_meter.path))

    result = await start_flow(hass, "serial")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "serial"
    options = result["data_schema"].schema[CONF_SERIAL_PORT].config["options"]
    assert options == [
        {
            "value": pty_meter.path,
            "label": f"P1 cable - {pty_meter.path}, s/n: A10KZP45 - FTDI - 0403:6001",
        },
        {"value": "manual", "label": "Enter the path manually"},
    ]

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: pty_meter.path}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == {
        "equipment_id": SPEC_EQUIPMENT_ID,
        "model": "T211",
        "version": "DSMR 5.0.2 / eMUCS 2.0",
        "target": pty_meter.path,
    }

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    entry = await finish_setup(hass, result)
    assert entry.title == SPEC_TITLE
    assert entry.unique_id == SPEC_EQUIPMENT_ID
    assert entry.data == {CONF_SERIAL_PORT: pty_meter.path}


async def test_serial_listed_port_error(
    hass: HomeAssistant, make_pty_meter: MakePtyMeter, serial_ports: list[ListPortInfo]
) -> None:
    """A listed port that stays silent shows the error on the port list."""
    meter = make_pty_meter(payload=None)
    serial_ports.append(usb_port(meter.path))
    result = await start_flow(hass, "serial")

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: meter.path}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "no_data"}
    assert result["description_placeholders"] == {"seconds": "1"}


async def test_serial_no_ports_goes_to_manual(
    hass: HomeAssistant, serial_ports: list[ListPortInfo]
) -> None:
    """Without any serial port the path field is shown straight away."""
    result = await start_flow(hass, "serial")

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "serial_manual"
    assert result["errors"] == {}


async def test_serial_manual_path(
    hass: HomeAssistant,
    make_pty_meter: MakePtyMeter,
    pty_meter: PtyMeter,
    serial_ports: list[ListPortInfo],
) -> None:
    """The manual choice leads to a path field; a typed PTY path adds the meter."""
    serial_ports.append(usb_port(make_pty_meter(payload=None).path))
    result = await start_flow(hass, "serial")

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: "manual"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "serial_manual"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: f"  {pty_meter.path} "}
    )
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    entry = await finish_setup(hass, result)
    assert entry.data == {CONF_SERIAL_PORT: pty_meter.path}


async def test_serial_manual_pyserial_url(
    hass: HomeAssistant, tcp_meter: TcpMeter, serial_ports: list[ListPortInfo]
) -> None:
    """A pyserial URL typed in the path field works like a port."""
    result = await start_flow(hass, "serial")

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: tcp_meter.url}
    )
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"]["target"] == tcp_meter.url
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    entry = await finish_setup(hass, result)
    assert entry.data == {CONF_SERIAL_PORT: tcp_meter.url}


async def test_network(hass: HomeAssistant, tcp_meter: TcpMeter) -> None:
    """Host and port of a dongle: probed, confirmed, set up."""
    result = await start_flow(hass, "network")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "network"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: f" {tcp_meter.host}", CONF_PORT: tcp_meter.port}
    )
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"]["target"] == f"127.0.0.1:{tcp_meter.port}"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    entry = await finish_setup(hass, result)
    assert entry.title == SPEC_TITLE
    assert entry.data == {CONF_HOST: "127.0.0.1", CONF_PORT: tcp_meter.port}
    assert isinstance(entry.data[CONF_PORT], int)


@pytest.mark.parametrize(
    ("payload", "error", "placeholders"),
    [
        (None, "no_data", {"seconds": "1"}),
        (BAD_CRC_TELEGRAM, "bad_data", {}),
        (
            DUTCH_TELEGRAM,
            "not_emucs",
            {
                "seen": "/ISK5\\2M550T-1012 without eMUCS version or equipment identifier"
            },
        ),
    ],
    ids=["no_data", "bad_data", "not_emucs"],
)
async def test_serial_errors_then_recover(
    *,
    hass: HomeAssistant,
    make_pty_meter: MakePtyMeter,
    serial_ports: list[ListPortInfo],
    payload: bytes | None,
    error: str,
    placeholders: dict[str, str],
) -> None:
    """What arrives on the port decides the error; the form can then be retried."""
    meter = make_pty_meter(payload=payload)
    result = await start_flow(hass, "serial")

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: meter.path}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "serial_manual"
    assert result["errors"] == {"base": error}
    assert result["description_placeholders"] == placeholders

    meter.payload = SPEC_TELEGRAM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: meter.path}
    )
    assert result["step_id"] == "confirm"


async def test_serial_cannot_open(
    hass: HomeAssistant, serial_ports: list[ListPortInfo]
) -> None:
    """A path that does not exist is reported on the path field, with the reason."""
    result = await start_flow(hass, "serial")

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: "/dev/serial/by-id/usb-no-such-cable"}
    )

    assert result["step_id"] == "serial_manual"
    assert result["errors"] == {CONF_SERIAL_PORT: "cannot_open"}
    assert "No such file or directory" in result["description_placeholders"]["error"]


async def test_network_cannot_open(hass: HomeAssistant, socket_enabled: None) -> None:
    """A refused connection is reported on the host field."""
    result = await start_flow(hass, "network")

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: closed_tcp_port()}
    )

    assert result["step_id"] == "network"
    assert result["errors"] == {CONF_HOST: "cannot_open"}
    assert "Connect call failed" in result["description_placeholders"]["error"]


async def test_network_unknown_error(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An exception the probe does not expect is logged and shown as unknown.

    No real link raises anything but the OS, serial and timeout errors the probe
    maps, so the unexpected one is injected where the link is opened (nothing
    touches the network).
    """

    async def broken_connect(*args: object) -> NoReturn:
        raise RuntimeError("a bug in a library")

    monkeypatch.setattr(connection, "_connect", broken_connect)
    result = await start_flow(hass, "network")

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: 23}
    )

    assert result["step_id"] == "network"
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while probing 127.0.0.1:23" in caplog.text


@pytest.mark.parametrize(
    "old_data",
    [
        {CONF_SERIAL_PORT: "/dev/serial/by-id/usb-old-cable"},
        {CONF_HOST: "192.168.1.50", CONF_PORT: 23},
    ],
    ids=["serial_to_serial", "network_to_serial"],
)
async def test_already_configured_updates_port(
    hass: HomeAssistant,
    pty_meter: PtyMeter,
    serial_ports: list[ListPortInfo],
    old_data: dict[str, Any],
) -> None:
    """Adding a meter twice aborts and points the existing entry at the new port."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=SPEC_EQUIPMENT_ID, data=old_data)
    entry.add_to_hass(hass)
    result = await start_flow(hass, "serial")

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: pty_meter.path}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == {CONF_SERIAL_PORT: pty_meter.path}


def usb_info(path: str) -> UsbServiceInfo:
    """Return what USB discovery reports for a P1 cable at ``path``."""
    return UsbServiceInfo(
        device=path,
        vid="0403",
        pid="6001",
        serial_number="A10KZP45",
        manufacturer="FTDI",
        description="P1 cable",
    )


async def test_usb_discovery(hass: HomeAssistant, make_pty_meter: MakePtyMeter) -> None:
    """A discovered cable is confirmed, probed (errors on the form) and added."""
    meter = make_pty_meter(payload=None)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USB}, data=usb_info(meter.path)
    )
    name = f"P1 cable - {meter.path}, s/n: A10KZP45 - FTDI - 0403:6001"
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "usb_confirm"
    assert result["description_placeholders"] == {"name": name}
    assert result["errors"] == {}
    flow = hass.config_entries.flow.async_get(result["flow_id"])
    assert flow["context"]["title_placeholders"] == {"name": name}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "usb_confirm"
    assert result["errors"] == {"base": "no_data"}
    assert result["description_placeholders"] == {"name": name, "seconds": "1"}

    meter.payload = SPEC_TELEGRAM
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    entry = await finish_setup(hass, result)
    assert entry.title == SPEC_TITLE
    assert entry.unique_id == SPEC_EQUIPMENT_ID
    assert entry.data == {CONF_SERIAL_PORT: meter.path}


async def test_usb_discovery_port_already_used(
    hass: HomeAssistant, pty_meter: PtyMeter
) -> None:
    """A cable an entry already reads from is not offered again."""
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=SPEC_EQUIPMENT_ID,
        data={CONF_SERIAL_PORT: pty_meter.path},
    ).add_to_hass(hass)

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USB}, data=usb_info(pty_meter.path)
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_usb_discovery_meter_moved(
    hass: HomeAssistant, pty_meter: PtyMeter
) -> None:
    """A known meter found on a new cable: its entry is pointed at the cable."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=SPEC_EQUIPMENT_ID,
        data={CONF_HOST: "p1.local", CONF_PORT: 23},
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USB}, data=usb_info(pty_meter.path)
    )

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == {CONF_SERIAL_PORT: pty_meter.path}


async def start_reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, step: str
) -> dict[str, Any]:
    """Start reconfiguring ``entry`` and pick ``step`` in the menu."""
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "reconfigure"
    assert result["menu_options"] == ["serial", "network"]
    assert result["description_placeholders"] == {"title": entry.title}
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": step}
    )


async def test_reconfigure_serial_to_network(
    hass: HomeAssistant, pty_meter: PtyMeter, tcp_meter: TcpMeter
) -> None:
    """A meter moved from a cable to a dongle: new link, no serial key left, reloaded."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=SPEC_TITLE,
        unique_id=SPEC_EQUIPMENT_ID,
        data={CONF_SERIAL_PORT: pty_meter.path},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    result = await start_reconfigure(hass, entry, "network")
    assert result["step_id"] == "network"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: tcp_meter.host, CONF_PORT: tcp_meter.port}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {CONF_HOST: "127.0.0.1", CONF_PORT: tcp_meter.port}
    assert entry.state is ConfigEntryState.LOADED
    assert str(entry.runtime_data.p1.link.target) == f"127.0.0.1:{tcp_meter.port}"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_serial_prefilled(
    hass: HomeAssistant,
    make_pty_meter: MakePtyMeter,
    serial_ports: list[ListPortInfo],
) -> None:
    """The current path is suggested; a new cable for the same meter is accepted."""
    old, new = make_pty_meter(), make_pty_meter()
    serial_ports.append(usb_port(old.path))
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=SPEC_TITLE,
        unique_id=SPEC_EQUIPMENT_ID,
        data={CONF_SERIAL_PORT: old.path},
    )
    entry.add_to_hass(hass)

    result = await start_reconfigure(hass, entry, "serial")
    assert result["step_id"] == "serial"
    key = next(iter(result["data_schema"].schema))
    assert key.description == {"suggested_value": old.path}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: "manual"}
    )
    key = next(iter(result["data_schema"].schema))
    assert key.description == {"suggested_value": old.path}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: new.path}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {CONF_SERIAL_PORT: new.path}
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_wrong_meter(
    hass: HomeAssistant, tcp_meter: TcpMeter
) -> None:
    """Another meter on the new port: abort and leave the entry alone."""
    data = {CONF_SERIAL_PORT: "/dev/serial/by-id/usb-old-cable"}
    entry = MockConfigEntry(domain=DOMAIN, unique_id=OTHER_METER, data=data)
    entry.add_to_hass(hass)

    result = await start_reconfigure(hass, entry, "network")
    assert result["step_id"] == "network"
    key = next(iter(result["data_schema"].schema))
    assert key.description is None  # no host to suggest: the entry uses a cable
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: tcp_meter.host, CONF_PORT: tcp_meter.port}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_meter"
    assert result["description_placeholders"] == {
        "expected": OTHER_METER,
        "found": SPEC_EQUIPMENT_ID,
    }
    assert entry.data == data


async def test_options_flow(hass: HomeAssistant, tcp_meter: TcpMeter) -> None:
    """Options are shown with their defaults, validated, stored and applied."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=SPEC_EQUIPMENT_ID,
        data={CONF_HOST: tcp_meter.host, CONF_PORT: tcp_meter.port},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    defaults = {
        key.schema: key.default()
        for key in result["data_schema"].schema
        if key.default is not vol.UNDEFINED
    }
    assert defaults == {
        CONF_PUBLISH_INTERVAL: 0,
        CONF_SILENCE_TIMEOUT: 10,
        CONF_S1_PUBLISH_INTERVAL: 5,
        CONF_PEAK_TARGET: 0.0,
        CONF_PEAK_RISK: 90,
        CONF_CAPACITY_RATE: 0.0,
    }

    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_PUBLISH_INTERVAL: 301, CONF_SILENCE_TIMEOUT: 10}
        )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_PUBLISH_INTERVAL: 10.0,
            CONF_SILENCE_TIMEOUT: 30,
            CONF_S1_PORT: " ",
            CONF_S1_PUBLISH_INTERVAL: 2,
            CONF_PEAK_TARGET: 4.5,
            CONF_PEAK_RISK: 85.0,
            CONF_CAPACITY_RATE: 53.25,
        },
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    changed = {
        CONF_PUBLISH_INTERVAL: 10,
        CONF_SILENCE_TIMEOUT: 30,
        CONF_S1_PUBLISH_INTERVAL: 2,
        CONF_PEAK_TARGET: 4.5,
        CONF_PEAK_RISK: 85,
        CONF_CAPACITY_RATE: 53.25,
    }
    assert entry.options == changed
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.p1.derivation.window.interval == 10
    settings = entry.runtime_data.p1.capacity.settings
    assert (settings.target_kw, settings.risk_share, settings.rate) == (
        4.5,
        0.85,
        53.25,
    )

    result = await hass.config_entries.options.async_init(entry.entry_id)
    defaults = {
        key.schema: key.default()
        for key in result["data_schema"].schema
        if key.default is not vol.UNDEFINED
    }
    assert defaults == changed
    hass.config_entries.options.async_abort(result["flow_id"])
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_port_of_a_loaded_entry_is_not_opened_again(
    hass: HomeAssistant, tcp_meter: TcpMeter
) -> None:
    """A link a loaded entry reads answers from that entry's last telegram.

    HA 2026.11 opens serial ports exclusively, so a second open would fail; here the
    meter falls silent first, so a real probe would report no data.
    """
    link = {CONF_HOST: tcp_meter.host, CONF_PORT: tcp_meter.port}
    entry = await setup_entry(hass, link)
    tcp_meter.payload = None
    result = await start_flow(hass, "network")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], link)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert await hass.config_entries.async_unload(entry.entry_id)
