"""Diagnostics: what a user attaches to an issue, with identifiers redacted."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from .common import coordinator, serial_data, setup_entry, wait_for, write_to_pty
from .conftest import (
    BAD_CRC_TELEGRAM,
    SPEC_EQUIPMENT_ID,
    SPEC_TELEGRAM,
    PtyMeter,
    TcpMeter,
)

IDENTIFIERS = (
    SPEC_EQUIPMENT_ID,
    SPEC_EQUIPMENT_ID.encode().hex().upper(),
    "7FLO2119033733",
    "8SAG1234567890",
    "541440012345678900",
    "541440012345678903",
)
"""Meter and submeter serials (also as sent, hex-encoded) and EANs of the spec telegram."""


def assert_no_identifiers(diagnostics: object, *extra: str) -> None:
    """Fail if any identifier, or any of ``extra``, occurs anywhere in the dump."""
    dump = json.dumps(diagnostics)
    for identifier in (*IDENTIFIERS, *extra):
        assert identifier not in dump


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    make_pty_meter: type[PtyMeter],
    snapshot: SnapshotAssertion,
) -> None:
    """Entry, link counters, a rejected telegram and the last telegram, redacted."""
    meter = make_pty_meter(payload=None)
    entry = await setup_entry(hass, serial_data(meter), wait=False)
    await write_to_pty(meter, BAD_CRC_TELEGRAM + SPEC_TELEGRAM)
    await wait_for(hass, lambda: coordinator(entry).data is not None, "the telegram")

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert diagnostics == snapshot(exclude=props("seconds_since_last_telegram"))
    assert_no_identifiers(diagnostics, meter.path)
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("fast_backoff")
async def test_diagnostics_port_in_errors(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    tcp_meter: TcpMeter,
    make_pty_meter: type[PtyMeter],
) -> None:
    """Error messages name the port or host: they are redacted too."""
    serial_meter = make_pty_meter()
    serial_entry = await setup_entry(hass, serial_data(serial_meter))
    network_entry = await setup_entry(
        hass,
        {"host": tcp_meter.host, "port": tcp_meter.port},
        unique_id="1SAG9999999999",
    )
    await serial_meter.stop()  # the pseudo-terminal disappears
    await tcp_meter.stop()
    for entry in (serial_entry, network_entry):
        link = coordinator(entry).link
        await wait_for(
            hass,
            lambda link=link: (link.stats.last_error or "").startswith("cannot open"),
            "a failed reconnect",
        )

    serial = await get_diagnostics_for_config_entry(hass, hass_client, serial_entry)
    network = await get_diagnostics_for_config_entry(hass, hass_client, network_entry)

    assert serial["link"]["last_error"].startswith("cannot open **REDACTED**")
    assert_no_identifiers(serial, serial_meter.path)
    assert network["link"]["last_error"].startswith("cannot open **REDACTED**")
    assert_no_identifiers(network, tcp_meter.host)
    for entry in (serial_entry, network_entry):
        assert await hass.config_entries.async_unload(entry.entry_id)
