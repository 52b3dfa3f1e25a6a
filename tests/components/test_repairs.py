"""Repair issues: a silent port, a replaced meter, damaged telegrams; raised and cleared.

The health check runs every minute: the tests fire that minute with
``async_fire_time_changed`` and lower the thresholds (module constants) so that a few
real seconds of a real link are enough.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.emucs import coordinator as coordinator_module
from custom_components.emucs.const import (
    CONF_SILENCE_TIMEOUT,
    DOMAIN,
    ISSUE_CRC_ERRORS,
    ISSUE_METER_REPLACED,
    ISSUE_PORT_SILENT,
)
from tests.telegrams import build_telegram, load_template

from .common import (
    coordinator,
    serial_data,
    setup_entry,
    state,
    wait_for,
    wait_for_telegrams,
    with_equipment_id,
    with_values,
)
from .conftest import BAD_CRC_TELEGRAM, SPEC_EQUIPMENT_ID, SPEC_TELEGRAM, PtyMeter

NEW_METER = "1SAG4000000001"


async def health_check(hass: HomeAssistant) -> None:
    """Run the minute-interval health check now."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await hass.async_block_till_done()


def issue(
    issue_registry: ir.IssueRegistry, kind: str, entry_id: str
) -> ir.IssueEntry | None:
    """Return the entry's issue of ``kind``, if raised."""
    return issue_registry.async_get_issue(DOMAIN, f"{kind}_{entry_id}")


@pytest.mark.usefixtures("fast_backoff")
async def test_port_silent(
    hass: HomeAssistant,
    make_pty_meter: Callable[..., PtyMeter],
    issue_registry: ir.IssueRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A port that opens but stays silent, across reconnects; cleared by a telegram."""
    monkeypatch.setattr(coordinator_module, "SILENT_REPAIR_AFTER", 2.0)
    meter = make_pty_meter(payload=None)
    entry = await setup_entry(
        hass, serial_data(meter), {CONF_SILENCE_TIMEOUT: 1}, wait=False
    )
    link = coordinator(entry).link

    await health_check(hass)
    assert issue(issue_registry, ISSUE_PORT_SILENT, entry.entry_id) is None

    # Each silence timeout (1 s) closes and reopens the link: three take over 2 s.
    await wait_for(hass, lambda: link.stats.disconnects >= 3, "three silent links")
    await health_check(hass)
    silent = issue(issue_registry, ISSUE_PORT_SILENT, entry.entry_id)
    assert silent is not None
    assert silent.severity is ir.IssueSeverity.ERROR
    assert silent.translation_key == ISSUE_PORT_SILENT
    assert silent.translation_placeholders == {"target": meter.path}

    meter.payload = SPEC_TELEGRAM
    await wait_for(hass, lambda: coordinator(entry).data is not None, "a telegram")
    assert issue(issue_registry, ISSUE_PORT_SILENT, entry.entry_id) is None
    await health_check(hass)
    assert issue(issue_registry, ISSUE_PORT_SILENT, entry.entry_id) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_port_silent_not_raised_while_talking(
    hass: HomeAssistant,
    pty_meter: PtyMeter,
    issue_registry: ir.IssueRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A meter that talks raises nothing, however long the link has been open."""
    monkeypatch.setattr(coordinator_module, "SILENT_REPAIR_AFTER", 1.0)
    entry = await setup_entry(hass, serial_data(pty_meter))
    await wait_for_telegrams(hass, entry, 8)  # 0.2 s apart: the link is open > 1 s

    await health_check(hass)

    assert issue(issue_registry, ISSUE_PORT_SILENT, entry.entry_id) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_meter_replaced(
    hass: HomeAssistant, pty_meter: PtyMeter, issue_registry: ir.IssueRegistry
) -> None:
    """Another meter on the port: an issue, totals restart; cleared when it is back."""
    entry = await setup_entry(hass, serial_data(pty_meter))
    assert state(hass, "energy_import_tariff_2").state == "15.758"
    template = with_values(
        with_equipment_id(load_template("spec_e21_3phase.txt"), NEW_METER),
        {"1-0:1.8.2": "(000001.000*kWh)"},
    )

    pty_meter.payload = build_telegram(template)
    await wait_for(
        hass,
        lambda: coordinator(entry).equipment_id == NEW_METER,
        "the new meter's telegram",
    )

    replaced = issue(issue_registry, ISSUE_METER_REPLACED, entry.entry_id)
    assert replaced is not None
    assert replaced.translation_placeholders == {
        "old": SPEC_EQUIPMENT_ID,
        "new": NEW_METER,
    }
    # The new meter's lower register is its reading, not a glitch to hold back.
    assert state(hass, "energy_import_tariff_2").state == "1.0"
    assert coordinator(entry).derivation.totals.glitches == 0

    pty_meter.payload = SPEC_TELEGRAM
    await wait_for(
        hass,
        lambda: coordinator(entry).equipment_id == SPEC_EQUIPMENT_ID,
        "the configured meter's telegram",
    )
    assert issue(issue_registry, ISSUE_METER_REPLACED, entry.entry_id) is None
    assert state(hass, "energy_import_tariff_2").state == "15.758"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_crc_errors(
    hass: HomeAssistant,
    make_pty_meter: Callable[..., PtyMeter],
    issue_registry: ir.IssueRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sustained damaged telegrams raise an issue; a clean cable clears it."""
    monkeypatch.setattr(coordinator_module, "CRC_WINDOW", 2)
    meter = make_pty_meter(
        payload=SPEC_TELEGRAM + BAD_CRC_TELEGRAM + BAD_CRC_TELEGRAM, interval=0.05
    )
    entry = await setup_entry(hass, serial_data(meter))
    framer = coordinator(entry).link.stream.stats

    async def minute_with(bad: int, good: int) -> None:
        """Let at least ``bad`` damaged and ``good`` valid telegrams arrive, then check."""
        bad_target, good_target = framer.crc_errors + bad, framer.telegrams + good
        await wait_for(
            hass,
            lambda: framer.crc_errors >= bad_target and framer.telegrams >= good_target,
            "telegrams",
        )
        await health_check(hass)

    for _ in range(2):  # the window needs CRC_WINDOW + 1 checks
        await minute_with(bad=12, good=0)
        assert issue(issue_registry, ISSUE_CRC_ERRORS, entry.entry_id) is None
    await minute_with(bad=12, good=0)
    damaged = issue(issue_registry, ISSUE_CRC_ERRORS, entry.entry_id)
    assert damaged is not None
    assert damaged.severity is ir.IssueSeverity.WARNING
    placeholders = damaged.translation_placeholders or {}
    assert int(placeholders["bad"]) > 0.5 * int(placeholders["total"])

    meter.payload = SPEC_TELEGRAM
    await minute_with(bad=0, good=1)  # this minute still has damaged telegrams
    # A damaged telegram or two may still be on their way: many good ones outweigh them.
    await minute_with(bad=0, good=40)
    await minute_with(bad=0, good=40)
    assert issue(issue_registry, ISSUE_CRC_ERRORS, entry.entry_id) is None
    assert await hass.config_entries.async_unload(entry.entry_id)
