"""Helpers for the integration tests: set up an entry, wait for telegrams, find states.

Waiting is done on conditions (a telegram count, a state), never on durations: the
timeout of ``wait_for`` only turns a hang into a failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
import contextlib
import os
import re
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.emucs.const import (
    CONF_S1_PORT,
    CONF_S1_PUBLISH_INTERVAL,
    CONF_SERIAL_PORT,
    DOMAIN,
)
from custom_components.emucs.coordinator import EmucsCoordinator
from custom_components.emucs.s1_coordinator import EmucsS1Coordinator

from .conftest import SPEC_EQUIPMENT_ID, SPEC_TITLE, PtyMeter, S1PtyMeter

WAIT_TIMEOUT = 20.0
"""Seconds after which a condition that never came true fails the test."""


async def wait_for(
    hass: HomeAssistant,
    condition: Callable[[], object],
    what: str,
    timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109 - a guard against hangs, not a cancel scope
) -> None:
    """Let the event loop run until ``condition()`` is true."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():  # noqa: ASYNC110 - conditions on state we do not own
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
    await hass.async_block_till_done()


def coordinator(entry: MockConfigEntry) -> EmucsCoordinator:
    """Return the coordinator of a loaded entry."""
    result: EmucsCoordinator = entry.runtime_data.p1
    return result


def find_device(
    registry: dr.DeviceRegistry, entry: MockConfigEntry, identifier: str
) -> dr.DeviceEntry | None:
    """Return the entry's device with our identifier, through the lookup each HA has.

    ``async_get_device`` is deprecated from HA 2026.8 (and raises outside an
    integration); its replacement, scoped to a config entry, does not exist in 2025.4.
    """
    if hasattr(registry, "async_get_device_by_identifier"):
        return registry.async_get_device_by_identifier(
            (DOMAIN, identifier), entry.entry_id
        )
    return registry.async_get_device(identifiers={(DOMAIN, identifier)})


def telegrams(entry: MockConfigEntry) -> int:
    """Return how many valid telegrams the entry's link has decoded."""
    return coordinator(entry).link.stream.stats.telegrams


async def wait_for_telegrams(
    hass: HomeAssistant, entry: MockConfigEntry, count: int = 1
) -> None:
    """Wait until ``count`` more telegrams than now have been handled."""
    target = telegrams(entry) + count
    await wait_for(hass, lambda: telegrams(entry) >= target, f"{count} telegram(s)")


def serial_data(meter: PtyMeter) -> dict[str, Any]:
    """Return config entry data for a meter on a pseudo-terminal."""
    return {CONF_SERIAL_PORT: meter.path}


async def setup_entry(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    options: Mapping[str, Any] | None = None,
    *,
    unique_id: str = SPEC_EQUIPMENT_ID,
    wait: bool = True,
) -> MockConfigEntry:
    """Add and set up an entry; with ``wait``, also wait for its first telegram."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=SPEC_TITLE,
        unique_id=unique_id,
        data=dict(data),
        options=dict(options or {}),
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    if wait:
        await wait_for(
            hass, lambda: coordinator(entry).data is not None, "the first telegram"
        )
    return entry


def entity_id(
    hass: HomeAssistant, key: str, platform: str = "sensor", serial: str | None = None
) -> str:
    """Return the entity ID of the entity with unique ID ``<serial>_<key>``."""
    registry = er.async_get(hass)
    result = registry.async_get_entity_id(
        platform, DOMAIN, f"{serial or SPEC_EQUIPMENT_ID}_{key}"
    )
    assert result is not None, f"no {platform} entity for {key}"
    return result


def state(
    hass: HomeAssistant, key: str, platform: str = "sensor", serial: str | None = None
) -> State:
    """Return the state of the entity with unique ID ``<serial>_<key>``."""
    result = hass.states.get(entity_id(hass, key, platform, serial))
    assert result is not None, f"no state for {key}"
    return result


def with_values(template: str, values: Mapping[str, str]) -> str:
    """Replace the value group of whole OBIS lines in a telegram template.

    ``values`` maps a reduced OBIS code to everything after it on its line, e.g.
    ``{"1-0:1.8.1": "(000123.456*kWh)"}``. Every code must occur in the template.
    """
    for code, rest in values.items():
        pattern = re.compile(rf"^{re.escape(code)} *\(.*$", re.MULTILINE)
        template, count = pattern.subn(lambda _m, c=code, r=rest: c + r, template)
        assert count == 1, f"{code} not in the template"
    return template


def with_equipment_id(template: str, equipment_id: str) -> str:
    """Return the template with another meter identifier (0-0:96.1.1, hex ASCII)."""
    return with_values(template, {"0-0:96.1.1": f"({equipment_id.encode().hex()})"})


async def write_to_pty(meter: PtyMeter, data: bytes) -> None:
    """Write ``data`` into the meter's pseudo-terminal as fast as it is read.

    The meter's own loop should be idle (``payload = None``). A full buffer makes
    the write wait until the integration has read from the port.
    """
    loop = asyncio.get_running_loop()
    fd = meter._master
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view[:4096]) :]
        except BlockingIOError:
            writable = loop.create_future()
            loop.add_writer(fd, writable.set_result, None)
            try:
                await writable
            finally:
                loop.remove_writer(fd)
        else:
            await asyncio.sleep(0)  # let the reader keep up


@contextlib.contextmanager
def collect_states(
    hass: HomeAssistant, entity_ids: set[str] | None = None
) -> Iterator[list[State]]:
    """Collect the new states of ``state_changed`` events (all entities if None)."""
    seen: list[State] = []

    @callback
    def _listener(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is not None and (entity_ids is None or new.entity_id in entity_ids):
            seen.append(new)

    remove = hass.bus.async_listen(EVENT_STATE_CHANGED, _listener)
    try:
        yield seen
    finally:
        remove()


async def setup_with_s1(
    hass: HomeAssistant,
    pty_meter: PtyMeter,
    s1_meter: S1PtyMeter,
    options: dict[str, Any] | None = None,
) -> tuple[MockConfigEntry, EmucsS1Coordinator]:
    """Set up P1 and S1 (values every second); wait for the first S1 values."""
    entry = await setup_entry(
        hass,
        serial_data(pty_meter),
        {CONF_S1_PORT: s1_meter.path, CONF_S1_PUBLISH_INTERVAL: 1, **(options or {})},
    )
    s1 = entry.runtime_data.s1
    assert s1 is not None
    await wait_for(hass, lambda: s1.data is not None, "S1 values")
    return entry, s1


VOLATILE_ATTRIBUTES = frozenset(
    {
        "access_token",
        "entity_picture",
        "event_type",
        # the data of the voltage event
        "phase",
        "start",
        "duration",
        "depth",
        "extreme_voltage",
    }
)


def assert_entities_match(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    entry_id: str,
) -> None:
    """Like ``snapshot_platform``, for entities whose state is a moment.

    The registry entries are compared whole; of each state only its attributes,
    without the image's access token (random), the state (when it happened) and
    what the last event said (an S1 dip may come before or after the comparison).
    """
    entries = er.async_entries_for_config_entry(entity_registry, entry_id)
    assert entries, "no entities"
    for entry in entries:
        assert entry == snapshot(name=f"{entry.entity_id}-entry")
        current = hass.states.get(entry.entity_id)
        assert current is not None, entry.entity_id
        attributes = {
            key: value
            for key, value in current.attributes.items()
            if key not in VOLATILE_ATTRIBUTES
        }
        assert attributes == snapshot(name=f"{entry.entity_id}-attributes")
