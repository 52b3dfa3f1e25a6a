"""P1 benchmark ``p1-diff``: what dsmr_parser returns where it differs from our decoder.

Observed on real bytes in this run: nothing is reported that was not seen. Both
decoders are reduced to one vocabulary first (``ours_view``, ``dsmr_view``).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
import itertools
import json
import time
from typing import Any

from benchmarks.harness import Options, plural, section
from benchmarks.p1 import (
    DSMR,
    E21_3PHASE,
    SPEC_EXAMPLES,
    drop_lines,
    dsmr_protocol,
    frame,
    history_groups,
    real_meter_form,
    set_line,
    template,
)
from custom_components.emucs.protocol import (
    P1Stream,
    Telegram,
    decode_telegram,
    p1_framer,
)
from custom_components.emucs.protocol.obis import ValueType

# --------------------------------------------------------------------------- views
# Both decoders reduced to one vocabulary: our reduced OBIS codes for channel 0,
# "mbus.<channel>.<field>" for M-Bus devices, "relay.<n>" for virtual relays. Numbers
# are floats with their unit, times are UTC ISO strings, hex identifiers are decoded.


def _utc(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _hex_text(value: str | None) -> str | None:
    if not value:
        return None
    try:
        decoded = bytes.fromhex(value).decode("ascii")
    except ValueError:
        return value
    return decoded if decoded.isprintable() else value


def _number(value: Any, unit: str | None) -> dict[str, Any]:
    return {"value": None if value is None else float(value), "unit": unit}


_MBUS_PARTS = {
    "24.1.0": "device_type",
    "96.1.1": "equipment_id",
    "96.1.2": "ean",
    "24.4.0": "valve",
    "24.2.1": "reading",
    "24.2.3": "reading",
}


def ours_view(telegram: Telegram) -> dict[str, Any]:
    """Our telegram in the common vocabulary."""
    view: dict[str, Any] = {}
    for obis, obj in telegram.objects.items():
        spec = obj.spec
        if spec is None:
            view[obis] = {"raw": obj.raw}
            continue
        if obj.error is not None:
            view[obis] = {"error": obj.error}
            continue
        if spec.obis.startswith("0-n:"):
            channel, part = int(obis[2]), spec.obis[4:]
            if part == "96.3.10":
                view[f"relay.{channel}"] = obj.value
            elif part in ("24.2.1", "24.2.3"):
                view[f"mbus.{channel}.reading"] = {
                    **_number(obj.value, obj.unit),
                    "timestamp": _utc(obj.timestamp),
                }
            else:
                view[f"mbus.{channel}.{_MBUS_PARTS.get(part, part)}"] = (
                    obj.value if obj.value != "" else None
                )
            continue
        kind, value = spec.value_type, obj.value
        if kind is ValueType.NUMBER:
            view[obis] = _number(value, obj.unit)
        elif kind is ValueType.THRESHOLD:
            view[obis] = {
                **_number(value, obj.unit),
                **({"deactivated": True} if obj.deactivated else {}),
            }
        elif kind is ValueType.TIMED_NUMBER:
            view[obis] = {**_number(value, obj.unit), "timestamp": _utc(obj.timestamp)}
        elif kind is ValueType.PEAK_HISTORY:
            records = value if isinstance(value, tuple) else ()
            view[obis] = [
                {
                    "period_start": _utc(r.period_start),
                    "timestamp": _utc(r.timestamp),
                    **_number(r.value, r.unit),
                }
                for r in records
            ]
        elif isinstance(value, datetime):
            view[obis] = _utc(value)
        else:
            view[obis] = value if value != "" else None
    for device in telegram.mbus:
        view[f"mbus.{device.channel}.medium"] = device.medium
    view["mbus.channels"] = [device.channel for device in telegram.mbus]
    return view


# dsmr_parser attribute name -> (our key, how to read it)
_DSMR_FIELDS: dict[str, tuple[str, str]] = {
    "BELGIUM_VERSION_INFORMATION": ("0-0:96.1.4", "text"),
    "BELGIUM_EQUIPMENT_IDENTIFIER": ("0-0:96.1.1", "hex"),
    "P1_MESSAGE_TIMESTAMP": ("0-0:1.0.0", "time"),
    "ELECTRICITY_USED_TARIFF_1": ("1-0:1.8.1", "number"),
    "ELECTRICITY_USED_TARIFF_2": ("1-0:1.8.2", "number"),
    "ELECTRICITY_DELIVERED_TARIFF_1": ("1-0:2.8.1", "number"),
    "ELECTRICITY_DELIVERED_TARIFF_2": ("1-0:2.8.2", "number"),
    "ELECTRICITY_ACTIVE_TARIFF": ("0-0:96.14.0", "int"),
    "BELGIUM_CURRENT_AVERAGE_DEMAND": ("1-0:1.4.0", "number"),
    "BELGIUM_MAXIMUM_DEMAND_MONTH": ("1-0:1.6.0", "timed"),
    "BELGIUM_MAXIMUM_DEMAND_13_MONTHS": ("0-0:98.1.0", "history"),
    "CURRENT_ELECTRICITY_USAGE": ("1-0:1.7.0", "number"),
    "CURRENT_ELECTRICITY_DELIVERY": ("1-0:2.7.0", "number"),
    "INSTANTANEOUS_ACTIVE_POWER_L1_POSITIVE": ("1-0:21.7.0", "number"),
    "INSTANTANEOUS_ACTIVE_POWER_L2_POSITIVE": ("1-0:41.7.0", "number"),
    "INSTANTANEOUS_ACTIVE_POWER_L3_POSITIVE": ("1-0:61.7.0", "number"),
    "INSTANTANEOUS_ACTIVE_POWER_L1_NEGATIVE": ("1-0:22.7.0", "number"),
    "INSTANTANEOUS_ACTIVE_POWER_L2_NEGATIVE": ("1-0:42.7.0", "number"),
    "INSTANTANEOUS_ACTIVE_POWER_L3_NEGATIVE": ("1-0:62.7.0", "number"),
    "INSTANTANEOUS_VOLTAGE_L1": ("1-0:32.7.0", "number"),
    "INSTANTANEOUS_VOLTAGE_L2": ("1-0:52.7.0", "number"),
    "INSTANTANEOUS_VOLTAGE_L3": ("1-0:72.7.0", "number"),
    "INSTANTANEOUS_CURRENT_L1": ("1-0:31.7.0", "number"),
    "INSTANTANEOUS_CURRENT_L2": ("1-0:51.7.0", "number"),
    "INSTANTANEOUS_CURRENT_L3": ("1-0:71.7.0", "number"),
    "ACTUAL_SWITCH_POSITION": ("0-0:96.3.10", "int"),
    "ACTUAL_TRESHOLD_ELECTRICITY": ("0-0:17.0.0", "number"),
    "FUSE_THRESHOLD_L1": ("1-0:31.4.0", "number"),
    "TEXT_MESSAGE": ("0-0:96.13.0", "hex"),
}
_DSMR_MBUS_FIELDS: dict[str, tuple[str, str]] = {
    "MBUS_DEVICE_TYPE": ("device_type", "int"),
    "MBUS_EQUIPMENT_IDENTIFIER": ("equipment_id", "hex"),
    "MBUS_VALVE_POSITION": ("valve", "int"),
    "MBUS_METER_READING": ("reading", "timed"),
}


def _dsmr_value(kind: str, obj: Any) -> Any:
    if kind == "number":
        return _number(obj.value, obj.unit)
    if kind == "timed":
        return {**_number(obj.value, obj.unit), "timestamp": _utc(obj.datetime)}
    if kind == "int":
        return None if obj.value is None else int(obj.value)
    if kind == "time":
        return _utc(obj.value)
    if kind == "hex":
        return _hex_text(obj.value)
    if kind == "history":
        return [
            {
                "period_start": _utc(p.datetime),
                "timestamp": _utc(p.occurred),
                **_number(p.value, p.unit),
            }
            for p in obj
        ]
    return obj.value or None


def dsmr_view(telegram: Any) -> dict[str, Any]:
    """dsmr_parser's telegram read the way HA's dsmr does it (``getattr`` by name)."""
    view: dict[str, Any] = {}
    for name, obj in telegram:
        if name == "MBUS_DEVICES":
            continue
        key, kind = _DSMR_FIELDS.get(name, (f"dsmr:{name}", "other"))
        view[key] = _dsmr_value(kind, obj)
    channels = []
    for device in getattr(telegram, "MBUS_DEVICES", []):
        channels.append(device.channel_id)
        for name, obj in device:
            if name == "ACTUAL_SWITCH_POSITION":
                view[f"relay.{device.channel_id}"] = _dsmr_value("int", obj)
                continue
            part, kind = _DSMR_MBUS_FIELDS.get(name, (name, "other"))
            view[f"mbus.{device.channel_id}.{part}"] = _dsmr_value(kind, obj)
    view["mbus.channels"] = sorted(channels)
    return view


def _dsmr_reads(key: str) -> bool:
    """Whether dsmr_parser's BELGIUM_FLUVIUS has an object for this key at all."""
    if key == "mbus.channels" or key.startswith("relay."):
        return True
    if key.startswith("mbus."):
        return key.rsplit(".", 1)[1] in {part for part, _ in _DSMR_MBUS_FIELDS.values()}
    return key in {obis for obis, _ in _DSMR_FIELDS.values()}


