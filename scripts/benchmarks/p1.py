"""P1 benchmark ``p1-speed``: decode throughput against dsmr_parser, in one run.

dsmr_parser is the library Home Assistant's ``dsmr`` integration uses (specification
``BELGIUM_FLUVIUS``). Every contender handles the same sequence of telegrams, a meter's
telegram over ``SECONDS`` seconds: bytes in, decoded telegram (or its JSON text) out,
CRC checked on both sides. Also the telegram helpers and the dsmr_parser loader that
``p1_diff`` shares.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
import itertools
import logging
import re
from typing import Any

from benchmarks.harness import Options, measure, paired_ratio, ratio, section
from custom_components.emucs.cli.p1_format import json_line
from custom_components.emucs.protocol import (
    P1Stream,
    crc as crc_module,
    decode_telegram,
    p1 as p1_module,
    p1_framer,
)
from tests.telegrams import build_telegram, load_template


def template(name: str) -> list[str]:
    """Lines of a spec example in ``tests/fixtures`` as printed, without its ``!XXXX`` line."""
    lines = load_template(name).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not lines[-1].startswith("!"):
        raise ValueError(f"{name}: last line is not the '!' line")
    return lines[:-1]


def real_meter_form(lines: list[str]) -> list[str]:
    """Join lines broken inside an object and drop blanks before ``(``, as real meters send."""
    header, blank, *data = lines
    joined: list[str] = []
    for line in data:
        if joined and not joined[-1].endswith(")"):
            joined[-1] += line
        else:
            joined.append(line)
    return [header, blank, *(re.sub(r"\s+\(", "(", line) for line in joined)]


def frame(lines: list[str], *, lower_crc: bool = False) -> bytes:
    """Real bytes: CRLF line ends, CRC-16/ARC over ``/``..``!`` as 4 hex digits, CRLF."""
    text = "\n".join(lines) + "\n!"
    return build_telegram(text.encode("latin-1"), lowercase_crc=lower_crc)


def set_line(lines: list[str], obis: str, groups: str) -> list[str]:
    """Replace the line of ``obis`` by ``obis + groups`` (appended if absent)."""
    out = [obis + groups if line.startswith(obis + "(") else line for line in lines]
    if out == lines and obis + groups not in lines:
        out.append(obis + groups)
    return out


def drop_lines(lines: list[str], *prefixes: str) -> list[str]:
    """Remove the lines starting with any of ``prefixes``."""
    return [line for line in lines if not line.startswith(prefixes)]


def _flag(month: int) -> str:
    # Days 1-20 only: from April to October Belgian meters are on summer time.
    return "S" if 4 <= month <= 10 else "W"


def history_groups(entries: int, *, no_data_months: tuple[int, ...] = ()) -> str:
    """Return the groups of a 0-0:98.1.0 line with ``entries`` months back from May 2020.

    Months whose index is in ``no_data_months`` have no peak (``632525252525W``).
    """
    groups = f"({entries})(1-0:1.6.0)(1-0:1.6.0)"
    year, month = 2020, 5
    for index in range(entries):
        start = f"{year % 100:02d}{month:02d}01000000{_flag(month)}"
        if index in no_data_months:
            peak, value = "632525252525W", 0.0
        else:
            day, hour, minute = 3 + index, 7 + index % 12, (17 * index) % 60
            peak = f"{year % 100:02d}{month:02d}{day:02d}{hour:02d}{minute:02d}21{_flag(month)}"
            value = 2.5 + 0.317 * index
        groups += f"({start})({peak})({value:06.3f}*kW)"
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return groups


E21_3PHASE_PRINTED = template("spec_e21_3phase.txt")
E21_3PHASE = real_meter_form(E21_3PHASE_PRINTED)
E21_HISTORY13 = set_line(E21_3PHASE, "0-0:98.1.0", history_groups(13))

SPEC_EXAMPLES = {
    "spec_e21_3phase.txt": "E.2.1 three-phase",
    "spec_e21_1phase.txt": "E.2.1 single-phase",
    "spec_171_3phase.txt": "1.7.1 three-phase",
    "spec_171_1phase.txt": "1.7.1 single-phase",
}


# --------------------------------------------------------------------------- dsmr_parser


def _dsmr() -> Any:
    """Return the dsmr_parser pieces, or None when it is not installed."""
    try:
        from dsmr_parser import obis_references, telegram_specifications  # noqa: PLC0415
        from dsmr_parser.clients.telegram_buffer import TelegramBuffer  # noqa: PLC0415
        from dsmr_parser.exceptions import InvalidChecksumError, ParseError  # noqa: PLC0415
        from dsmr_parser.parsers import TelegramParser  # noqa: PLC0415
    except ImportError:
        return None
    try:
        from dsmr_parser.clients.protocol import DSMRProtocol  # noqa: PLC0415
    except ImportError:
        # Its serial dependency is missing: _ReplayProtocol does what data_received does.
        DSMRProtocol = None  # noqa: N806
    # dsmr_parser logs every line it cannot parse at ERROR; we report what happens instead.
    logging.getLogger("dsmr_parser").setLevel(logging.CRITICAL + 1)
    return argparse.Namespace(
        obis=obis_references,
        spec=telegram_specifications.BELGIUM_FLUVIUS,
        TelegramParser=TelegramParser,
        TelegramBuffer=TelegramBuffer,
        DSMRProtocol=DSMRProtocol,
        ParseError=ParseError,
        InvalidChecksumError=InvalidChecksumError,
    )


DSMR = _dsmr()


class _ReplayProtocol:
    """What DSMRProtocol.data_received does, for installs without its serial dependency."""

    def __init__(self, parser: Any, callback: Callable[[Any], None]) -> None:
        self.parser = parser
        self.callback = callback
        self.telegram_buffer = DSMR.TelegramBuffer()

    def data_received(self, data: bytes) -> None:
        self.telegram_buffer.append(data.decode("latin1"))
        for telegram in self.telegram_buffer.get_all():
            text = telegram.encode("latin1").decode("ascii")
            # DSMRProtocol.handle_telegram logs and skips these two.
            with contextlib.suppress(DSMR.ParseError, DSMR.InvalidChecksumError):
                self.callback(self.parser.parse(text))


def dsmr_protocol(callback: Callable[[Any], None]) -> Any:
    """dsmr_parser's asyncio protocol for ``5B`` (what HA's dsmr feeds), without a transport."""
    parser = DSMR.TelegramParser(DSMR.spec)
    if DSMR.DSMRProtocol is None:
        return _ReplayProtocol(parser, callback)
    return DSMR.DSMRProtocol(None, parser, telegram_callback=callback)


# --------------------------------------------------------------------------- timing


@contextlib.contextmanager
def crc_function(func: Callable[[Any], int]) -> Iterator[None]:
    """Make the framer and ``decode_telegram`` use ``func`` as CRC-16/ARC, then restore.

    The protocol modules look ``crc16_arc`` up as a module global at call time; this
    swaps that global in both and puts the originals back whatever happens.
    """
    modules = [p1_framer, p1_module]
    saved = [module.crc16_arc for module in modules]
    try:
        for module in modules:
            module.crc16_arc = func
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.crc16_arc = original


def _verify_crc_swap(raw: bytes) -> None:
    """Fail loudly if swapping the CRC global no longer reaches the framer and decoder."""
    calls = 0

    def counting(data: Any) -> int:
        nonlocal calls
        calls += 1
        return crc_module.pure_crc16_arc(data)

    with crc_function(counting):
        P1Stream().feed(raw)
        after_stream = calls
        decode_telegram(raw)
    if after_stream < 1 or calls < after_stream + 1:
        raise RuntimeError(
            "the pure-Python CRC variant did not reach P1Framer/decode_telegram: "
            "update crc_function() in scripts/bench.py"
        )


@dataclass(frozen=True, slots=True)
class Contender:
    """One way of getting a decoded telegram (or its JSON text) from its bytes."""

    key: str
    label: str
    make: Callable[[list[bytes]], Callable[[], object]]
    """Build the callable to time; each call handles the next telegram of the sequence."""
    context: Callable[[], contextlib.AbstractContextManager[None]] = (
        contextlib.nullcontext
    )
    ours: bool = True


def _cycle[T](items: list[T]) -> Callable[[], T]:
    return itertools.cycle(items).__next__


def _ours_stream(raws: list[bytes]) -> Callable[[], object]:
    stream = P1Stream()  # one stream fed telegram after telegram, as from a port
    following = _cycle(raws)
    return lambda: stream.feed(following())


def _ours_decode(raws: list[bytes]) -> Callable[[], object]:
    following = _cycle(raws)
    return lambda: decode_telegram(following())


def _ours_json(raws: list[bytes]) -> Callable[[], object]:
    """Time what ``python -m custom_components.emucs p1 --json`` does per telegram."""
    stream = P1Stream()
    following = _cycle(raws)
    return lambda: [json_line(telegram) for telegram in stream.feed(following())]


def _dsmr_parse(raws: list[bytes], *, checksum: bool = True) -> Callable[[], object]:
    parser = DSMR.TelegramParser(DSMR.spec, apply_checksum_validation=checksum)
    following = _cycle([raw.decode("ascii") for raw in raws])  # its parser takes str
    return lambda: parser.parse(following())


def _dsmr_json(raws: list[bytes]) -> Callable[[], object]:
    parser = DSMR.TelegramParser(DSMR.spec)
    following = _cycle([raw.decode("ascii") for raw in raws])
    return lambda: parser.parse(following()).to_json()


def _dsmr_stream(raws: list[bytes]) -> Callable[[], object]:
    received: list[Any] = []
    protocol = dsmr_protocol(received.append)
    following = _cycle(raws)

    def run() -> object:
        protocol.data_received(following())
        return received.pop()  # IndexError if no telegram came out

    return run


def _pure_crc() -> contextlib.AbstractContextManager[None]:
    return crc_function(crc_module.pure_crc16_arc)


CONTENDERS = [
    Contender(
        "emucs_stream", "eMUCS P1Stream.feed (frame + CRC + decode)", _ours_stream
    ),
    Contender("emucs_decode", "eMUCS decode_telegram (CRC + decode)", _ours_decode),
    Contender(
        "emucs_stream_pure_crc",
        "eMUCS P1Stream.feed, pure-Python CRC",
        _ours_stream,
        _pure_crc,
    ),
    Contender(
        "emucs_decode_pure_crc",
        "eMUCS decode_telegram, pure-Python CRC",
        _ours_decode,
        _pure_crc,
    ),
    Contender(
        "dsmr_parse",
        "dsmr_parser TelegramParser.parse (CRC on)",
        _dsmr_parse,
        ours=False,
    ),
    Contender(
        "dsmr_parse_no_crc",
        "dsmr_parser parse, apply_checksum_validation=False",
        lambda raws: _dsmr_parse(raws, checksum=False),
        ours=False,
    ),
    Contender(
        "dsmr_stream",
        "dsmr_parser DSMRProtocol.data_received (HA path)",
        _dsmr_stream,
        ours=False,
    ),
    Contender(
        "emucs_stream_json",
        "eMUCS P1Stream.feed + JSON line (CLI p1 --json)",
        _ours_json,
    ),
    Contender(
        "dsmr_parse_json",
        "dsmr_parser parse + Telegram.to_json()",
        _dsmr_json,
        ours=False,
    ),
]

# Headline ratios: name -> (slower contender, faster contender).
HEADLINES = {
    "stream_vs_dsmr_parse": ("dsmr_parse", "emucs_stream"),
    "stream_vs_dsmr_stream": ("dsmr_stream", "emucs_stream"),
    "decode_vs_dsmr_parse": ("dsmr_parse", "emucs_decode"),
    "pure_crc_stream_vs_dsmr_parse": ("dsmr_parse", "emucs_stream_pure_crc"),
    "pure_crc_stream_vs_dsmr_stream": ("dsmr_stream", "emucs_stream_pure_crc"),
    "json_vs_dsmr_json": ("dsmr_parse_json", "emucs_stream_json"),
}

SECONDS = 600
"""Telegrams in a benchmark sequence, cycled through. Each second changes the lines of
``EVERY_SECOND``: 600 seconds hold more distinct lines than the decoder keeps (1,024)
and more distinct times than its timestamp cache (512), so a changed line is decoded
afresh each time, as from a meter; the lines that do not change are what repeats."""
EVERY_SECOND = (
    "0-0:1.0.0",
    "1-0:1.8.1",
    "1-0:1.4.0",
    "1-0:1.7.0",
    "1-0:21.7.0",
    "1-0:41.7.0",
    "1-0:61.7.0",
    "1-0:32.7.0",
    "1-0:52.7.0",
    "1-0:72.7.0",
    "1-0:31.7.0",
    "1-0:51.7.0",
    "1-0:71.7.0",
)
"""Clock, import register, demand, import powers, voltages and currents: more than a
meter changes in a second (a register steps 1 Wh at a time, export powers stay 0)."""
_NUMBER_RE = re.compile(r"\((\d+)\.(\d+)(\*\w+)\)$")


def _at_second(line: str, second: int) -> str:
    """Return the line as sent ``second`` seconds later: its number (or clock) moved on."""
    obis, paren, _ = line.partition("(")
    if obis not in EVERY_SECOND:
        return line
    if obis == "0-0:1.0.0":
        start = datetime.strptime(line[10:22], "%y%m%d%H%M%S")
        return f"{obis}({start + timedelta(seconds=second):%y%m%d%H%M%S}{line[22]})"
    match = _NUMBER_RE.search(line)
    if match is None:
        raise ValueError(f"no number to change in {line!r}")
    whole, fraction, unit = match.groups()
    digits = len(whole) + len(fraction)
    value = f"{(int(whole + fraction) + second) % 10**digits:0{digits}d}"
    return f"{obis}{paren}{value[: len(whole)]}.{value[len(whole) :]}{unit})"


def seconds(lines: list[str], count: int = SECONDS) -> list[bytes]:
    """Return the telegram of ``lines`` over ``count`` seconds, as real bytes."""
    return [frame([_at_second(line, s) for line in lines]) for s in range(count)]


SPEED_TELEGRAMS = {
    "e21_3phase": ("E.2.1 three-phase example, real-meter form", E21_3PHASE),
    "e21_history13": (
        "E.2.1 three-phase with a 13-month 0-0:98.1.0 history",
        E21_HISTORY13,
    ),
}


def _check_result(key: str, result: object) -> None:
    if isinstance(result, list):
        if len(result) != 1:
            raise RuntimeError(
                f"{key}: expected one telegram per call, got {len(result)}"
            )
    elif result is None:
        raise RuntimeError(f"{key}: no telegram decoded")


@section("p1-speed", "p1", "P1 decode throughput vs dsmr_parser")
def p1_speed(opts: Options) -> dict[str, Any]:
    """Time every contender on each benchmark telegram."""
    contenders = [c for c in CONTENDERS if c.ours or DSMR is not None]
    if DSMR is None:
        opts.say("dsmr_parser is not installed: timing eMUCS only, no ratios.")
    results: dict[str, Any] = {}
    for key, (title, lines) in SPEED_TELEGRAMS.items():
        raws = seconds(lines)
        raw = raws[0]
        _verify_crc_swap(raw)
        telegram = decode_telegram(raw)
        changing = sum(line.partition("(")[0] in EVERY_SECOND for line in lines)
        history = telegram.value("0-0:98.1.0")
        info: dict[str, Any] = {
            "title": title,
            "bytes": len(raw),
            "objects": len(telegram.objects),
            "history_entries": len(history) if isinstance(history, tuple) else None,
            "seconds": len(raws),
            "lines_changing_every_second": changing,
            "results": {},
        }
        opts.say(
            f"\n{title}: {len(raw)} bytes, {len(telegram.objects)} objects, "
            f"{len(raws)} seconds with {changing} lines changing every second"
        )
        opts.say(
            f"  {'contender':<52} {'µs/telegram':>12} {'(median)':>9}"
            f" {'telegrams/s':>12} {'vs dsmr parse':>14} {'(paired)':>9}"
        )
        runs = {}
        for contender in contenders:
            with contender.context():
                run = contender.make(raws)
                _check_result(contender.key, run())
            runs[contender.key] = (run, contender.context)
        timings = measure(runs, opts)
        for contender in contenders:
            info["results"][contender.key] = {
                "label": contender.label,
                **timings[contender.key],
            }
        res = info["results"]
        baseline = res.get("dsmr_parse")
        for result in res.values():
            result["speedup_vs_dsmr_parse"] = ratio(
                baseline and baseline["us_per_telegram"], result["us_per_telegram"]
            )
            result["paired_speedup_vs_dsmr_parse"] = paired_ratio(baseline, result)
            speedup, paired = (
                result["speedup_vs_dsmr_parse"],
                result["paired_speedup_vs_dsmr_parse"],
            )
            opts.say(
                f"  {result['label']:<52} {result['us_per_telegram']:>12.1f}"
                f" {result['median_us_per_telegram']:>9.1f}"
                f" {result['telegrams_per_s']:>12,.0f}"
                f" {'' if speedup is None else f'{speedup:.1f}x':>14}"
                f" {'' if paired is None else f'{paired:.1f}x':>9}"
            )
        # Bytes in, decoded telegram out, CRC checked, on both sides.
        info["headline"] = {
            name: ratio(
                res[slow]["us_per_telegram"] if slow in res else None,
                res[fast]["us_per_telegram"] if fast in res else None,
            )
            for name, (slow, fast) in HEADLINES.items()
        }
        info["headline_paired"] = {
            name: paired_ratio(res.get(slow), res.get(fast))
            for name, (slow, fast) in HEADLINES.items()
        }
        results[key] = info
    if DSMR is not None:
        opts.say(
            "\nRatios = dsmr_parser time / eMUCS time, same process, same telegram bytes: best of "
            f"{opts.repeats} interleaved runs of >= {opts.min_time:g} s each\n(GC off while timing); "
            "'paired' = median over the rounds of the ratio of runs taken side by side."
        )
        for key, info in results.items():
            head, paired = info["headline"], info["headline_paired"]
            opts.say(
                f"  {key}: P1Stream.feed is {head['stream_vs_dsmr_parse']:.1f}x "
                f"(paired {paired['stream_vs_dsmr_parse']:.1f}x) dsmr_parser's parse and "
                f"{head['stream_vs_dsmr_stream']:.1f}x (paired {paired['stream_vs_dsmr_stream']:.1f}x) "
                f"its DSMRProtocol path;\n    with the pure-Python CRC "
                f"{head['pure_crc_stream_vs_dsmr_parse']:.1f}x / {head['pure_crc_stream_vs_dsmr_stream']:.1f}x "
                f"(paired {paired['pure_crc_stream_vs_dsmr_parse']:.1f}x / "
                f"{paired['pure_crc_stream_vs_dsmr_stream']:.1f}x)."
            )
        for key, info in results.items():
            head, paired = info["headline"], info["headline_paired"]
            opts.say(
                f"  {key}: bytes to JSON text, P1Stream.feed + the CLI's JSON line is "
                f"{head['json_vs_dsmr_json']:.1f}x (paired {paired['json_vs_dsmr_json']:.1f}x) "
                "dsmr_parser's parse + to_json()."
            )
        opts.say(
            "  dsmr_parser's apply_checksum_validation=True (default) runs validate_checksum(): a regex "
            "over the telegram\n  and a per-character pure-Python CRC; False skips the CRC check entirely."
        )
    return {"telegrams": results}
