"""P1 output: a readable table per telegram, or the JSON line of the contract."""

from __future__ import annotations

from datetime import datetime

from custom_components.emucs.protocol.obis import ValueType
from custom_components.emucs.protocol.p1 import Telegram
from custom_components.emucs.protocol.p1_json import telegram_json

from .text import plural

__all__ = ["format_table", "json_line"]


def json_line(telegram: Telegram) -> str:
    """Return the telegram's JSON object on one line."""
    return telegram_json(telegram) + "\n"


def format_table(telegram: Telegram) -> str:
    """Return a telegram as a readable table (ends with a blank line)."""
    lines = [f"Telegram /{telegram.header}  CRC {telegram.crc}"]
    lines.append(f"  Meter    {telegram.equipment_id or '-'}")
    version = telegram.version or "-"
    if telegram.dsmr_version:
        version += f" (DSMR {telegram.dsmr_version}, eMUCS {telegram.emucs_version})"
    lines.append(f"  Version  {version}")
    rows: list[tuple[str, str, str, str]] = []
    for obis, obj in telegram.objects.items():
        if obj.spec is None:
            rows.append((obis, "unknown", obj.raw or "", ""))
            continue
        if obj.error is not None:
            value = f"{obj.raw}  invalid: {obj.error}"
        elif obj.deactivated:
            value = "deactivated"
        elif isinstance(obj.value, tuple):
            value = plural(len(obj.value), "month")
        else:
            value = _text(obj.value, obj.unit)
        timed = obj.spec.value_type is ValueType.TIMED_NUMBER
        rows.append((obis, obj.spec.name, value, _time(obj.timestamp) if timed else ""))
        if isinstance(obj.value, tuple):
            rows.extend(
                (
                    "",
                    f"  from {_time(rec.period_start)}",
                    _text(rec.value, rec.unit),
                    _time(rec.timestamp),
                )
                for rec in obj.value
            )
    widths = (
        [max(len(row[column]) for row in rows) for column in range(3)]
        if rows
        else [0, 0, 0]
    )
    lines.extend(
        "  "
        + "  ".join(
            cell.ljust(width) for cell, width in zip(row, [*widths, 0], strict=True)
        ).rstrip()
        for row in rows
    )
    for device in telegram.mbus:
        lines.append(
            f"  M-Bus channel {device.channel}: {device.medium or 'unknown medium'} (device type {device.device_type})"
        )
        lines.append(
            f"    equipment id {device.equipment_id or '-'}, EAN {device.ean or '-'}, valve {_text(device.valve, None)}"
        )
        reading = device.reading
        lines.append(
            "    no reading yet"
            if reading is None
            else f"    reading {_text(reading.value, reading.unit)} at {_time(reading.timestamp)}"
        )
    if telegram.relays:
        relays = ", ".join(
            f"{number}: {state}" for number, state in sorted(telegram.relays.items())
        )
        lines.append(f"  Virtual relays  {relays}")
    return "\n".join(lines) + "\n\n"


def _text(value: object, unit: str | None) -> str:
    if value is None:
        return "-"
    text = _time(value) if isinstance(value, datetime) else str(value)
    return f"{text} {unit}" if unit else text


def _time(value: datetime | None) -> str:
    return "no time" if value is None else value.isoformat()
