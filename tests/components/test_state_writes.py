"""Recorder load: state writes during one simulated hour, every second vs averaged.

See ``state_writes.py``; ``python -m tests.components.state_writes`` prints the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
import os

from homeassistant.core import HomeAssistant

from custom_components.emucs.const import CONF_PUBLISH_INTERVAL

from .common import (
    coordinator,
    serial_data,
    setup_entry,
    telegrams,
    wait_for,
    write_to_pty,
)
from .conftest import PtyMeter
from .state_writes import (
    GROUPS,
    PRINT_ENV,
    SECONDS,
    count_state_writes,
    entity_groups,
    simulated_hour,
    writes_table,
)

FEED_TIMEOUT = 300.0
"""Seconds the hour may take to go through the pseudo-terminal (a few, usually)."""


async def one_hour(
    hass: HomeAssistant, meter: PtyMeter, publish_interval: int
) -> tuple[dict[str, str], Counter[str]]:
    """Set up an entry, feed it the hour, return its groups and writes per entity."""
    hour = list(simulated_hour())
    entry = await setup_entry(
        hass,
        serial_data(meter),
        {CONF_PUBLISH_INTERVAL: publish_interval},
        wait=False,
    )
    # The first telegram creates the entities; its "added" states do not count.
    await write_to_pty(meter, hour[0])
    await wait_for(hass, lambda: coordinator(entry).data is not None, "a telegram")
    handled = telegrams(entry) + len(hour) - 1

    async def feed() -> None:
        await write_to_pty(meter, b"".join(hour[1:]))
        await wait_for(
            hass, lambda: telegrams(entry) >= handled, "the hour", FEED_TIMEOUT
        )

    writes = await count_state_writes(hass, feed)
    groups = entity_groups(hass, entry.entry_id)
    assert set(writes) <= set(groups)
    assert coordinator(entry).link.stream.stats.crc_errors == 0
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.config_entries.async_remove(entry.entry_id)
    return groups, writes


def by_group(groups: dict[str, str], writes: Counter[str]) -> dict[str, int]:
    """Sum writes per group."""
    result = dict.fromkeys(GROUPS, 0)
    for entity, group in groups.items():
        result[group] += writes[entity]
    return result


async def test_state_writes_per_hour(
    hass: HomeAssistant, make_pty_meter: Callable[..., PtyMeter]
) -> None:
    """Averaging over 10 s cuts the writes of fast values about tenfold; totals unchanged."""
    meter = make_pty_meter(payload=None)
    groups, every_second = await one_hour(hass, meter, 0)
    groups_10, averaged = await one_hour(hass, meter, 10)
    assert groups_10 == groups
    default, ten = by_group(groups, every_second), by_group(groups, averaged)

    fast = [entity for entity, group in groups.items() if group == GROUPS[0]]
    assert len(fast) == 10  # import, export, net, 3 voltages, 3 currents, demand
    # Nearly every fast value changes every second by default...
    assert default[GROUPS[0]] > 0.5 * SECONDS * len(fast)
    # ...and at most once per 10 s window when averaged.
    assert ten[GROUPS[0]] <= default[GROUPS[0]] / 8
    assert max(averaged[entity] for entity in fast) <= SECONDS // 10
    # Registers and submeters publish on change either way.
    assert ten[GROUPS[1]] == default[GROUPS[1]] > 0
    assert ten[GROUPS[2]] == default[GROUPS[2]] > 0
    assert default[GROUPS[2]] <= 7 * SECONDS // 300

    if os.environ.get("EMUCS_PRINT_STATE_WRITES"):
        print()  # noqa: T201
        print(  # noqa: T201
            writes_table(
                groups,
                {
                    "Every telegram (0 s)": every_second,
                    "Publish interval 10 s": averaged,
                },
            )
        )
    assert PRINT_ENV == "EMUCS_PRINT_STATE_WRITES"
