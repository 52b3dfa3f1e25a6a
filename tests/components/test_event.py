"""Event entities: the monthly peak (P1) and the S1 voltage events, as registered."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from syrupy.assertion import SnapshotAssertion

from custom_components.emucs import integration

from .common import assert_entities_match, setup_with_s1, wait_for
from .conftest import PtyMeter, S1PtyMeter


async def test_events(
    *,
    hass: HomeAssistant,
    pty_meter: PtyMeter,
    s1_meter: S1PtyMeter,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The peak event of a meter with 1-0:1.6.0 and the voltage event of its S1 port."""
    monkeypatch.setattr(integration, "PLATFORMS", [Platform.EVENT])
    entry, _ = await setup_with_s1(hass, pty_meter, s1_meter)
    await wait_for(
        hass,
        lambda: (
            len(er.async_entries_for_config_entry(entity_registry, entry.entry_id)) == 2
        ),
        "both event entities",
    )
    assert_entities_match(hass, entity_registry, snapshot, entry.entry_id)
