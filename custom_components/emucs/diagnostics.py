"""Diagnostics: the last telegram, decoded and as sent, and the link's counters."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant

from .const import CONF_SERIAL_PORT
from .coordinator import EmucsConfigEntry
from .protocol import obis

# Identifiers that tie a dump to a household: meter and submeter serials, EANs, host.
TO_REDACT = {
    CONF_HOST,
    CONF_SERIAL_PORT,
    "unique_id",
    "title",
    "equipment_id",
    "ean",
    obis.EQUIPMENT_ID,
    obis.EAN,
    *(
        f"0-{channel}:{part}"
        for channel in range(1, 9)
        for part in (obis.MBUS_EQUIPMENT_ID, obis.MBUS_EAN)
    ),
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EmucsConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry."""
    coordinator = entry.runtime_data
    connection = coordinator.connection
    data = coordinator.data
    telegram = None if data is None else data.telegram
    return async_redact_data(
        {
            "entry": {
                "title": entry.title,
                "unique_id": entry.unique_id,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            "link": {
                "type": "serial" if connection.target.device is not None else "network",
                **connection.stats.as_dict(),
                "framer": connection.stream.stats.as_dict(),
                "recent_rejections": [
                    {"reason": r.reason.value, "detail": r.detail}
                    for r in connection.stream.framer.recent_rejections
                ],
                "total_glitches": coordinator.glitches,
            },
            "telegram": None if telegram is None else telegram.to_dict(),
            "raw_telegram": None if telegram is None else _redact_raw(telegram.raw),
        },
        TO_REDACT,
    )


def _redact_raw(raw: bytes) -> list[str]:
    """Return the telegram's lines with the values of identifying objects blanked."""
    lines = []
    for line in raw.decode("latin-1").splitlines():
        code = line.partition("(")[0].strip()
        lines.append(f"{code}(**REDACTED**)" if code in TO_REDACT else line)
    return lines
