"""Sensors: snapshots of every fixture telegram, then behaviour over a real link."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.emucs import integration
from custom_components.emucs.binary_sensor import BINARY_SENSORS
from custom_components.emucs.const import (
    CONF_PUBLISH_INTERVAL,
    CONF_SILENCE_TIMEOUT,
    DOMAIN,
)
from custom_components.emucs.protocol import decode_telegram, obis
from custom_components.emucs.sensor import SENSORS, SUBMETER_SENSORS
from tests.telegrams import build_telegram, load_template, template_names

from .common import (
    collect_states,
    coordinator,
    entity_id,
    find_device,
    serial_data,
    setup_entry,
    state,
    wait_for,
    wait_for_telegrams,
    with_values,
    write_to_pty,
)
from .conftest import (
    BAD_CRC_TELEGRAM,
    SPEC_EQUIPMENT_ID,
    SPEC_TELEGRAM,
    PtyMeter,
    TcpMeter,
)

type MakePtyMeter = Callable[..., PtyMeter]

SPEC = load_template("spec_e21_3phase.txt")
TEMPLATES = template_names("spec_") + template_names("quirk_")
WATER_ID = "8SAG1234567890"
GAS_ID = "7FLO2119033733"
RECEIVED = datetime(2025, 3, 12, 10, 15, tzinfo=UTC)


def meter_time(moment: datetime) -> str:
    """Return a P1 timestamp (summer time flag) for a moment in UTC+2."""
    return moment.strftime("%y%m%d%H%M%S") + "S"


async def setup_one_telegram(
    hass: HomeAssistant, meter: PtyMeter, telegram: bytes
) -> None:
    """Set up an entry for ``telegram``'s meter and send it exactly once."""
    equipment_id = decode_telegram(telegram).equipment_id or "no-identifier"
    entry = await setup_entry(
        hass, serial_data(meter), unique_id=equipment_id, wait=False
    )
    await write_to_pty(meter, telegram)
    await wait_for(hass, lambda: coordinator(entry).data is not None, "the telegram")


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("name", TEMPLATES)
async def test_sensors(
    *,
    hass: HomeAssistant,
    make_pty_meter: MakePtyMeter,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    """Every sensor of every spec and field telegram, as registered and as shown."""
    monkeypatch.setattr(integration, "PLATFORMS", [Platform.SENSOR])
    # "Last telegram" shows when Home Assistant received it. Freezing the clock
    # with freezegun would freeze the event loop that reads the port.
    monkeypatch.setattr(dt_util, "utcnow", lambda: RECEIVED)
    meter = make_pty_meter(payload=None)

    await setup_one_telegram(hass, meter, build_telegram(load_template(name)))

    entry = hass.config_entries.async_entries(DOMAIN)[0]
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_late_mbus_device(
    hass: HomeAssistant, pty_meter: PtyMeter, device_registry: dr.DeviceRegistry
) -> None:
    """A water meter that appears later gets its device and entities, no reload."""
    pty_meter.payload = build_telegram(
        "".join(
            line
            for line in SPEC.splitlines(keepends=True)
            if not line.startswith("0-2:")
        )
    )
    entry = await setup_entry(hass, serial_data(pty_meter))
    first = coordinator(entry)
    water = f"{SPEC_EQUIPMENT_ID}_{WATER_ID}"
    assert find_device(device_registry, entry, water) is None
    assert hass.states.get("sensor.water_meter_water") is None

    pty_meter.payload = SPEC_TELEGRAM
    await wait_for(
        hass,
        lambda: hass.states.get("sensor.water_meter_water") is not None,
        "the water meter's entity",
    )

    assert state(hass, f"{WATER_ID}_water").state == "872.234"
    device = find_device(device_registry, entry, water)
    assert device is not None
    assert device.model == "Water meter"
    assert coordinator(entry) is first
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("fast_backoff")
async def test_unavailable_and_recovery(
    hass: HomeAssistant, tcp_meter: TcpMeter, caplog: pytest.LogCaptureFixture
) -> None:
    """A dongle that drops the link, then goes away: unavailable, back when it is."""
    entry = await setup_entry(hass, {"host": tcp_meter.host, "port": tcp_meter.port})
    link = coordinator(entry).link
    voltage = entity_id(hass, "voltage_l1")
    gas = entity_id(hass, f"{GAS_ID}_gas")

    with collect_states(hass, {voltage, gas}) as seen:
        await tcp_meter.disconnect_clients()
        await wait_for(
            hass,
            lambda: (
                tcp_meter.connections == 2 and hass.states.get(voltage).state == "234.7"
            ),
            "the reconnect",
        )
        assert [(s.entity_id, s.state) for s in seen] == [
            (voltage, STATE_UNAVAILABLE),
            (gas, STATE_UNAVAILABLE),
            (voltage, "234.7"),
            (gas, "112.384"),
        ]

        seen.clear()
        await tcp_meter.stop()
        await wait_for(
            hass,
            lambda: (link.stats.last_error or "").startswith("cannot open"),
            "a failed reconnect",
        )
        assert hass.states.get(voltage).state == STATE_UNAVAILABLE
        assert hass.states.get(gas).state == STATE_UNAVAILABLE

        await tcp_meter.start()
        await wait_for(
            hass, lambda: hass.states.get(voltage).state == "234.7", "values back"
        )
    assert hass.states.get(gas).state == "112.384"
    assert [s.state for s in seen if s.entity_id == voltage] == [
        STATE_UNAVAILABLE,
        "234.7",
    ]
    assert caplog.text.count("Lost the meter at") == 2
    assert caplog.text.count("Telegrams from") == 2
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("fast_backoff")
async def test_silence(hass: HomeAssistant, pty_meter: PtyMeter) -> None:
    """A meter that stops talking: unavailable after the silence timeout, then back."""
    entry = await setup_entry(hass, serial_data(pty_meter), {CONF_SILENCE_TIMEOUT: 1})
    voltage = entity_id(hass, "voltage_l1")

    pty_meter.payload = None
    await wait_for(
        hass,
        lambda: hass.states.get(voltage).state == STATE_UNAVAILABLE,
        "the silence timeout",
    )
    assert coordinator(entry).link.stats.last_error == "no valid data for 1 s"

    pty_meter.payload = SPEC_TELEGRAM
    await wait_for(
        hass, lambda: hass.states.get(voltage).state == "234.7", "values back"
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_totals_never_go_back(hass: HomeAssistant, pty_meter: PtyMeter) -> None:
    """A register that reads lower than before is not published; later rises are."""

    def telegram(import_t1: str) -> bytes:
        return build_telegram(with_values(SPEC, {"1-0:1.8.1": f"({import_t1}*kWh)"}))

    pty_meter.payload = telegram("000100.000")
    entry = await setup_entry(hass, serial_data(pty_meter))
    assert state(hass, "energy_import_tariff_1").state == "100.0"

    with collect_states(hass) as seen:
        pty_meter.payload = telegram("000099.000")
        # Counted on glitches, not telegrams: one already on its way has the old value.
        await wait_for(
            hass,
            lambda: coordinator(entry).derivation.totals.glitches >= 3,
            "three lower readings",
        )
    assert state(hass, "energy_import_tariff_1").state == "100.0"
    assert state(hass, "energy_import_total").state == "115.758"
    assert not seen

    pty_meter.payload = telegram("000100.500")
    await wait_for(
        hass,
        lambda: state(hass, "energy_import_tariff_1").state == "100.5",
        "a higher reading",
    )
    assert state(hass, "energy_import_total").state == "116.258"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_gas_without_reading(hass: HomeAssistant, pty_meter: PtyMeter) -> None:
    """A gas meter with no reading yet is unknown, never 0; then its first reading."""
    template = load_template("quirk_gas_placeholder.txt")
    pty_meter.payload = build_telegram(template)
    gas_id = "7FLO2122099999"
    entry = await setup_entry(
        hass,
        serial_data(pty_meter),
        unique_id=decode_telegram(pty_meter.payload).equipment_id or "",
    )
    serial = entry.unique_id
    gas = entity_id(hass, f"{gas_id}_gas", serial=serial)

    with collect_states(hass, {gas}) as seen:
        await wait_for_telegrams(hass, entry, 2)
        assert hass.states.get(gas).state == STATE_UNKNOWN
        assert (
            state(hass, f"{gas_id}_reading_time", serial=serial).state == STATE_UNKNOWN
        )

        pty_meter.payload = build_telegram(
            with_values(template, {"0-1:24.2.3": "(250312100000W)(00001.234*m3)"})
        )
        await wait_for(
            hass, lambda: hass.states.get(gas).state == "1.234", "the first reading"
        )
    assert [s.state for s in seen] == ["1.234"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_bad_crc_not_applied(hass: HomeAssistant, pty_meter: PtyMeter) -> None:
    """Telegrams failing their CRC are counted and none of their values is used."""
    pty_meter.payload = SPEC_TELEGRAM + BAD_CRC_TELEGRAM
    entry = await setup_entry(hass, serial_data(pty_meter))
    voltage = entity_id(hass, "voltage_l1")
    rejected = entity_id(hass, "rejected_telegrams")

    with collect_states(hass, {voltage}) as seen:
        await wait_for(
            hass,
            lambda: int(hass.states.get(rejected).state) >= 3,
            "rejected telegrams counted",
        )
    assert not seen
    assert hass.states.get(voltage).state == "234.7"
    stats = coordinator(entry).link.stream.stats
    assert stats.crc_errors >= 3
    assert int(hass.states.get(rejected).state) <= stats.crc_errors
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_publish_interval_mean(
    hass: HomeAssistant, make_pty_meter: MakePtyMeter
) -> None:
    """With a 4 s interval the mean of each 4 s of meter time is published.

    Powers alternate within each window, so a sample would never equal the mean.
    The first telegram is published at once, so that there is a value from the start.
    """
    powers = [1, 2, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6, 9]
    start = datetime(2025, 3, 12, 12, 0, 0)
    meter = make_pty_meter(payload=None)
    entry = await setup_entry(
        hass, serial_data(meter), {CONF_PUBLISH_INTERVAL: 4}, wait=False
    )
    stream = b"".join(
        build_telegram(
            with_values(
                SPEC,
                {
                    "0-0:1.0.0": f"({meter_time(start + timedelta(seconds=second))})",
                    "1-0:1.7.0": f"({power:06.3f}*kW)",
                    "1-0:32.7.0": f"({230 + power:05.1f}*V)",
                },
            )
        )
        for second, power in enumerate(powers)
    )

    await write_to_pty(meter, stream[: len(stream) // len(powers)])
    await wait_for(hass, lambda: coordinator(entry).data is not None, "a telegram")
    power = entity_id(hass, "power_import")
    voltage = entity_id(hass, "voltage_l1")
    with collect_states(hass, {power, voltage}) as seen:
        await write_to_pty(meter, stream[len(stream) // len(powers) :])
        await wait_for(
            hass,
            lambda: coordinator(entry).data.telegram.number("1-0:1.7.0") == 9,
            "the last telegram",
        )

    assert [s.state for s in seen if s.entity_id == power] == ["1.5", "3.5", "5.5"]
    assert [s.state for s in seen if s.entity_id == voltage] == [
        "231.5",
        "233.5",
        "235.5",
    ]
    assert state(hass, "power_net").state == "5.5"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_breaker_states(hass: HomeAssistant, pty_meter: PtyMeter) -> None:
    """The breaker is an enum of its three states; the relays never overwrite it."""
    entry = await setup_entry(hass, serial_data(pty_meter))
    breaker = state(hass, "breaker_state")
    assert breaker.state == "connected"
    assert breaker.attributes["options"] == [
        "disconnected",
        "connected",
        "ready_for_reconnection",
    ]

    for value, expected in ((0, "disconnected"), (2, "ready_for_reconnection")):
        # Relays 1-4 (0-n:96.3.10) all read 0 or 1 and come after the breaker line.
        pty_meter.payload = build_telegram(
            with_values(
                SPEC, {"0-0:96.3.10": f"({value})", "0-1:96.3.10": f"({1 - value % 2})"}
            )
        )
        await wait_for(
            hass,
            lambda expected=expected: state(hass, "breaker_state").state == expected,
            f"breaker {expected}",
        )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_gas_flow_and_glitch(hass: HomeAssistant, pty_meter: PtyMeter) -> None:
    """Flow comes from two readings; a lower reading is held back, not published."""

    def telegram(reading: str) -> bytes:
        return build_telegram(with_values(SPEC, {"0-1:24.2.3": reading}))

    pty_meter.payload = telegram("(250303180000W)(00100.000*m3)")
    entry = await setup_entry(hass, serial_data(pty_meter))
    gas, flow = f"{GAS_ID}_gas", f"{GAS_ID}_flow_rate"
    assert state(hass, gas).state == "100.0"
    assert state(hass, flow).state == STATE_UNKNOWN

    pty_meter.payload = telegram("(250303180500W)(00100.100*m3)")
    await wait_for(hass, lambda: state(hass, gas).state == "100.1", "a new reading")
    assert state(hass, flow).state == "1.2"  # 0.1 m³ in 5 minutes

    pty_meter.payload = telegram("(250303181000W)(00100.050*m3)")
    await wait_for(
        hass,
        lambda: coordinator(entry).data.telegram.mbus[0].reading.timestamp.minute == 10,
        "the lower reading",
    )
    await wait_for_telegrams(hass, entry, 2)
    assert state(hass, gas).state == "100.1"
    assert state(hass, flow).state == "1.2"
    # The time shown belongs to the volume shown, not to the held-back reading.
    assert state(hass, f"{GAS_ID}_reading_time").state == "2025-03-03T17:05:00+00:00"
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_every_published_object_has_a_description() -> None:
    """A table row whose kind is an entity cannot be forgotten by the platforms."""
    described = {d.obis for d in SENSORS} | {d.obis for d in BINARY_SENSORS}
    described_channel = {d.obis for d in SUBMETER_SENSORS} | {
        d.obis for d in BINARY_SENSORS
    }
    missing = [
        code
        for code, spec in obis.OBJECTS.items()
        if spec.kind is not obis.Kind.INTERNAL and code not in described
    ] + [
        spec.obis
        for part, spec in obis.CHANNEL_OBJECTS.items()
        if spec.kind is not obis.Kind.INTERNAL and part not in described_channel
    ]
    assert not missing, f"no entity description for {missing}"