@dataclass(slots=True)
class Comparison:
    """Both views side by side."""

    equal: list[str] = field(default_factory=list)
    different: dict[str, dict[str, Any]] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    """Keys dsmr_parser reads but did not return for this telegram."""
    not_read: list[str] = field(default_factory=list)
    """Keys dsmr_parser's Belgian specification has no object for."""
    only_dsmr: list[str] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        """Whether anything dsmr_parser reads came out differently."""
        return bool(self.different or self.lost or self.only_dsmr)

    def summary(self) -> str:
        """One line naming what differs."""
        parts = [
            f"{key}: {_list_difference(d['emucs'], d['dsmr_parser'])}"
            if isinstance(d["emucs"], list) and isinstance(d["dsmr_parser"], list)
            else f"{key}: eMUCS {_short(d['emucs'])}, dsmr_parser {_short(d['dsmr_parser'])}"
            for key, d in self.different.items()
        ]
        if self.lost:
            parts.append("missing in dsmr_parser: " + ", ".join(self.lost))
        if self.only_dsmr:
            parts.append("only in dsmr_parser: " + ", ".join(self.only_dsmr))
        return "; ".join(parts) if parts else f"same values ({len(self.equal)} fields)"


def _list_difference(ours: list[Any], theirs: list[Any]) -> str:
    """Say which entries of two lists (e.g. peak histories) differ and in what."""
    if not all(isinstance(item, dict) for item in (*ours, *theirs)):
        return f"eMUCS {_short(ours)}, dsmr_parser {_short(theirs)}"
    if len(ours) != len(theirs):
        return f"eMUCS {len(ours)} entries, dsmr_parser {len(theirs)}"
    fields = sorted(
        {
            name
            for a, b in zip(ours, theirs, strict=True)
            if isinstance(a, dict) and isinstance(b, dict)
            for name in a.keys() | b.keys()
            if a.get(name) != b.get(name)
        }
    )
    entries = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    return f"entries {entries} of {len(ours)} differ in {', '.join(fields) or 'type'}"


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> Comparison:
    """Compare two views key by key."""
    result = Comparison()
    for key, value in ours.items():
        if key in theirs:
            if theirs[key] == value:
                result.equal.append(key)
            else:
                result.different[key] = {"emucs": value, "dsmr_parser": theirs[key]}
        elif _dsmr_reads(key):
            result.lost.append(key)
        else:
            result.not_read.append(key)
    result.only_dsmr = [key for key in theirs if key not in ours]
    return result


