"""P1 telegram model and decoder (DSMR-P1 5.0.2 section 6 with the eMUCS rules).

``decode_telegram`` turns the bytes of one telegram (``/`` through ``!CRC``) into a
``Telegram``. It is strict about the frame (header, terminator, CRC) and lenient inside
it: blanks before ``(``, line breaks inside an object line, objects in any order and
unknown objects are all accepted; a malformed value invalidates that object only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
import re
from typing import Any, Final

from .crc import crc16_arc
from .errors import P1DecodeError
from .obis import (
    CHANNEL_OBJECTS,
    EQUIPMENT_ID,
    MBUS_DEVICE_TYPE,
    MBUS_EAN,
    MBUS_EQUIPMENT_ID,
    MBUS_READING_5MIN,
    MBUS_READING_UNCORRECTED,
    MBUS_VALVE,
    MEDIA,
    OBJECTS,
    RELAY_STATE,
    TIMESTAMP,
    VERSION,
    ObjectSpec,
    ValueType,
)

__all__ = [
    "CosemObject",
    "MBusDevice",
    "MBusReading",
    "PeakRecord",
    "Telegram",
    "decode_telegram",
    "parse_timestamp",
]

P1_BAUDRATE: Final = 115200
"""8N1; header digit ``5`` (DSMR-P1 5.0.2 §6)."""
SUMMER: Final = timezone(timedelta(hours=2))
WINTER: Final = timezone(timedelta(hours=1))
_ZONES: Final = {"S": SUMMER, "W": WINTER}

type Value = float | int | str | datetime | tuple[PeakRecord, ...] | None


@dataclass(slots=True, kw_only=True)
class PeakRecord:
    """One month of ``0-0:98.1.0``: the period start, when the peak happened, its value."""

    period_start: datetime | None
    timestamp: datetime | None
    """``None`` for a month without data (peak time ``632525252525W``)."""
    value: float
    unit: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "period_start": _iso(self.period_start),
            "timestamp": _iso(self.timestamp),
            "value": self.value,
            "unit": self.unit,
        }


@dataclass(slots=True)
class CosemObject:
    """One object line of a telegram. Treat as read-only."""

    obis: str
    """Reduced OBIS code as sent (``1-0:1.8.1``, ``0-2:24.2.3``)."""
    value: Value
    unit: str | None = None
    timestamp: datetime | None = None
    """Capture time of timed values (peak demand, M-Bus readings)."""
    spec: ObjectSpec | None = None
    """The table row, ``None`` for an object this decoder does not know."""
    deactivated: bool = False
    """A limiter or fuse threshold at its format maximum: the function is off."""
    error: str | None = None
    """Why the value could not be read; ``value`` is ``None`` then."""
    raw: str | None = None
    """The groups as sent, for unknown and invalid objects."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (keys ``unit``/``timestamp``/``deactivated`` only where they apply)."""
        if self.spec is None:
            return {"raw": self.raw}
        if self.error is not None:
            return {"value": None, "error": self.error, "raw": self.raw}
        value = self.value
        result: dict[str, Any]
        if isinstance(value, datetime):
            result = {"value": value.isoformat()}
        elif isinstance(value, tuple):
            result = {"value": [record.to_dict() for record in value]}
        else:
            result = {"value": value}
        if self.unit is not None:
            result["unit"] = self.unit
        if self.spec.value_type is ValueType.TIMED_NUMBER:
            result["timestamp"] = _iso(self.timestamp)
        if self.deactivated:
            result["deactivated"] = True
        return result


@dataclass(slots=True, kw_only=True)
class MBusReading:
    """The last volume an M-Bus device reported and when."""

    value: float
    unit: str | None
    timestamp: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "value": self.value,
            "unit": self.unit,
            "timestamp": _iso(self.timestamp),
        }


