"""Diagnostics: the last telegram, decoded and as sent, the link's counters, capacity."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant

from .const import CONF_S1_PORT, CONF_SERIAL_PORT
from .coordinator import EmucsConfigEntry
from .protocol import obis
from .s1_coordinator import EmucsS1Coordinator

# Identifiers that tie a dump to a household: meter and submeter serials, EANs, host.
TO_REDACT = {
    CONF_HOST,
    CONF_SERIAL_PORT,
    CONF_S1_PORT,
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
    coordinator = entry.runtime_data.p1
    connection = coordinator.link
    data = coordinator.data
    telegram = None if data is None else data.telegram
    # Error messages name the port or host ("cannot open /dev/serial/by-id/…: …").
    where = [
        str(value)
        for value in (
            entry.data.get(CONF_SERIAL_PORT),
            entry.data.get(CONF_HOST),
            entry.options.get(CONF_S1_PORT),
        )
        if value
    ]
    diagnostics = async_redact_data(
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
                "total_glitches": coordinator.derivation.totals.glitches,
            },
            "capacity": {
                **coordinator.capacity.as_dict(),
                "settings": asdict(coordinator.capacity.settings),
            },
            "s1": _s1_diagnostics(entry.runtime_data.s1),
            "telegram": None if telegram is None else telegram.to_dict(),
            "raw_telegram": None if telegram is None else _redact_raw(telegram.raw),
        },
        TO_REDACT,
    )
    result: dict[str, Any] = _redact_text(diagnostics, where)
    return result


def _redact_text(value: Any, secrets: list[str]) -> Any:
    """Replace every occurrence of ``secrets`` inside the strings of ``value``."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {key: _redact_text(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_text(item, secrets) for item in value]
    return value


def _s1_diagnostics(s1: EmucsS1Coordinator | None) -> dict[str, Any] | None:
    """Return the S1 link's health and last values, ``None`` when S1 is not set up."""
    if s1 is None:
        return None
    data = s1.data
    values = None if data is None else data.values
    return {
        "link": s1.link.stats.as_dict(),
        "counters": asdict(s1.counters),
        "decoder": s1.pipeline.decoder.stats.as_dict(),
        "feed": {
            "dropped_batches": s1.feed.dropped_batches,
            "dropped_bytes": s1.feed.dropped_bytes,
        },
        "frames_per_second": None if data is None else data.frames_per_second,
        "values": None
        if values is None
        else {
            "windows": values.windows,
            "polyphase": values.polyphase,
            "four_wire": values.four_wire,
            "sampling": values.sampling,
            "sample_rate_hz": values.sample_rate_hz,
            "frequency_hz": values.frequency_hz,
            "phases": {name: asdict(p) for name, p in values.phases.items()},
            "total": None if values.total is None else asdict(values.total),
            "neutral_current_rms": values.neutral_current_rms,
        },
    }


def _redact_raw(raw: bytes) -> list[str]:
    """Return the telegram's lines with the values of identifying objects blanked."""
    lines = []
    for line in raw.decode("latin-1").splitlines():
        code = line.partition("(")[0].strip()
        lines.append(f"{code}(**REDACTED**)" if code in TO_REDACT else line)
    return lines
