"""Binary sensors: the virtual relays of eMUCS E.2.x meters."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.emucs import integration
from custom_components.emucs.protocol import decode_telegram
from tests.telegrams import build_telegram, load_template, template_names

from .common import (
    coordinator,
    serial_data,
    setup_entry,
    state,
    wait_for,
    with_values,
    write_to_pty,
)
from .conftest import PtyMeter

WITH_RELAYS = [
    name
    for name in template_names("spec_") + template_names("quirk_")
    if decode_telegram(build_telegram(load_template(name))).relays
]


@pytest.mark.parametrize("name", WITH_RELAYS)
async def test_binary_sensors(
    *,
    hass: HomeAssistant,
    make_pty_meter: Callable[..., PtyMeter],
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    """The relays of every telegram that has them, as registered and as shown."""
    monkeypatch.setattr(integration, "PLATFORMS", [Platform.BINARY_SENSOR])
    telegram = build_telegram(load_template(name))
    meter = make_pty_meter(payload=None)
    entry = await setup_entry(
        hass,
        serial_data(meter),
        unique_id=decode_telegram(telegram).equipment_id or "",
        wait=False,
    )
    await write_to_pty(meter, telegram)
    await wait_for(hass, lambda: coordinator(entry).data is not None, "the telegram")

    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_no_relays(
    hass: HomeAssistant, make_pty_meter: Callable[..., PtyMeter]
) -> None:
    """A meter without virtual relays (eMUCS 1.7) has no binary sensors."""
    telegram = build_telegram(load_template("spec_171_3phase.txt"))
    meter = make_pty_meter(payload=telegram)
    entry = await setup_entry(hass, serial_data(meter))

    assert not hass.states.async_entity_ids("binary_sensor")
    assert hass.states.async_entity_ids("sensor")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_relays_follow_the_meter(
    hass: HomeAssistant, pty_meter: PtyMeter
) -> None:
    """Relays switch with the telegrams and go unavailable with the link."""
    template = load_template("quirk_relays_e21.txt")
    pty_meter.payload = build_telegram(template)
    serial = decode_telegram(pty_meter.payload).equipment_id
    entry = await setup_entry(hass, serial_data(pty_meter), unique_id=serial or "")

    def relays() -> list[str]:
        return [
            state(hass, f"virtual_relay_{n}", "binary_sensor", serial).state
            for n in range(1, 5)
        ]

    assert relays() == [STATE_ON, STATE_OFF, STATE_ON, STATE_ON]
    assert state(hass, "breaker_state", serial=serial).state == "disconnected"

    pty_meter.payload = build_telegram(
        with_values(template, {"0-1:96.3.10": "(0)", "0-2:96.3.10": "(1)"})
    )
    await wait_for(
        hass,
        lambda: relays() == [STATE_OFF, STATE_ON, STATE_ON, STATE_ON],
        "relays 1 and 2 to switch",
    )
    assert state(hass, "breaker_state", serial=serial).state == "disconnected"

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert relays() == [STATE_UNAVAILABLE] * 4
