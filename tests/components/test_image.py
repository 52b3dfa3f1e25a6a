"""Image entity: the S1 waveform, as registered."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from syrupy.assertion import SnapshotAssertion

from custom_components.emucs import integration

from .common import assert_entities_match, setup_with_s1
from .conftest import PtyMeter, S1PtyMeter


async def test_image(
    *,
    hass: HomeAssistant,
    pty_meter: PtyMeter,
    s1_meter: S1PtyMeter,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The waveform image appears with the first S1 values."""
    monkeypatch.setattr(integration, "PLATFORMS", [Platform.IMAGE])
    entry, _ = await setup_with_s1(hass, pty_meter, s1_meter)
    await hass.async_block_till_done()
    assert_entities_match(hass, entity_registry, snapshot, entry.entry_id)
