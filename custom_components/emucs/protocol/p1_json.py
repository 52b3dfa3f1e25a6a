"""The JSON text of a telegram, written directly: the CLI's ``p1 --json`` line.

``telegram_json(t)`` is the text ``json.dumps(t.to_dict(), ensure_ascii=False)``
gives, at a fraction of its cost: building a dict per object and walking it again
took longer than decoding the telegram. ``to_dict`` stays the definition of the
contract; a test holds the two to the same text on every kind of object.

Strict JSON: the decoder gives only finite numbers (``p1._INFINITY``), so no
``NaN``/``Infinity`` can appear.
"""

from __future__ import annotations

from datetime import datetime
from json.encoder import encode_basestring
from typing import Final

from .obis import ValueType
from .p1 import CosemObject, MBusDevice, PeakRecord, Telegram

__all__ = ["telegram_json"]

_TIMED: Final = ValueType.TIMED_NUMBER


def _time(value: datetime | None) -> str:
    return "null" if value is None else f'"{value.isoformat()}"'


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _record(record: PeakRecord) -> str:
    return (
        f'{{"period_start": {_time(record.period_start)}, '
        f'"timestamp": {_time(record.timestamp)}, '
        f'"value": {record.value!r}, "unit": {_text(record.unit)}}}'
    )


def _object(obj: CosemObject) -> str:
    spec = obj.spec
    if spec is None:
        return f'{{"raw": {_text(obj.raw)}}}'
    if obj.error is not None:
        return f'{{"value": null, "error": {encode_basestring(obj.error)}, "raw": {_text(obj.raw)}}}'
    value = obj.value
    if type(value) is float and obj.unit is not None and not obj.deactivated:
        # Most objects: a number with its unit (timed numbers add their time).
        text = f'{{"value": {value!r}, "unit": {encode_basestring(obj.unit)}'
        if spec.value_type is _TIMED:
            text += f', "timestamp": {_time(obj.timestamp)}'
        return text + "}"
    # float and int print as json does (their repr); bool never occurs.
    if isinstance(value, (float, int)):
        text = f'{{"value": {value!r}'
    elif isinstance(value, str):
        text = f'{{"value": {encode_basestring(value)}'
    elif isinstance(value, datetime):
        text = f'{{"value": "{value.isoformat()}"'
    elif isinstance(value, tuple):
        text = f'{{"value": [{", ".join(map(_record, value))}]'
    else:
        text = '{"value": null'
    if obj.unit is not None:
        text += f', "unit": {encode_basestring(obj.unit)}'
    if spec.value_type is _TIMED:
        text += f', "timestamp": {_time(obj.timestamp)}'
    if obj.deactivated:
        text += ', "deactivated": true'
    return text + "}"


def _device(device: MBusDevice) -> str:
    reading = device.reading
    return (
        f'{{"channel": {device.channel}, '
        f'"device_type": {"null" if device.device_type is None else device.device_type}, '
        f'"medium": {_text(device.medium)}, '
        f'"equipment_id": {_text(device.equipment_id)}, "ean": {_text(device.ean)}, '
        f'"valve": {"null" if device.valve is None else device.valve}, "reading": '
        + (
            "null}"
            if reading is None
            else f'{{"value": {reading.value!r}, "unit": {_text(reading.unit)}, '
            f'"timestamp": {_time(reading.timestamp)}}}}}'
        )
    )


# Decoded lines and M-Bus devices are shared between telegrams (``p1._LINE_CACHE``,
# ``p1._DEVICE_CACHE``), so their text is written once and reused while they live in
# those caches. An entry holds its object: the id cannot be reused while it exists.
_FRAGMENTS: dict[int, tuple[CosemObject | MBusDevice, str]] = {}
_FRAGMENTS_SIZE: Final = 1024


def _keep(item: CosemObject | MBusDevice, text: str) -> str:
    if len(_FRAGMENTS) >= _FRAGMENTS_SIZE:
        _FRAGMENTS.clear()
    _FRAGMENTS[id(item)] = (item, text)
    return text


def telegram_json(telegram: Telegram) -> str:
    """Return the telegram's JSON text (no newline), as ``json.dumps(to_dict())``."""
    known = _FRAGMENTS.get
    objects = []
    for obj in telegram.objects.values():  # the hot loop: no call on a hit
        entry = known(id(obj))
        if entry is not None and entry[0] is obj:
            objects.append(entry[1])
        else:
            objects.append(_keep(obj, f"{encode_basestring(obj.obis)}: {_object(obj)}"))
    devices = []
    for device in telegram.mbus:
        entry = known(id(device))
        if entry is not None and entry[0] is device:
            devices.append(entry[1])
        else:
            devices.append(_keep(device, _device(device)))
    return (
        f'{{"header": {encode_basestring(telegram.header)}, '
        f'"crc": {encode_basestring(telegram.crc)}, '
        f'"objects": {{{", ".join(objects)}}}, "mbus": [{", ".join(devices)}]}}'
    )
