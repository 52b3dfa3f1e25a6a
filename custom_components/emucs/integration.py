"""Home Assistant's entry points of the integration: set up, unload, remove.

The package's ``__init__`` hands these to Home Assistant on first use, so that the
protocol core and the command line import without Home Assistant.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr

from .config_flow import target_from_data
from .connection import CannotOpenError, LinkTarget, MeterLink, P1Connection
from .const import CONF_S1_PORT, CONF_SILENCE_TIMEOUT, DEFAULT_SILENCE_TIMEOUT, DOMAIN
from .coordinator import (
    EmucsConfigEntry,
    EmucsCoordinator,
    EmucsRuntimeData,
    capacity_store,
)
from .protocol.meter import submeter_key
from .protocol.s1 import S1_BAUDRATE
from .s1_coordinator import EmucsS1Coordinator

PLATFORMS = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.IMAGE, Platform.SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: EmucsConfigEntry) -> bool:
    """Open the meter's port and start receiving telegrams."""
    silence_timeout = entry.options.get(CONF_SILENCE_TIMEOUT, DEFAULT_SILENCE_TIMEOUT)
    link = P1Connection(target_from_data(entry.data), silence_timeout=silence_timeout)
    try:
        await link.async_connect()
    except CannotOpenError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_open",
            translation_placeholders={"target": str(link.target), "error": str(err)},
        ) from err
    entry.async_on_unload(link.close)
    p1 = EmucsCoordinator(hass, entry, link)
    s1 = None
    if s1_port := entry.options.get(CONF_S1_PORT):
        # S1 is optional: a port that fails to open is retried in the background
        # (and raises a repair issue) without holding up the P1 entities.
        s1_link = MeterLink(
            LinkTarget.from_url(s1_port),
            silence_timeout=silence_timeout,
            baudrate=S1_BAUDRATE,
        )
        entry.async_on_unload(s1_link.close)
        s1 = EmucsS1Coordinator(hass, entry, s1_link)
    entry.runtime_data = EmucsRuntimeData(p1=p1, s1=s1)
    await p1.async_load_capacity()
    p1.async_start()
    if s1 is not None:
        s1.async_start()
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: EmucsConfigEntry) -> bool:
    """Stop the links (the background tasks are cancelled with the entry)."""
    runtime = entry.runtime_data
    await runtime.p1.async_save_capacity()
    if not await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        return False
    # Release the ports before a reload reopens them (exclusive from HA 2026.11).
    await runtime.p1.link.async_close()
    if runtime.s1 is not None:
        await runtime.s1.link.async_close()
    return True


async def async_remove_entry(hass: HomeAssistant, entry: EmucsConfigEntry) -> None:
    """Forget the saved quarter and peak of a removed entry."""
    await capacity_store(hass, entry.entry_id).async_remove()


async def _async_entry_updated(hass: HomeAssistant, entry: EmucsConfigEntry) -> None:
    """Reload when the link (reconfigure, discovery) or the options changed."""
    p1 = entry.runtime_data.p1
    if entry.options != p1.options or entry.data != p1.entry_data:
        await hass.config_entries.async_reload(entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EmucsConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing a submeter the meter no longer reports; never the meter itself."""
    serial = entry.unique_id
    # runtime_data only exists while loaded; otherwise no telegram says what is present.
    data = (
        entry.runtime_data.p1.data if entry.state is ConfigEntryState.LOADED else None
    )
    current = (
        set()
        if data is None
        else {f"{serial}_{submeter_key(d)}" for d in data.telegram.mbus}
    )
    return not any(
        identifier[0] == DOMAIN
        and (identifier[1] == serial or identifier[1] in current)
        for identifier in device.identifiers
    )
