"""The eMUCS integration: Belgian digital electricity meters (P1 port)."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr

from .connection import CannotOpenError
from .const import CONF_S1_PORT, DOMAIN
from .coordinator import EmucsConfigEntry, EmucsCoordinator, capacity_store
from .entity import submeter_key
from .s1_coordinator import EmucsS1Coordinator

PLATFORMS = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.IMAGE, Platform.SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: EmucsConfigEntry) -> bool:
    """Open the meter's port and start receiving telegrams."""
    coordinator = EmucsCoordinator(hass, entry)
    try:
        await coordinator.connection.async_connect()
    except CannotOpenError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_open",
            translation_placeholders={
                "target": str(coordinator.connection.target),
                "error": str(err),
            },
        ) from err
    entry.async_on_unload(coordinator.connection.close)
    entry.runtime_data = coordinator
    await coordinator.async_load_capacity()
    coordinator.async_start()
    if s1_port := entry.options.get(CONF_S1_PORT):
        # S1 is optional: a port that fails to open is retried in the background
        # (and raises a repair issue) without holding up the P1 entities.
        coordinator.s1 = EmucsS1Coordinator(hass, entry, s1_port)
        coordinator.s1.async_start()
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: EmucsConfigEntry) -> bool:
    """Stop the link (the background task is cancelled with the entry) and the platforms."""
    coordinator = entry.runtime_data
    await coordinator.async_save_capacity()
    if not await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        return False
    # Release the ports before a reload reopens them (exclusive from HA 2026.11).
    await coordinator.connection.async_close()
    if coordinator.s1 is not None:
        await coordinator.s1.link.async_close()
    return True


async def async_remove_entry(hass: HomeAssistant, entry: EmucsConfigEntry) -> None:
    """Forget the saved quarter and peak of a removed entry."""
    await capacity_store(hass, entry.entry_id).async_remove()


async def _async_entry_updated(hass: HomeAssistant, entry: EmucsConfigEntry) -> None:
    """Reload when the link (reconfigure, discovery) or the options changed."""
    coordinator = entry.runtime_data
    if entry.options != coordinator.options or entry.data != coordinator.entry_data:
        await hass.config_entries.async_reload(entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EmucsConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing a submeter the meter no longer reports; never the meter itself."""
    serial = entry.unique_id
    # runtime_data only exists while loaded; otherwise no telegram says what is present.
    data = entry.runtime_data.data if entry.state is ConfigEntryState.LOADED else None
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
