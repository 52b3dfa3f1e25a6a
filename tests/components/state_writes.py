"""State writes per hour: what the recorder would store, by group of entities.

One simulated hour of a three-phase meter with a gas and a water meter (3600 telegrams,
the meter clock one second apart) is fed through a real pseudo-terminal as fast as the
integration reads it; every ``state_changed`` event of the entry's entities is counted.
Only entities enabled by default count: those are what the recorder records.

Print the table for the README with ``python -m tests.components.state_writes``; it
runs ``test_state_writes.py`` with its output shown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
import math
import os
from pathlib import Path
import random
import subprocess
import sys

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er

from custom_components.emucs.protocol.p1_sim import format_tst
from tests.telegrams import build_telegram

from .common import collect_states

PRINT_ENV = "EMUCS_PRINT_STATE_WRITES"
"""Set by ``main``: the test then prints the table."""

TEMPLATE = """\
/FLU5\\253769484_A

0-0:96.1.4(50221)
1-0:94.32.1(400)
0-0:96.1.1(3153414733313031303231363035)
0-0:96.1.2(541449000012345678)
0-0:1.0.0({clock})
1-0:1.8.1({import_t1:010.3f}*kWh)
1-0:1.8.2(004321.987*kWh)
1-0:2.8.1(000000.000*kWh)
1-0:2.8.2(000000.000*kWh)
0-0:96.14.0(0001)
1-0:1.4.0({demand:06.3f}*kW)
1-0:1.6.0(250303181500W)(04.250*kW)
0-0:98.1.0(1)(1-0:1.6.0)(1-0:1.6.0)(250201000000W)(250213073000W)(05.005*kW)
1-0:1.7.0({power:06.3f}*kW)
1-0:2.7.0(00.000*kW)
1-0:21.7.0({p1:06.3f}*kW)
1-0:41.7.0({p2:06.3f}*kW)
1-0:61.7.0({p3:06.3f}*kW)
1-0:22.7.0(00.000*kW)
1-0:42.7.0(00.000*kW)
1-0:62.7.0(00.000*kW)
1-0:32.7.0({v1:05.1f}*V)
1-0:52.7.0({v2:05.1f}*V)
1-0:72.7.0({v3:05.1f}*V)
1-0:31.7.0({i1:06.2f}*A)
1-0:51.7.0({i2:06.2f}*A)
1-0:71.7.0({i3:06.2f}*A)
0-0:96.3.10(1)
0-0:17.0.0(99.999*kW)
1-0:31.4.0(999.99*A)
0-0:96.13.0()
0-1:24.1.0(003)
0-1:96.1.1(37464C4F32313139303333373333)
0-1:96.1.2(541449000011111111)
0-1:24.4.0(1)
0-1:24.2.3({gas_time})({gas:09.3f}*m3)
0-2:24.1.0(007)
0-2:96.1.1(3853414731323334353637383930)
0-2:96.1.2(541449000012121212)
0-2:24.2.1({water_time})({water:09.3f}*m3)
!XXXX
"""

START = datetime(2025, 3, 3, 18, 0, 0, tzinfo=timezone(timedelta(hours=1)))
"""Meter clock (winter time, UTC+1) at the first telegram: a weekday evening."""
SECONDS = 3600


def simulated_hour(seconds: int = SECONDS, seed: int = 1) -> Iterator[bytes]:
    """Yield one telegram per meter second of a household's evening.

    Each phase has a base load drifting slowly plus noise, and appliances switch on
    and off (an oven, a kettle); voltages wander around 230 V. Power, voltage and
    current therefore change every second, the import register every few seconds,
    the quarter-hour average every second; gas and water report every 5 minutes.
    """
    rng = random.Random(seed)
    base = [0.35, 0.22, 0.28]
    appliances = [0.0, 0.0, 0.0]
    volts = [231.0, 230.2, 232.1]
    import_t1, gas, water = 1234.567, 2345.678, 456.789
    quarter_energy, quarter_start = 0.0, 0
    gas_time = water_time = START - timedelta(minutes=5)
    for second in range(seconds):
        clock = START + timedelta(seconds=second)
        for phase in range(3):
            base[phase] = max(0.05, base[phase] + rng.gauss(0, 0.004))
            if rng.random() < 0.002:  # something switches on or off
                appliances[phase] = 0.0 if appliances[phase] else rng.uniform(0.4, 2.2)
            volts[phase] += rng.gauss(0, 0.15) + (230.5 - volts[phase]) * 0.01
        phases = [
            round(base[p] + appliances[p] + abs(rng.gauss(0, 0.01)), 3)
            for p in range(3)
        ]
        power = round(sum(phases), 3)
        import_t1 += power / 3600
        if second - quarter_start >= 900:
            quarter_energy, quarter_start = 0.0, second
        quarter_energy += power
        if clock.minute % 5 == 0 and clock.second == 0:
            gas_time = water_time = clock
            gas += rng.uniform(0.05, 0.25)  # heating on
            water += rng.choice((0.0, 0.0, 0.012, 0.08))
        yield build_telegram(
            TEMPLATE.format(
                clock=format_tst(clock),
                import_t1=import_t1,
                demand=quarter_energy / (second - quarter_start + 1),
                power=power,
                p1=phases[0],
                p2=phases[1],
                p3=phases[2],
                v1=volts[0],
                v2=volts[1],
                v3=volts[2],
                i1=math.floor(phases[0] * 1000 / volts[0] * 100) / 100,
                i2=math.floor(phases[1] * 1000 / volts[1] * 100) / 100,
                i3=math.floor(phases[2] * 1000 / volts[2] * 100) / 100,
                gas_time=format_tst(gas_time),
                gas=gas,
                water_time=format_tst(water_time),
                water=water,
            )
        )


async def count_state_writes(
    hass: HomeAssistant, feed: Callable[[], Awaitable[None]]
) -> Counter[str]:
    """Count ``state_changed`` events per entity ID while ``feed`` runs."""
    with collect_states(hass) as seen:
        await feed()
    return Counter(state.entity_id for state in seen)


GROUPS = (
    "Power, voltage, current",
    "Energy registers",
    "Gas and water",
    "Other",
)


FAST_KEYS = ("power_", "voltage_", "current_", "average_demand")
"""Keys of the values the publish interval averages (``coordinator.FAST``)."""


def entity_groups(hass: HomeAssistant, entry_id: str) -> dict[str, str]:
    """Return {entity ID: group} for the entry's entities that are enabled."""
    entities = er.async_get(hass)
    devices = dr.async_get(hass)
    groups = {}
    for entity in er.async_entries_for_config_entry(entities, entry_id):
        if entity.disabled_by is not None:
            continue
        device = devices.async_get(entity.device_id) if entity.device_id else None
        key = entity.unique_id.partition("_")[2]  # after the meter's serial
        if device is not None and device.via_device_id is not None:
            group = GROUPS[2]
        elif key.startswith("energy_"):
            group = GROUPS[1]
        elif key.startswith(FAST_KEYS):
            group = GROUPS[0]
        else:
            group = GROUPS[3]
        groups[entity.entity_id] = group
    return groups


def writes_table(groups: Mapping[str, str], runs: Mapping[str, Counter[str]]) -> str:
    """Return a Markdown table of writes per hour by group, one column per run."""
    header = "| Entities | Count | " + " | ".join(runs) + " |"
    lines = [header, "|---|---:|" + "---:|" * len(runs)]
    for group in GROUPS:
        members = [entity for entity, g in groups.items() if g == group]
        cells = [f"{sum(run[e] for e in members):,}" for run in runs.values()]
        lines.append(f"| {group} | {len(members)} | " + " | ".join(cells) + " |")
    totals = [f"**{sum(run[e] for e in groups):,}**" for run in runs.values()]
    lines.append(f"| **Total** | {len(groups)} | " + " | ".join(totals) + " |")
    return "\n".join(lines)


def main() -> int:
    """Run the measurement test in a fresh interpreter and show the table."""
    test = Path(__file__).with_name("test_state_writes.py")
    command = [sys.executable, "-m", "pytest", str(test), "-q", "-s"]
    command += ["-p", "no:cacheprovider", "-p", "no:sugar", "-o", "log_cli=false"]
    return subprocess.call(command, env=os.environ | {PRINT_ENV: "1"})  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