@dataclass(slots=True, kw_only=True)
class MBusDevice:
    """The objects of one M-Bus channel (gas, water...) grouped together."""

    channel: int
    device_type: int | None
    medium: str | None
    """From the device type, never from the OBIS code; ``None`` if unknown."""
    equipment_id: str | None
    ean: str | None
    valve: int | None
    reading: MBusReading | None
    """``None`` when no reading was sent or the meter has none yet."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "channel": self.channel,
            "device_type": self.device_type,
            "medium": self.medium,
            "equipment_id": self.equipment_id,
            "ean": self.ean,
            "valve": self.valve,
            "reading": None if self.reading is None else self.reading.to_dict(),
        }


@dataclass(slots=True, kw_only=True)
class Telegram:
    """A decoded P1 telegram. Treat as read-only."""

    header: str
    """Identification line without the ``/``, e.g. ``FLU5\\253769484_A``."""
    crc: str
    """The four CRC hex digits as sent, in upper case."""
    objects: dict[str, CosemObject]
    """Every object line keyed by its reduced OBIS code, in telegram order."""
    mbus: tuple[MBusDevice, ...] = ()
    """M-Bus devices by channel (virtual relays are not M-Bus devices)."""
    relays: dict[int, int] = field(default_factory=dict)
    """Virtual relay number (1-4) to state (0 disconnected, 1 connected)."""
    raw: bytes = field(default=b"", repr=False)
    """The telegram as received, ``/`` to the CRC digits (not part of ``to_dict``)."""

    @property
    def manufacturer(self) -> str:
        """Three-letter manufacturer code of the header (``FLU``, ``SAG``...)."""
        return self.header[:3]

    @property
    def identification(self) -> str:
        """The header after the manufacturer code and baud-rate digit."""
        return self.header[4:].lstrip("\\")

    @property
    def equipment_id(self) -> str | None:
        """Decoded meter serial (``1SAG3101021605``), ``None`` if absent or invalid."""
        value = self.value(EQUIPMENT_ID)
        return value if isinstance(value, str) and value else None

    @property
    def version(self) -> str | None:
        """Version information ``XXXYY`` as sent (``50221``)."""
        value = self.value(VERSION)
        return value if isinstance(value, str) else None

    @property
    def dsmr_version(self) -> str | None:
        """DSMR-P1 version from ``XXXYY``: ``50221`` gives ``5.0.2``."""
        version = self.version
        if version is None or len(version) != 5 or not version.isdigit():
            return None
        return ".".join(version[:3])

    @property
    def emucs_version(self) -> str | None:
        """eMUCS-P1 version from ``XXXYY``: ``50221`` gives ``2.1``, ``50217`` gives ``1.7``."""
        version = self.version
        if version is None or len(version) != 5 or not version.isdigit():
            return None
        return f"{version[3]}.{version[4]}"

    @property
    def timestamp(self) -> datetime | None:
        """When the meter built the telegram (its own clock), ``None`` if absent."""
        value = self.value(TIMESTAMP)
        return value if isinstance(value, datetime) else None

    @property
    def invalid(self) -> list[CosemObject]:
        """Objects whose value could not be read."""
        return [obj for obj in self.objects.values() if obj.error is not None]

    @property
    def unknown(self) -> list[CosemObject]:
        """Objects this decoder does not know, kept as raw text."""
        return [obj for obj in self.objects.values() if obj.spec is None]

    def value(self, obis: str) -> Value:
        """Return the value of an object, ``None`` if it is absent or invalid."""
        obj = self.objects.get(obis)
        return None if obj is None else obj.value

    def number(self, obis: str) -> float | None:
        """Return a numeric value as float, ``None`` if absent, invalid or not numeric."""
        value = self.value(obis)
        if isinstance(value, (int, float)):
            return float(value)
        return None

    def to_dict(self) -> dict[str, Any]:
        """Return the documented JSON form."""
        return {
            "header": self.header,
            "crc": self.crc,
            "objects": {obis: obj.to_dict() for obis, obj in self.objects.items()},
            "mbus": [device.to_dict() for device in self.mbus],
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# Timestamps repeat from telegram to telegram (peak times, the 13-month history, M-Bus
# capture times); caching them saves most of the datetime construction.
_TIME_CACHE: dict[str, datetime | None] = {}
_TIME_CACHE_SIZE: Final = 512


def parse_timestamp(text: str) -> datetime | None:
    """Parse a TST ``YYMMDDhhmmssX`` (X = ``S`` UTC+2, ``W`` UTC+1).

    The ``S``/``W`` flag decides the offset, so the repeated autumn hour is exact.
    ``632525252525W`` and any impossible date mean "no time" and give ``None``.
    Raises ValueError for text that is not a TST at all.
    """
    try:
        return _TIME_CACHE[text]
    except KeyError:
        pass
    if len(text) != 13 or not text[:12].isdigit() or not text[:12].isascii():
        raise ValueError(f"not a timestamp: {text!r}")
    zone = _ZONES.get(text[12])
    if zone is None:
        raise ValueError(f"timestamp flag must be S or W: {text!r}")
    try:
        result: datetime | None = datetime(
            2000 + int(text[0:2]),
            int(text[2:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            tzinfo=zone,
        )
    except ValueError:
        result = None
    if len(_TIME_CACHE) >= _TIME_CACHE_SIZE:
        _TIME_CACHE.clear()
    _TIME_CACHE[text] = result
    return result


def _number(text: str) -> tuple[float, str | None]:
    """Parse ``000123.456*kWh`` into (123.456, "kWh"); a unit is optional."""
    value, _, unit = text.partition("*")
    # isdigit() keeps out signs, exponents, blanks, "nan" and "inf" that float() takes.
    if not value.replace(".", "", 1).isdigit():
        raise ValueError(f"not a number: {text!r}")
    return float(value), unit or None


def _hex_text(text: str) -> str:
    """Decode a hex-encoded octet string; text that is not hex-encoded ASCII is kept as is."""
    if len(text) % 2 == 0:
        try:
            decoded = bytes.fromhex(text).decode("ascii")
        except ValueError:
            return text
        if decoded.isprintable():
            return decoded
    return text


def _groups(rest: str) -> list[str]:
    """``(a)(b)`` or ``(a) (b)`` to ``["a", "b"]``."""
    groups = rest[1:-1].split(")(")
    if (
        rest[:1] == "("
        and rest[-1:] == ")"
        and rest.count("(") == len(groups) == rest.count(")")
    ):
        return groups
    if _GROUPS_RE.fullmatch(rest) is None:
        raise ValueError("malformed value groups")
    return _GROUP_RE.findall(rest)


def _single(rest: str) -> str:
    """Return the content of a one-group value ``(...)``."""
    inner = rest[1:-1]
    if rest[:1] == "(" and rest[-1:] == ")" and "(" not in inner and ")" not in inner:
        return inner
    groups = _groups(rest)
    if len(groups) != 1:
        raise ValueError(f"expected 1 value, got {len(groups)}")
    return groups[0]


# Readers are the hot path (40-odd objects a second): positional construction of
# CosemObject is about twice as fast as keywords.
def _read_number(obis: str, spec: ObjectSpec, rest: str) -> CosemObject:
    value, _, unit = _single(rest).partition("*")
    if not value.replace(".", "", 1).isdigit():
        raise ValueError(f"not a number: {rest!r}")
    return CosemObject(obis, float(value), unit or None, None, spec)


def _read_threshold(obis: str, spec: ObjectSpec, rest: str) -> CosemObject:
    text = _single(rest)
    value, unit = _number(text)
    # The format's maximum (99.999 kW, 999.99 A; 999.9 kW, 999 A in 1.7) means "off".
    if not text.partition("*")[0].replace(".", "").strip("9"):
        return CosemObject(obis, None, unit, None, spec, deactivated=True)
    return CosemObject(obis, value, unit, None, spec)


def _read_integer(obis: str, spec: ObjectSpec, rest: str) -> CosemObject:
    text = _single(rest)
    if not text.isdigit():
        raise ValueError(f"not an integer: {text!r}")
    return CosemObject(obis, int(text), None, None, spec)


def _read_text(obis: str, spec: ObjectSpec, rest: str) -> CosemObject:
    return CosemObject(obis, _single(rest), None, None, spec)


def _read_hex_text(obis: str, spec: ObjectSpec, rest: str) -> CosemObject:
    return CosemObject(obis, _hex_text(_single(rest)), None, None, spec)


def _read_timestamp(obis: str, spec: ObjectSpec, rest: str) -> CosemObject:
    return CosemObject(obis, parse_timestamp(_single(rest)), None, None, spec)


def _read_timed_number(obis: str, spec: ObjectSpec, rest: str) -> CosemObject:
    groups = _groups(rest)
    if len(groups) != 2:
        raise ValueError(f"expected a time and a value, got {len(groups)} groups")
    value, unit = _number(groups[1])
    return CosemObject(obis, value, unit, parse_timestamp(groups[0]), spec)


def _read_peak_history(obis: str, spec: ObjectSpec, rest: str) -> CosemObject:
    groups = _groups(rest)
    if not groups[0].isdigit():
        raise ValueError(f"not an entry count: {groups[0]!r}")
    count = int(groups[0])
    ids = 0
    while 1 + ids < len(groups) and _OBIS_RE.fullmatch(groups[1 + ids]):
        ids += 1
    if count == 0 and ids in (0, 2) and len(groups) == 1 + ids:
        return CosemObject(obis, (), None, None, spec)
    if ids != 2:
        raise ValueError(f"expected 2 capture objects, got {ids}")
    if len(groups) != 3 + 3 * count:
        raise ValueError(f"{count} entries announced, {(len(groups) - 3) / 3:g} sent")
    records = []
    for start in range(3, len(groups), 3):
        value, unit = _number(groups[start + 2])
        records.append(
            PeakRecord(
                period_start=parse_timestamp(groups[start]),
                timestamp=parse_timestamp(groups[start + 1]),
                value=value,
                unit=unit,
            )
        )
    return CosemObject(obis, tuple(records), None, None, spec)


type _Reader = Callable[[str, ObjectSpec, str], CosemObject]

_READERS: Final[dict[ValueType, _Reader]] = {
    ValueType.NUMBER: _read_number,
    ValueType.THRESHOLD: _read_threshold,
    ValueType.INTEGER: _read_integer,
    ValueType.TEXT: _read_text,
    ValueType.HEX_TEXT: _read_hex_text,
    ValueType.TIMESTAMP: _read_timestamp,
    ValueType.TIMED_NUMBER: _read_timed_number,
    ValueType.PEAK_HISTORY: _read_peak_history,
}
# Channel-0 objects and channel objects (0-n:C.D.E) resolved to (spec, reader) once.
_TABLE: Final = {
    obis: (spec, _READERS[spec.value_type]) for obis, spec in OBJECTS.items()
}
_CHANNEL_TABLE: Final = {
    part: (spec, _READERS[spec.value_type]) for part, spec in CHANNEL_OBJECTS.items()
}

_OBIS_RE: Final = re.compile(r"\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}")
_OBJECT_START_RE: Final = re.compile(r"\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}\s*\(")
_GROUPS_RE: Final = re.compile(r"(?:\s*\([^()]*\))+\s*")
_GROUP_RE: Final = re.compile(r"\(([^()]*)\)")


def _logical_lines(body: str) -> list[str]:
    """Split the data lines, joining lines that were broken inside an object.

    Real meters send one object per line; the spec examples break long lines anywhere
    (inside the OBIS code, a value or a unit). A line continues the previous one when
    the previous one does not end with ``)`` or it starts with ``(``, unless it plainly
    starts a new object (``OBIS(``: a group never holds a ``(``, so that is unambiguous).
    """
    body = body.replace("\r", "")
    parts = body.split("\n")
    lines = list(filter(None, parts))
    # Fast path (every real meter): each line is one whole object.
    if (
        body.count(")\n") == len(lines)
        and "\n(" not in body
        and "\n " not in body
        and " \n" not in body
    ):
        return lines
    lines = []
    for line in parts:
        text = line.strip()
        if not text:
            continue
        if (
            lines
            and (text[0] == "(" or lines[-1][-1] != ")")
            and _OBJECT_START_RE.match(text) is None
        ):
            lines[-1] += text
        else:
            lines.append(text)
    return lines


def decode_telegram(data: bytes, *, verify_crc: bool = True) -> Telegram:
    """Decode one telegram from ``/`` to ``!CRC`` (a trailing CRLF is allowed).

    Raises P1DecodeError when the bytes are not a telegram or, with ``verify_crc``,
    when the CRC does not match. Object-level problems never raise: see
    ``CosemObject.error`` and ``Telegram.unknown``.
    """
    if data[:1] != b"/":
        raise P1DecodeError("telegram does not start with '/'")
    end = data.rfind(b"!")
    if end < 0:
        raise P1DecodeError("telegram has no '!' terminator")
    crc_text = data[end + 1 : end + 5].decode("latin-1").upper()
    if len(crc_text) != 4 or not all(c in "0123456789ABCDEF" for c in crc_text):
        raise P1DecodeError(f"no CRC after '!': {data[end + 1 : end + 5]!r}")
    if verify_crc:
        computed = crc16_arc(memoryview(data)[: end + 1])
        if computed != int(crc_text, 16):
            raise P1DecodeError(
                f"CRC mismatch: telegram says {crc_text}, computed {computed:04X}"
            )
    # latin-1 maps every byte to one character, so a stray byte can only spoil the
    # object it sits in.
    header, newline, body = data[1:end].decode("latin-1").partition("\n")
    header = header.rstrip("\r")
    if (
        not newline
        or len(header) < 5
        or not header[:3].isalpha()
        or not header[3].isdigit()
    ):
        raise P1DecodeError(f"malformed identification line: {header!r}")

    objects: dict[str, CosemObject] = {}
    channels: dict[int, dict[str, CosemObject]] = {}
    relays: dict[int, int] = {}
    table_get = _TABLE.get
    for line in _logical_lines(body):
        paren = line.find("(")
        if paren < 0:
            obis, rest = line, ""
        else:
            obis, rest = line[:paren], line[paren:]
            if obis[-1:] == " ":
                obis = obis.rstrip()
        entry = table_get(obis)
        channel = 0
        if entry is None and obis[:2] == "0-":
            channel_text, _, part = obis[2:].partition(":")
            # isascii(): '²' (a latin-1 byte) is a str.isdigit() digit that int() refuses.
            if (
                channel_text.isascii()
                and channel_text.isdigit()
                and 1 <= int(channel_text) <= 8
            ):
                channel = int(channel_text)
                entry = _CHANNEL_TABLE.get(part)
        if entry is None:
            if _OBIS_RE.fullmatch(obis) is None:
                obis = line  # not an object line at all: keep it whole
            objects[obis] = CosemObject(obis, None, raw=rest)
            continue
        spec, reader = entry
        try:
            obj = reader(obis, spec, rest)
        except ValueError as err:
            obj = CosemObject(obis, None, None, None, spec, error=str(err), raw=rest)
        if channel:
            if part == RELAY_STATE:
                if isinstance(obj.value, int):
                    relays[channel] = obj.value
            else:
                if (
                    obj.timestamp is None
                    and spec.value_type is ValueType.TIMED_NUMBER
                    and (obj.unit is None or obj.value == 0)
                ):
                    # (632525252525W)(00000.000): no time and no (or a zero) volume
                    # means the device has no reading yet: unknown, never 0 m3.
                    obj.value = None
                channels.setdefault(channel, {})[part] = obj
        objects[obis] = obj
    return Telegram(
        header=header,
        crc=crc_text,
        objects=objects,
        mbus=tuple(
            _mbus_device(channel, parts) for channel, parts in sorted(channels.items())
        ),
        relays=relays,
        raw=data,
    )


def _mbus_device(channel: int, parts: dict[str, CosemObject]) -> MBusDevice:
    def value(part: str) -> Value:
        obj = parts.get(part)
        return None if obj is None else obj.value

    device_type = value(MBUS_DEVICE_TYPE)
    if not isinstance(device_type, int):
        device_type = None
    reading_obj = parts.get(MBUS_READING_UNCORRECTED) or parts.get(MBUS_READING_5MIN)
    reading = None
    if reading_obj is not None and isinstance(reading_obj.value, float):
        reading = MBusReading(
            value=reading_obj.value,
            unit=reading_obj.unit,
            timestamp=reading_obj.timestamp,
        )
    equipment_id, ean, valve = (
        value(MBUS_EQUIPMENT_ID),
        value(MBUS_EAN),
        value(MBUS_VALVE),
    )
    return MBusDevice(
        channel=channel,
        device_type=device_type,
        medium=None if device_type is None else MEDIA.get(device_type),
        equipment_id=equipment_id
        if isinstance(equipment_id, str) and equipment_id
        else None,
        ean=ean if isinstance(ean, str) and ean else None,
        valve=valve if isinstance(valve, int) else None,
        reading=reading,
    )