def _short(value: Any, limit: int = 90) -> str:
    if isinstance(value, dict) and set(value) <= {
        "value",
        "unit",
        "deactivated",
        "timestamp",
    }:
        if value.get("deactivated"):
            text = "deactivated (null)"
        elif value.get("value") is None:
            text = "null"
        else:
            text = f"{value['value']:g} {value.get('unit') or '(no unit)'}"
        if "timestamp" in value:
            text += f" at {value['timestamp']}" if value["timestamp"] else ", no time"
        return text
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return f"{len(value)} entries"
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _err(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def dsmr_parse(raw: bytes) -> tuple[Any, str | None]:
    """Parse with dsmr_parser's TelegramParser; (telegram, None) or (None, the exception)."""
    try:
        return DSMR.TelegramParser(DSMR.spec).parse(raw.decode("latin-1")), None
    except Exception as err:  # noqa: BLE001 - how it fails is what we report
        return None, _err(err)


# --------------------------------------------------------------------------- differences

WHY = {
    "printed": (
        "Each object is found with a regex ending at the first CRLF ('^\\d-\\d:98\\.1\\.0.+?\\r\\n', "
        "obis_references.py). A line broken inside a value reaches MaxDemandParser with too few groups; "
        "it indexes values[i*3+...] without a check and the IndexError escapes TelegramParser.parse "
        "(only ParseError is caught per line, and DSMRProtocol.handle_telegram catches only "
        "DecryptionError, InvalidChecksumError and ParseError). A line broken inside the OBIS code ('0-' / '0:98.1.0') matches no "
        "regex and the history silently disappears."
    ),
    "relays": (
        "ACTUAL_SWITCH_POSITION is the regex '^\\d-\\d:96\\.3\\.10', which also matches the virtual "
        "relays 0-1..0-4:96.3.10. Telegram.add() does setattr(telegram, name, obj) for every match, so "
        "the attribute HA's dsmr sensor reads (getattr) holds the LAST relay line; only the legacy dict "
        "form telegram[obis_ref] keeps the breaker. Any object on channel != 0 is an 'M-Bus reading' "
        "(DSMRObject.is_mbus_reading), so each relay line creates or joins an MbusDevice: devices 3 "
        "and 4 are invented, holding nothing but a relay."
    ),
    "non_ascii": (
        "DSMRProtocol.data_received decodes the buffer as latin-1 and then each telegram with "
        ".encode('latin1').decode('ascii') BEFORE the CRC check: one byte >= 0x80 raises "
        "UnicodeDecodeError out of data_received. asyncio treats an exception in data_received as "
        "fatal and closes the connection; the telegrams behind it are lost."
    ),
    "lower_crc": (
        "TelegramBuffer's regex only takes '![A-F0-9]{0,4}\\0?\\r\\n' and validate_checksum reads "
        "'(?<=\\!)[0-9A-Z]{1,4}': lower-case hex never frames (the telegram is dropped silently) and, "
        "parsed directly, gives a CRC error or ParseError."
    ),
    "deactivated": (
        "ACTUAL_TRESHOLD_ELECTRICITY and FUSE_THRESHOLD_L1 are plain Decimal CosemParsers: the "
        "format maximum that means 'deactivated' is reported as a real threshold (HA shows it as "
        "'max power/current per phase')."
    ),
    "gas_placeholder": (
        "MBusParser keeps Decimal('0.000') with no unit when the capture time is 632525252525W "
        "(value_types.timestamp returns None for it): 'no reading yet' becomes 0 m3, which a "
        "total_increasing sensor records as a meter reset."
    ),
    "timestamps": (
        "value_types.timestamp localises every TST in Europe/Amsterdam and uses the S/W flag only as "
        "fold (W -> fold=1), then converts to UTC: the repeated autumn hour comes out right, but a "
        "flag that disagrees with the zone's rules is ignored."
    ),
    "history": (
        "MaxDemandParser: see the entries compared above (it converts times to UTC via "
        "value_types.timestamp; 632525252525W gives None)."
    ),
    "not_read": (
        "Only the objects listed in telegram_specifications.BELGIUM_FLUVIUS are matched, one regex "
        "each; every other line is dropped without trace (no raw text, no error)."
    ),
    "buffer": (
        "TelegramBuffer.append() concatenates to a str without limit; it trims only when a complete "
        "telegram matches, and every get_all() first scans the whole buffer for '!'."
    ),
    "mbus": "MBUS_* regexes accept channels '[1-9]' and dsmr_parser groups by channel id.",
}


@dataclass(slots=True)
class Finding:
    """One correctness case: rows of input -> what each decoder returned."""

    key: str
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    why: str | None = None

    @property
    def differs(self) -> bool:
        """Whether any row showed a difference."""
        return any(row["differs"] for row in self.rows)

    def row(
        self, label: str, emucs: str, dsmr_parser: str, *, differs: bool, **data: Any
    ) -> None:
        """Add an observation."""
        self.rows.append(
            {
                "input": label,
                "emucs": emucs,
                "dsmr_parser": dsmr_parser,
                "differs": differs,
                **data,
            }
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON form; ``why`` only when a difference was observed."""
        return {
            "key": self.key,
            "title": self.title,
            "differs": self.differs,
            "rows": self.rows,
            "why": self.why if self.differs else None,
        }


def _decode_both(
    raw: bytes,
) -> tuple[Telegram, dict[str, Any], Any, dict[str, Any] | None, str | None]:
    telegram = decode_telegram(raw)
    theirs, error = dsmr_parse(raw)
    return (
        telegram,
        ours_view(telegram),
        theirs,
        None if theirs is None else dsmr_view(theirs),
        error,
    )


def _compare_row(
    finding: Finding,
    label: str,
    raw: bytes,
    keys: tuple[str, ...] | None = None,
    *,
    prefix: str | None = None,
) -> Comparison | None:
    """Decode ``raw`` with both; add a row comparing ``keys`` or keys starting with ``prefix`` (default all)."""
    _, ours, _, theirs, error = _decode_both(raw)
    if prefix is not None:
        ours = {k: v for k, v in ours.items() if k.startswith(prefix)}
    if theirs is None:
        finding.row(label, _summary_of(ours, keys), f"raises {error}", differs=True)
        return None
    if keys is not None:
        ours = {k: v for k, v in ours.items() if k in keys}
        theirs = {k: v for k, v in theirs.items() if k in keys}
    if prefix is not None:
        theirs = {k: v for k, v in theirs.items() if k.startswith(prefix)}
    comparison = compare(ours, theirs)
    finding.row(
        label,
        _summary_of(ours, keys),
        comparison.summary()
        if comparison.differs
        else f"same ({_summary_of(theirs, keys)})",
        differs=comparison.differs,
        different=comparison.different,
        missing=comparison.lost,
        only_dsmr=comparison.only_dsmr,
    )
    return comparison


def _summary_of(view: dict[str, Any], keys: tuple[str, ...] | None) -> str:
    if keys is None:
        history = view.get("0-0:98.1.0")
        return (
            f"{len(view)} fields, history {len(history) if isinstance(history, list) else 'absent'}, "
            f"M-Bus channels {view.get('mbus.channels')}"
        )
    return "; ".join(f"{k} = {_short(view.get(k, '(absent)'))}" for k in keys)


def case_spec_examples() -> Finding:
    """Every spec example, as printed and in real-meter form."""
    finding = Finding(
        "spec_examples",
        "Spec example telegrams (as printed and real-meter form)",
        why=WHY["printed"],
    )
    for name, title in SPEC_EXAMPLES.items():
        printed = template(name)
        for form, lines in (
            ("as printed", printed),
            ("real-meter form", real_meter_form(printed)),
        ):
            _compare_row(finding, f"{title}, {form}", frame(lines))
    return finding


def case_relays() -> Finding:
    """Breaker 0 with virtual relays at 1 (E.2.1)."""
    finding = Finding(
        "relays",
        "Breaker vs virtual relays 0-1..0-4:96.3.10 (E.2.1)",
        why=WHY["relays"],
    )
    for breaker, relay in ((0, 1), (1, 0)):
        lines = set_line(E21_3PHASE, "0-0:96.3.10", f"({breaker})")
        for channel in range(1, 5):
            lines = set_line(lines, f"0-{channel}:96.3.10", f"({relay})")
        raw = frame(lines)
        telegram = decode_telegram(raw)
        theirs, error = dsmr_parse(raw)
        label = f"breaker {breaker}, relays 1-4 at {relay}" + (
            " (the printed example)" if breaker == 1 else ""
        )
        ours = (
            f"breaker {telegram.value('0-0:96.3.10')}, relays {telegram.relays}, "
            f"M-Bus channels {[d.channel for d in telegram.mbus]}"
        )
        if theirs is None:
            finding.row(label, ours, f"raises {error}", differs=True)
            continue
        attribute = theirs.ACTUAL_SWITCH_POSITION.value
        legacy = theirs[DSMR.obis.ACTUAL_SWITCH_POSITION].value
        devices = {
            d.channel_id: [name for name, _ in d]
            for d in getattr(theirs, "MBUS_DEVICES", [])
        }
        phantom = {
            ch: names
            for ch, names in devices.items()
            if "MBUS_DEVICE_TYPE" not in names
        }
        text = (
            f"telegram.ACTUAL_SWITCH_POSITION = {attribute} (dict form telegram[ACTUAL_SWITCH_POSITION] = "
            f"{legacy}); MBUS_DEVICES channels {sorted(devices)}"
            + (
                f", of which {sorted(phantom)} hold only {sorted({n for v in phantom.values() for n in v})}"
                if phantom
                else ""
            )
        )
        finding.row(
            label,
            ours,
            text,
            differs=attribute != breaker
            or sorted(devices) != [d.channel for d in telegram.mbus],
            breaker_sent=breaker,
            dsmr_breaker_attribute=attribute,
            dsmr_breaker_dict=legacy,
            dsmr_mbus_channels=sorted(devices),
            dsmr_phantom_channels=sorted(phantom),
        )
    return finding


def _e21_at(second: int) -> list[str]:
    """Return the E.2.1 example with its clock at 13:54:``second``."""
    return set_line(E21_3PHASE, "0-0:1.0.0", f"(2005121354{second:02d}S)")


async def _dsmr_over_tcp(chunks: list[bytes]) -> dict[str, Any]:
    """Serve ``chunks`` over a loopback TCP socket to dsmr_parser's DSMRProtocol."""
    loop = asyncio.get_running_loop()
    errors: list[str] = []
    loop.set_exception_handler(
        lambda _loop, context: errors.append(
            f"{context.get('message')} ({_err(context['exception']) if 'exception' in context else ''})"
        )
    )
    received: list[Any] = []

    async def serve(
        _reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(OSError):
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, protocol = await loop.create_connection(
        lambda: dsmr_protocol(received.append), "127.0.0.1", port
    )
    closed_early = False
    try:
        await asyncio.wait_for(protocol.wait_closed(), timeout=0.3 + 0.05 * len(chunks))
        closed_early = True
    except TimeoutError:
        pass
    transport.close()
    server.close()
    await server.wait_closed()
    return {
        "telegrams": len(received),
        "connection_closed_by_error": closed_early and bool(errors),
        "errors": errors,
    }


def case_non_ascii() -> Finding:
    """Feed a stray byte >= 0x80 (one flipped bit) inside a telegram, and one between telegrams."""
    finding = Finding(
        "non_ascii", "Stray non-ASCII byte in the stream", why=WHY["non_ascii"]
    )
    first, last = frame(_e21_at(9)), frame(_e21_at(10))
    corrupted = bytearray(frame(_e21_at(11)))
    at = corrupted.index(b"1-0:32.7.0(") + len("1-0:32.7.0(")
    corrupted[at] |= 0x80  # '2' -> 0xB2: a single bit flipped on the line
    cases = {
        "0xB2 inside the middle telegram of 3 (its CRC no longer matches)": [
            first,
            bytes(corrupted),
            last,
        ],
        "0xB2 between telegrams (idle-line noise)": [first, b"\xb2", last],
    }
    for label, chunks in cases.items():
        stream = P1Stream()
        ours = [t for chunk in chunks for t in stream.feed(chunk)]
        rejected = stream.pop_rejections()
        ours_text = f"{plural(len(ours), 'telegram')}, rejected: {[r.reason.value for r in rejected] or 'none'}"
        # Its protocol object, chunk by chunk, without a transport.
        received: list[Any] = []
        protocol = dsmr_protocol(received.append)
        raised = None
        for chunk in chunks:
            try:
                protocol.data_received(chunk)
            except Exception as err:  # noqa: BLE001 - the crash is the observation
                raised = _err(err)
        # Its buffer and parser without the protocol's ASCII check.
        buffer, parsed, parse_errors = DSMR.TelegramBuffer(), 0, []
        for chunk in chunks:
            buffer.append(chunk.decode("latin-1"))
            for text in buffer.get_all():
                theirs, error = dsmr_parse(text.encode("latin-1"))
                parsed += theirs is not None
                if error:
                    parse_errors.append(error.split(":")[0])
        tcp = (
            asyncio.run(_dsmr_over_tcp(chunks))
            if DSMR.DSMRProtocol is not None
            else None
        )
        text = f"DSMRProtocol.data_received: {plural(len(received), 'telegram')}" + (
            f", raised {raised}" if raised else ", no exception"
        )
        if tcp is not None:
            text += (
                f"; over a real asyncio TCP connection: {plural(tcp['telegrams'], 'telegram')}, "
                + (
                    "connection closed: " + "; ".join(tcp["errors"])
                    if tcp["connection_closed_by_error"]
                    else "connection stays up"
                )
            )
        text += f"; TelegramBuffer + parse without the ASCII check: {plural(parsed, 'telegram')}, errors {parse_errors or 'none'}"
        finding.row(
            label,
            ours_text,
            text,
            differs=raised is not None
            or (tcp is not None and tcp["telegrams"] != len(ours))
            or len(received) != len(ours),
            emucs_telegrams=len(ours),
            dsmr_telegrams=len(received),
            dsmr_exception=raised,
            dsmr_tcp=tcp,
        )
    return finding


def case_lower_crc() -> Finding:
    """CRC hex digits in lower case."""
    finding = Finding("lower_crc", "Lower-case CRC hex digits", why=WHY["lower_crc"])
    for second in range(60):
        lines = _e21_at(second)
        if any(c in "ABCDEF" for c in frame(lines)[-6:-2].decode()):
            break
    raw = frame(lines, lower_crc=True)
    ours = P1Stream().feed(raw)
    theirs, error = dsmr_parse(raw)
    received: list[Any] = []
    protocol = dsmr_protocol(received.append)
    protocol.data_received(raw)
    # A normal telegram follows.
    protocol.data_received(frame(_e21_at((second + 1) % 60)))
    finding.row(
        f"CRC {raw[-6:-2].decode()}",
        f"{len(ours)} telegram (CRC accepted)",
        f"TelegramParser.parse: {'ok' if theirs is not None else 'raises ' + str(error)}; "
        f"DSMRProtocol (this telegram, then a normal one): {len(received)} of 2 delivered"
        + (", the lower-case one silently dropped" if len(received) < 2 else ""),
        differs=theirs is None or len(received) < 2,
    )
    return finding


def case_deactivated() -> Finding:
    """Limiter and fuse supervision at their format maximum."""
    finding = Finding(
        "deactivated",
        "Limiter / fuse supervision 'deactivated' values",
        why=WHY["deactivated"],
    )
    keys = ("0-0:17.0.0", "1-0:31.4.0")
    _compare_row(finding, "E.2.1: 99.999 kW / 999.99 A", frame(E21_3PHASE), keys)
    _compare_row(
        finding,
        "1.7.1: 999.9 kW / 999 A",
        frame(real_meter_form(template("spec_171_3phase.txt"))),
        keys,
    )
    active = set_line(
        set_line(E21_3PHASE, "0-0:17.0.0", "(06.900*kW)"), "1-0:31.4.0", "(025.00*A)"
    )
    _compare_row(finding, "active: 6.9 kW / 25 A", frame(active), keys)
    return finding


def case_history() -> Finding:
    """0-0:98.1.0 peak history."""
    finding = Finding("history", "0-0:98.1.0 monthly peak history", why=WHY["history"])
    keys = ("0-0:98.1.0",)
    variants = {
        "3 entries (spec example), peak times": history_groups(3),
        "13 entries": history_groups(13),
        "empty: (0)(1-0:1.6.0)(1-0:1.6.0)": "(0)(1-0:1.6.0)(1-0:1.6.0)",
        "empty: (0)": "(0)",
        "13 entries, 2 months without data (632525252525W)": history_groups(
            13, no_data_months=(4, 11)
        ),
    }
    for label, groups in variants.items():
        comparison = _compare_row(
            finding, label, frame(set_line(E21_3PHASE, "0-0:98.1.0", groups)), keys
        )
        if comparison is not None and comparison.different:
            diff = comparison.different["0-0:98.1.0"]
            ours, theirs = diff["emucs"], diff["dsmr_parser"]
            if isinstance(ours, list) and isinstance(theirs, list):
                entries = [
                    {"index": i, "emucs": a, "dsmr_parser": b}
                    for i, (a, b) in enumerate(itertools.zip_longest(ours, theirs))
                    if a != b
                ]
                finding.rows[-1]["dsmr_parser"] = (
                    f"{len(theirs)} entries; first differing: {json.dumps(entries[0])}"
                )
    return finding


def case_gas_placeholder() -> Finding:
    """``(632525252525W)(00000.000)``: the gas meter has no reading yet."""
    finding = Finding(
        "gas_placeholder",
        "Gas 'no reading yet' placeholder",
        why=WHY["gas_placeholder"],
    )
    raw = frame(set_line(E21_3PHASE, "0-1:24.2.3", "(632525252525W)(00000.000)"))
    _compare_row(
        finding, "0-1:24.2.3(632525252525W)(00000.000)", raw, ("mbus.1.reading",)
    )
    return finding


def case_timestamps() -> Finding:
    """S/W flags: the repeated autumn hour, and a flag the zone disagrees with."""
    finding = Finding(
        "timestamps", "TST timestamps and the S/W flag", why=WHY["timestamps"]
    )
    keys = ("0-0:1.0.0", "1-0:1.6.0")
    for label, stamp in {
        "27 Oct 2024 02:30:00 S (first 02:30, UTC+2)": "241027023000S",
        "27 Oct 2024 02:30:00 W (second 02:30, UTC+1)": "241027023000W",
        "15 Jul 2024 12:00:00 W (synthetic: flag contradicts the calendar)": "240715120000W",
        "15 Jan 2024 12:00:00 S (synthetic: flag contradicts the calendar)": "240115120000S",
    }.items():
        lines = set_line(E21_3PHASE, "0-0:1.0.0", f"({stamp})")
        lines = set_line(lines, "1-0:1.6.0", f"({stamp})(02.589*kW)")
        _compare_row(finding, label, frame(lines), keys)
    # The spec's own example flags two winter dates with S (200305122139S, 200301000000S).
    _compare_row(
        finding,
        "E.2.1 example's 0-0:98.1.0 as sent (S flag on 1 and 5 March 2020)",
        frame(E21_3PHASE),
        ("0-0:98.1.0",),
    )
    comparison_row = finding.rows[-1]
    if comparison_row["differs"]:
        diff = comparison_row["different"]["0-0:98.1.0"]
        comparison_row["dsmr_parser"] = "; ".join(
            f"entry {i} {name} {theirs[name]} (eMUCS {ours[name]})"
            for i, (ours, theirs) in enumerate(
                zip(diff["emucs"], diff["dsmr_parser"], strict=False)
            )
            for name in ("period_start", "timestamp", "value", "unit")
            if ours.get(name) != theirs.get(name)
        )
    return finding


def _mbus_lines(
    channel: int, device_type: int, ident: str, part: str, reading: str
) -> list[str]:
    return [
        f"0-{channel}:24.1.0({device_type:03d})",
        f"0-{channel}:96.1.1({ident.encode().hex().upper()})",
        f"0-{channel}:24.2.{part}(200512134558S)({reading}*m3)",
    ]


def case_mbus() -> Finding:
    """Water on channel 1 and a device on channel 5."""
    finding = Finding(
        "mbus", "M-Bus devices: water on channel 1, gas on channel 5", why=WHY["mbus"]
    )
    base = drop_lines(E21_3PHASE, *(f"0-{c}:" for c in range(1, 9)))
    water_first = (
        base
        + _mbus_lines(1, 7, "3WAT1234567890", "1", "00123.456")
        + _mbus_lines(2, 3, "7FLO2119033733", "3", "03456.789")
    )
    channel5 = base + _mbus_lines(5, 3, "7FLO2119033733", "3", "03456.789")
    for label, lines in (
        ("water (type 7) on channel 1, gas on 2", water_first),
        ("gas on channel 5", channel5),
    ):
        raw = frame(lines)
        comparison = _compare_row(finding, label, raw, prefix="mbus.")
        telegram = decode_telegram(raw)
        finding.rows[-1]["emucs"] = ", ".join(
            f"channel {d.channel}: {d.medium} {d.reading.value if d.reading else None}"
            for d in telegram.mbus
        )
        if comparison is not None and not comparison.differs:
            theirs, _ = dsmr_parse(raw)
            finding.rows[-1]["dsmr_parser"] = (
                "same values; "
                + ", ".join(
                    f"channel {d.channel_id}: type {d.MBUS_DEVICE_TYPE.value} {d.MBUS_METER_READING.value}"
                    for d in theirs.MBUS_DEVICES
                )
                + " (medium left to the caller)"
            )
    return finding


def case_unknown_objects() -> Finding:
    """Objects dsmr_parser's Belgian specification does not read."""
    finding = Finding(
        "not_read",
        "Objects dsmr_parser does not read (E.2.1 example + unknown lines)",
        why=WHY["not_read"],
    )
    lines = [
        *E21_3PHASE,
        "0-0:96.13.1(3132)",
        "0-0:96.7.21(00004)",
        "1-0:99.99.99(123*Xy)",
    ]
    raw = frame(lines)
    telegram = decode_telegram(raw)
    ours = ours_view(telegram)
    theirs, error = dsmr_parse(raw)
    if theirs is None:
        finding.row("E.2.1 + 3 extra lines", "decoded", f"raises {error}", differs=True)
        return finding
    comparison = compare(ours, dsmr_view(theirs))
    not_read = [k for k in comparison.not_read if not k.endswith(".medium")]
    finding.row(
        "E.2.1 three-phase + 0-0:96.13.1, 0-0:96.7.21, 1-0:99.99.99",
        "; ".join(f"{k} = {_short(ours[k], 40)}" for k in not_read),
        "absent: " + ", ".join(not_read),
        differs=bool(not_read),
        not_read=not_read,
    )
    return finding


def case_buffer() -> Finding:
    """10 MB of garbage with '/' but no '!' into each stream buffer."""
    finding = Finding(
        "buffer",
        "Buffer cap: 10 MB of garbage containing '/' but no '!'",
        why=WHY["buffer"],
    )
    size, chunk_size = 10 * 1024 * 1024, 64 * 1024
    pattern = bytes(b for b in range(256) if b != ord("!"))
    garbage = (pattern * (size // len(pattern) + 1))[:size]
    valid = frame(E21_3PHASE)

    stream, peak = P1Stream(), 0
    start = time.perf_counter()
    for offset in range(0, size, chunk_size):
        stream.feed(garbage[offset : offset + chunk_size])
        peak = max(peak, stream.framer.buffered)
    ours_s = time.perf_counter() - start
    ours_after = len(stream.feed(valid))

    buffer, their_peak = DSMR.TelegramBuffer(), 0
    start = time.perf_counter()
    for offset in range(0, size, chunk_size):
        buffer.append(garbage[offset : offset + chunk_size].decode("latin-1"))
        list(buffer.get_all())
        their_peak = max(their_peak, len(buffer._buffer))  # noqa: SLF001 - its size is the point
    their_s = time.perf_counter() - start
    buffer.append(valid.decode("latin-1"))
    their_after = len(list(buffer.get_all()))
    finding.row(
        f"{size // 2**20} MiB in {chunk_size // 1024} KiB chunks, then one valid telegram",
        f"buffer never above {peak:,} bytes (cap {p1_framer.MAX_TELEGRAM_SIZE:,}); {ours_s:.2f} s; "
        f"then {ours_after} telegram",
        f"TelegramBuffer grew to {their_peak:,} characters; {their_s:.2f} s; then {their_after} telegram",
        differs=their_peak > 4 * p1_framer.MAX_TELEGRAM_SIZE,
        emucs_peak_bytes=peak,
        dsmr_peak_chars=their_peak,
    )
    return finding


# On the real-meter E.2.1 example these keys differ for a reason shown by a finding.
KNOWN_DIFFERENCES = {
    "0-0:98.1.0": "timestamps",
    "0-0:96.3.10": "relays",
    "mbus.channels": "relays",
    "0-0:17.0.0": "deactivated",
    "1-0:31.4.0": "deactivated",
}


def agreement() -> dict[str, Any]:
    """Field-by-field comparison on the E.2.1 three-phase example, real-meter form."""
    _, ours, _, theirs, error = _decode_both(frame(E21_3PHASE))
    if theirs is None:
        return {
            "error": error,
            "equal": [],
            "different": {},
            "not_read_by_dsmr_parser": [],
            "only_dsmr_parser": [],
        }
    comparison = compare(ours, theirs)
    return {
        "telegram": "e21_3phase",
        "equal": comparison.equal,
        "different": {
            key: {**diff, "finding": KNOWN_DIFFERENCES.get(key, "unexplained")}
            for key, diff in comparison.different.items()
        },
        "missing_in_dsmr_parser": comparison.lost,
        "not_read_by_dsmr_parser": comparison.not_read,
        "only_dsmr_parser": comparison.only_dsmr,
        "values": {key: ours[key] for key in comparison.equal},
    }


@section("p1-diff", "p1", "P1 correctness differences vs dsmr_parser")
def p1_diff(opts: Options) -> dict[str, Any]:
    """Run both decoders over the spec examples and the quirk cases; print what differs."""
    if DSMR is None:
        opts.say("dsmr_parser is not installed: nothing to compare.")
        return {"skipped": "dsmr_parser not installed"}
    agree = agreement()
    opts.say(
        f"\nE.2.1 three-phase example (real-meter form): {len(agree['equal'])} fields identical in both decoders; "
        f"different: {', '.join(agree['different']) or 'none'}; "
        f"not read by dsmr_parser: {', '.join(agree['not_read_by_dsmr_parser']) or 'none'}"
    )
    findings = [
        case_spec_examples(),
        case_relays(),
        case_non_ascii(),
        case_lower_crc(),
        case_deactivated(),
        case_history(),
        case_gas_placeholder(),
        case_timestamps(),
        case_mbus(),
        case_unknown_objects(),
        case_buffer(),
    ]
    for finding in findings:
        opts.say(f"\n[{'DIFFERS' if finding.differs else 'same'}] {finding.title}")
        for row in finding.rows:
            mark = "!=" if row["differs"] else "=="
            opts.say(f"  {mark} {row['input']}")
            opts.say(f"       eMUCS:       {row['emucs']}")
            opts.say(f"       dsmr_parser: {row['dsmr_parser']}")
        if finding.differs and finding.why:
            opts.say(f"  why: {finding.why}")
    return {"agreement": agree, "findings": [finding.as_dict() for finding in findings]}
