"""Benchmarks of the eMUCS protocol core; ``scripts/bench`` runs this file.

Sections (``--list`` shows them, ``--only`` picks sections or whole groups):

- ``p1-speed``: P1 decode throughput against dsmr_parser (the library Home Assistant's
  ``dsmr`` integration uses, Belgian specification ``BELGIUM_FLUVIUS``), all in one run
  so the ratios are meaningful.
- ``p1-diff``: what dsmr_parser returns where it differs from our decoder, observed on
  real bytes in this run (nothing is reported that was not seen).
- ``s1-speed``: the whole S1 pipeline (framing, FCS, decoding, 1-s analytics) on a
  simulated 4 kHz four-wire stream: against real time, and against the per-frame
  reference decoder feeding the same analyzer, in the same run.
- ``s1-loop``: what the asyncio side costs per second of S1 stream: appending the
  received chunks to a bounded buffer and handing a batch to a worker on a timer.

A section is a function registered with ``@section``. Speed is never asserted
anywhere: ``tests/test_bench.py`` only checks the JSON structure and that the
decoders agree where they should.

Usage: ``scripts/bench [--quick] [--json] [--only p1|s1] [--list]``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
import gc
import importlib.metadata
import itertools
import json
import logging
import math
import os
from pathlib import Path
import platform
import re
import statistics
import sys
import time
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from custom_components.emucs.protocol import (  # noqa: E402
    P1Stream,
    S1Framer,
    Telegram,
    crc as crc_module,
    decode_telegram,
    p1 as p1_module,
    p1_framer,
)
from custom_components.emucs.protocol.obis import ValueType  # noqa: E402
from custom_components.emucs.protocol.s1 import FRAME_SIZE  # noqa: E402
from custom_components.emucs.protocol.s1_analytics import S1Analyzer, S1Summary  # noqa: E402
from custom_components.emucs.protocol.s1_batch import S1Batch, S1BatchDecoder  # noqa: E402
from custom_components.emucs.protocol.s1_pipeline import MAX_FEED_BYTES, S1Feed  # noqa: E402
from custom_components.emucs.protocol.s1_sim import (  # noqa: E402
    PhaseSignal,
    SimConfig,
    SimTruth,
    harmonics,
    simulate,
)
from tests.telegrams import build_telegram, load_template  # noqa: E402

SCHEMA_VERSION = 1


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True, slots=True)
class Options:
    """How hard to measure and where results go."""

    quick: bool
    json: bool
    repeats: int
    min_time: float
    """Minimum duration of one timed repeat, in seconds."""
    s1_seconds: float
    """Length of the simulated S1 stream."""

    def say(self, text: str = "") -> None:
        """Print human-readable output (silent with ``--json``)."""
        if not self.json:
            print(text, flush=True)


type SectionRun = Callable[[Options], dict[str, Any]]
"""A section prints as it goes (unless ``--json``) and returns JSON-able results."""


@dataclass(frozen=True, slots=True)
class Section:
    """One part of the benchmark."""

    name: str
    group: str
    title: str
    run: SectionRun


SECTIONS: dict[str, Section] = {}


def section(name: str, group: str, title: str) -> Callable[[SectionRun], SectionRun]:
    """Register a section under ``name`` in ``group`` (``--only`` takes either)."""

    def register(func: SectionRun) -> SectionRun:
        SECTIONS[name] = Section(name, group, title, func)
        return func

    return register


# --------------------------------------------------------------------------- machine


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in (
            Path("/proc/cpuinfo")
            .read_text(encoding="utf-8", errors="replace")
            .splitlines()
        ):
            key, _, value = line.partition(":")
            if (
                key.strip() in ("model name", "Model", "Hardware", "cpu model")
                and value.strip()
            ):
                return value.strip()
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """Describe the machine and the libraries the figures were taken with."""
    fast = crc_module.crc16_arc is not crc_module.pure_crc16_arc
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "crc16_arc": "fastcrc" if fast else "pure Python",
        "fastcrc": _dist_version("fastcrc") if fast else None,
        "dsmr_parser": _dist_version("dsmr-parser"),
    }


# --------------------------------------------------------------------------- telegrams


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


def _timed(func: Callable[[], object], n: int) -> tuple[int, int]:
    """Call ``func`` n times; return the wall-clock and the CPU nanoseconds taken."""
    loop = itertools.repeat(None, n)
    enabled = gc.isenabled()
    gc.disable()  # as timeit does: the collector's timing is noise here
    try:
        start, cpu = time.perf_counter_ns(), time.process_time_ns()
        for _ in loop:
            func()
        return time.perf_counter_ns() - start, time.process_time_ns() - cpu
    finally:
        if enabled:
            gc.enable()


def _calibrate(func: Callable[[], object], opts: Options) -> int:
    """Warm up, then return how many calls make one run last ``opts.min_time``."""
    for _ in range(3):
        func()  # warm-up: caches, lazily built tables
    n, elapsed = 1, _timed(func, 1)[0]
    target = opts.min_time * 1e9
    while elapsed < target / 10:
        n *= 10
        elapsed = _timed(func, n)[0]
    return max(1, math.ceil(n * target / max(elapsed, 1)))


def measure(
    runs: dict[str, tuple[Callable[[], object], Callable[[], Any]]], opts: Options
) -> dict[str, dict[str, Any]]:
    """Time each ``key: (func, context factory)``: best of ``opts.repeats`` runs.

    The runs are interleaved (one run of each function per round, the order reversed
    every other round) so that a burst of load on the machine spreads over all of
    them instead of skewing one ratio; ``samples_us`` keeps every round's figure so
    ratios can also be taken round by round (see ``paired_ratio``). Times are wall
    clock; ``cpu_us_per_telegram`` is the least process CPU time of a round.
    """
    sizes = {}
    for key, (func, context) in runs.items():
        with context():
            sizes[key] = _calibrate(func, opts)
    samples: dict[str, list[float]] = {key: [] for key in runs}
    cpu: dict[str, list[float]] = {key: [] for key in runs}
    for round_ in range(opts.repeats):
        order = list(runs.items())
        for key, (func, context) in order if round_ % 2 == 0 else reversed(order):
            with context():
                wall_ns, cpu_ns = _timed(func, sizes[key])
            samples[key].append(wall_ns / sizes[key])
            cpu[key].append(cpu_ns / sizes[key])
    results = {}
    for key, values in samples.items():
        best = min(values)
        results[key] = {
            "us_per_telegram": best / 1000,
            "cpu_us_per_telegram": min(cpu[key]) / 1000,
            "telegrams_per_s": 1e9 / best,
            "median_us_per_telegram": statistics.median(values) / 1000,
            "samples_us": [value / 1000 for value in values],
            "iterations": sizes[key],
            "repeats": opts.repeats,
        }
    return results


@dataclass(frozen=True, slots=True)
class Contender:
    """One way of getting a decoded telegram from the bytes of one telegram."""

    key: str
    label: str
    make: Callable[[bytes], Callable[[], object]]
    """Build the callable to time; each call decodes the telegram once and returns the result."""
    context: Callable[[], contextlib.AbstractContextManager[None]] = (
        contextlib.nullcontext
    )
    ours: bool = True


def _ours_stream(raw: bytes) -> Callable[[], object]:
    stream = P1Stream()  # one stream fed telegram after telegram, as from a port
    return lambda: stream.feed(raw)


def _ours_decode(raw: bytes) -> Callable[[], object]:
    return lambda: decode_telegram(raw)


def _dsmr_parse(raw: bytes, *, checksum: bool = True) -> Callable[[], object]:
    parser = DSMR.TelegramParser(DSMR.spec, apply_checksum_validation=checksum)
    text = raw.decode("ascii")  # decoded once: its parser takes str
    return lambda: parser.parse(text)


def _dsmr_stream(raw: bytes) -> Callable[[], object]:
    received: list[Any] = []
    protocol = dsmr_protocol(received.append)

    def run() -> object:
        protocol.data_received(raw)
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
        lambda raw: _dsmr_parse(raw, checksum=False),
        ours=False,
    ),
    Contender(
        "dsmr_stream",
        "dsmr_parser DSMRProtocol.data_received (HA path)",
        _dsmr_stream,
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
}

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


def paired_ratio(
    slow: dict[str, Any] | None, fast: dict[str, Any] | None
) -> float | None:
    """Median over rounds of slow/fast, each round's two runs taken close together in time."""
    if not slow or not fast:
        return None
    return statistics.median(
        a / b for a, b in zip(slow["samples_us"], fast["samples_us"], strict=True)
    )


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


@section("p1-speed", "p1", "P1 decode throughput vs dsmr_parser")
def p1_speed(opts: Options) -> dict[str, Any]:
    """Time every contender on each benchmark telegram."""
    contenders = [c for c in CONTENDERS if c.ours or DSMR is not None]
    if DSMR is None:
        opts.say("dsmr_parser is not installed: timing eMUCS only, no ratios.")
    results: dict[str, Any] = {}
    for key, (title, lines) in SPEED_TELEGRAMS.items():
        raw = frame(lines)
        _verify_crc_swap(raw)
        telegram = decode_telegram(raw)
        history = telegram.value("0-0:98.1.0")
        info: dict[str, Any] = {
            "title": title,
            "bytes": len(raw),
            "objects": len(telegram.objects),
            "history_entries": len(history) if isinstance(history, tuple) else None,
            "results": {},
        }
        opts.say(f"\n{title}: {len(raw)} bytes, {len(telegram.objects)} objects")
        opts.say(
            f"  {'contender':<52} {'µs/telegram':>12} {'(median)':>9}"
            f" {'telegrams/s':>12} {'vs dsmr parse':>14} {'(paired)':>9}"
        )
        runs = {}
        for contender in contenders:
            with contender.context():
                run = contender.make(raw)
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
            result["speedup_vs_dsmr_parse"] = _ratio(
                baseline and baseline["us_per_telegram"], result["us_per_telegram"]
            )
            result["paired_speedup_vs_dsmr_parse"] = paired_ratio(baseline, result)
            ratio, paired = (
                result["speedup_vs_dsmr_parse"],
                result["paired_speedup_vs_dsmr_parse"],
            )
            opts.say(
                f"  {result['label']:<52} {result['us_per_telegram']:>12.1f}"
                f" {result['median_us_per_telegram']:>9.1f}"
                f" {result['telegrams_per_s']:>12,.0f}"
                f" {'' if ratio is None else f'{ratio:.1f}x':>14}"
                f" {'' if paired is None else f'{paired:.1f}x':>9}"
            )
        # Bytes in, decoded telegram out, CRC checked, on both sides.
        info["headline"] = {
            name: _ratio(
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
        opts.say(
            "  dsmr_parser's apply_checksum_validation=True (default) runs validate_checksum(): a regex "
            "over the telegram\n  and a per-character pure-Python CRC; False skips the CRC check entirely."
        )
    return {"telegrams": results}


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


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


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
        ours_text = f"{_plural(len(ours), 'telegram')}, rejected: {[r.reason.value for r in rejected] or 'none'}"
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
        text = f"DSMRProtocol.data_received: {_plural(len(received), 'telegram')}" + (
            f", raised {raised}" if raised else ", no exception"
        )
        if tcp is not None:
            text += (
                f"; over a real asyncio TCP connection: {_plural(tcp['telegrams'], 'telegram')}, "
                + (
                    "connection closed: " + "; ".join(tcp["errors"])
                    if tcp["connection_closed_by_error"]
                    else "connection stays up"
                )
            )
        text += f"; TelegramBuffer + parse without the ASCII check: {_plural(parsed, 'telegram')}, errors {parse_errors or 'none'}"
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


# --------------------------------------------------------------------------- S1
# A 4 kHz four-wire meter (the heaviest S1 stream: 4,000 frames of 45 bytes a second,
# 90 % of the 2 Mbit/s line) with harmonics on every channel and the neutral measured.

S1_FRAMES_PER_S = 4000
S1_HANDOFFS_MS = (100, 250)
"""How often the event loop hands the received bytes to the worker (DESIGN §1)."""
S1_CHUNKS = {
    62: "FT232R full-speed USB packet",
    510: "FT232H high-speed USB packet",
    1024: "serial_asyncio_fast read size",
    1460: "TCP segment",
}
"""Bytes per ``data_received`` call: what a wake-up of the event loop may bring."""
S1_BUFFER_LIMIT = MAX_FEED_BYTES
"""Bound of the receive buffer (about 2.6 s of a full line)."""


def s1_stream(seconds: float) -> tuple[bytes, SimTruth]:
    """Return ``seconds`` of the benchmark meter's bytes and their truth."""
    low = harmonics((3, 0.04), (5, 0.03), (7, 0.012), (11, 0.006))
    rich = harmonics((3, 0.35), (5, 0.2), (7, 0.1), (9, 0.05), (13, 0.03))
    config = SimConfig.four_wire(
        PhaseSignal(
            current_rms=8.0,
            current_lag_deg=25.0,
            voltage_harmonics=low,
            current_harmonics=rich,
        ),
        PhaseSignal(current_rms=3.0, current_harmonics=rich, voltage_harmonics=low),
        PhaseSignal(current_rms=12.0, current_lag_deg=170.0, voltage_harmonics=low),
        sampling=S1_FRAMES_PER_S // 100,
        frequency_hz=50.02,
        neutral_measured=True,
    )
    return simulate(config, seconds, seed=1)


def _s1_batch(data: bytes, step: int) -> Callable[[], list[S1Summary]]:
    def run() -> list[S1Summary]:
        decoder, analyzer = S1BatchDecoder(), S1Analyzer()
        summaries = []
        for start in range(0, len(data), step):
            summaries += analyzer.feed(decoder.feed(data[start : start + step]))
        return summaries

    return run


def _s1_decode_only(data: bytes, step: int) -> Callable[[], int]:
    def run() -> int:
        decoder = S1BatchDecoder()
        for start in range(0, len(data), step):
            decoder.feed(data[start : start + step])
        return decoder.stats.frames

    return run


def _s1_reference(data: bytes, step: int) -> Callable[[], list[S1Summary]]:
    """S1Framer (and decode_frame) per frame, columns for the same analyzer."""

    def run() -> list[S1Summary]:
        framer, analyzer = S1Framer(), S1Analyzer()
        summaries: list[S1Summary] = []
        last_sequence: int | None = None
        next_index = 0
        for start in range(0, len(data), step):
            frames = framer.feed(data[start : start + step])
            if not frames:
                continue
            # The sample grid continues across calls, as the batch decoder keeps it.
            batch = S1Batch.from_frames(frames, next_index, last_sequence)
            last_sequence = frames[-1].sequence
            next_index = int(batch.sample_index[-1]) + 1
            summaries += analyzer.feed(batch)
        return summaries

    return run


@dataclass(frozen=True, slots=True)
class S1Contender:
    """One way of getting S1 results from the bytes of the whole stream."""

    key: str
    label: str
    make: Callable[[bytes, int], Callable[[], object]]
    handoff_ms: int
    reference: str | None
    """Key of the per-frame contender it is compared with."""


S1_CONTENDERS = [
    S1Contender(
        f"{kind}_{ms}ms",
        f"{label}, batches of {ms} ms",
        make,
        ms,
        None if kind == "reference" else f"reference_{ms}ms",
    )
    for ms in S1_HANDOFFS_MS
    for kind, label, make in (
        ("batch", "S1BatchDecoder + S1Analyzer", _s1_batch),
        ("reference", "S1Framer/decode_frame + S1Analyzer", _s1_reference),
    )
] + [
    S1Contender(
        "batch_decode_only_250ms",
        "S1BatchDecoder alone (no analytics), batches of 250 ms",
        _s1_decode_only,
        250,
        None,
    )
]


def _s1_step(handoff_ms: int) -> int:
    return S1_FRAMES_PER_S * handoff_ms // 1000 * FRAME_SIZE


def _s1_check_agreement(data: bytes) -> int:
    """Both pipelines give the same windows, whatever the batch size; return how many."""
    expected = [s.to_dict() for s in _s1_reference(data, _s1_step(250))()]
    for ms in S1_HANDOFFS_MS:
        if [s.to_dict() for s in _s1_batch(data, _s1_step(ms))()] != expected:
            raise RuntimeError(f"batch and reference S1 results differ ({ms} ms)")
    if not expected:
        raise RuntimeError("no S1 window completed: use a longer stream")
    return len(expected)


@section(
    "s1-speed", "s1", "S1 pipeline throughput vs real time and the reference decoder"
)
def s1_speed(opts: Options) -> dict[str, Any]:
    """Time framing + FCS + decode + analytics over a simulated 4 kHz four-wire stream."""
    seconds = opts.s1_seconds
    data, truth = s1_stream(seconds)
    frames = truth.frames
    windows = _s1_check_agreement(data)
    opts.say(
        f"\n{seconds:g} s of a 4 kHz four-wire stream with harmonics: {frames:,} frames, "
        f"{len(data):,} bytes, {_plural(windows, 'window')} (identical from both pipelines)"
    )
    runs: dict[str, tuple[Callable[[], object], Callable[[], Any]]] = {
        c.key: (c.make(data, _s1_step(c.handoff_ms)), contextlib.nullcontext)
        for c in S1_CONTENDERS
    }
    timings = measure(runs, opts)
    results: dict[str, Any] = {}
    opts.say(
        f"  {'contender':<58} {'ms/pass':>8} {'frames/s':>11} {'x real time':>12}"
        f" {'CPU %':>6} {'vs reference':>13} {'(paired)':>9}"
    )
    for c in S1_CONTENDERS:
        t = timings[c.key]
        wall, cpu = t["us_per_telegram"] / 1e6, t["cpu_us_per_telegram"] / 1e6
        ref = timings.get(c.reference or "")
        result = {
            "label": c.label,
            "handoff_ms": c.handoff_ms,
            "seconds_per_pass": wall,
            "median_seconds_per_pass": t["median_us_per_telegram"] / 1e6,
            "cpu_seconds_per_pass": cpu,
            "frames_per_s": frames / wall,
            "x_real_time": seconds / wall,
            "cpu_percent_at_4000_frames_per_s": 100.0 * cpu / seconds,
            "vs_reference": _ratio(
                ref["us_per_telegram"] if ref else None, t["us_per_telegram"]
            ),
            "paired_vs_reference": paired_ratio(ref, t) if ref else None,
            "samples_us": t["samples_us"],
            "iterations": t["iterations"],
            "repeats": t["repeats"],
        }
        results[c.key] = result
        ratio, paired = result["vs_reference"], result["paired_vs_reference"]
        opts.say(
            f"  {c.label:<58} {wall * 1e3:>8.1f} {result['frames_per_s']:>11,.0f}"
            f" {result['x_real_time']:>11.0f}x {result['cpu_percent_at_4000_frames_per_s']:>6.2f}"
            f" {'' if ratio is None else f'{ratio:.1f}x':>13}"
            f" {'' if paired is None else f'{paired:.1f}x':>9}"
        )
    headline = {
        f"{ms}ms": {
            key: results[f"batch_{ms}ms"][key]
            for key in (
                "x_real_time",
                "cpu_percent_at_4000_frames_per_s",
                "vs_reference",
                "paired_vs_reference",
            )
        }
        for ms in S1_HANDOFFS_MS
    }
    opts.say(
        f"\nBest of {opts.repeats} interleaved runs of >= {opts.min_time:g} s (GC off); CPU % = process CPU "
        "time per second of stream.\n  Full pipeline, bytes to 1-s summaries: "
        + "; ".join(
            f"{ms.removesuffix('ms')} ms batches {h['x_real_time']:.0f}x real time ({h['cpu_percent_at_4000_frames_per_s']:.2f} % CPU), "
            f"{h['vs_reference']:.1f}x the reference (paired {h['paired_vs_reference']:.1f}x)"
            for ms, h in headline.items()
        )
    )
    return {
        "stream": {
            "seconds": seconds,
            "frames": frames,
            "bytes": len(data),
            "sample_rate_hz": truth.sample_rate_hz,
            "wiring": "four_wire",
            "windows": windows,
        },
        "results": results,
        "headline": headline,
    }


class S1Receiver:
    """The S1 coordinator's event-loop side: append chunks, hand batches off.

    ``S1Feed.append`` per chunk; on a timer ``S1Feed.take`` and a hand-off to the
    worker thread.
    """

    __slots__ = ("_executor", "_feed", "_loop", "_timers")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor
    ) -> None:
        """Receive for ``loop``; batches go to ``executor``."""
        self._loop = loop
        self._executor = executor
        self._feed = S1Feed()
        self._timers: list[asyncio.TimerHandle] = []

    def data_received(self, data: bytes) -> None:
        """``asyncio.Protocol.data_received``: what the link hands the feed."""
        self._feed.append(data)

    def hand_off(self, every_s: float) -> asyncio.Future[int]:
        """Run the timer callback: take the batch, start the worker, re-arm the timer."""
        data, _restart = self._feed.take()
        self._timers.append(self._loop.call_later(every_s, len, b""))
        return self._loop.run_in_executor(self._executor, len, data)

    def cancel_timers(self) -> None:
        """Cancel the timers armed so far."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()


async def _s1_loop_samples(
    data: bytes, chunk: int, handoff_ms: int, repeats: int
) -> list[int]:
    """Event-loop nanoseconds for the whole of ``data``, once per repeat."""
    loop = asyncio.get_running_loop()
    every = _s1_step(handoff_ms)
    # What the transport delivers, and where a hand-off timer fires in between.
    calls = [
        (data[start : start + chunk], (start + chunk) // every > start // every)
        for start in range(0, len(data), chunk)
    ]
    samples = []
    with ThreadPoolExecutor(1) as executor:
        for _ in range(repeats):
            receiver = S1Receiver(loop, executor)
            futures = []
            gc.disable()
            try:
                start = time.perf_counter_ns()
                for piece, due in calls:
                    receiver.data_received(piece)
                    if due:
                        futures.append(receiver.hand_off(handoff_ms / 1000))
                samples.append(time.perf_counter_ns() - start)
            finally:
                gc.enable()
            await asyncio.gather(*futures)
            receiver.cancel_timers()
    return samples


@section("s1-loop", "s1", "Event-loop time per second of S1 (appends and hand-offs)")
def s1_loop(opts: Options) -> dict[str, Any]:
    """Time what the asyncio side does with a second of S1 bytes."""
    seconds = min(opts.s1_seconds, 5.0)
    data, _ = s1_stream(seconds)
    repeats = max(opts.repeats, 5)
    opts.say(
        f"\n{len(data) / seconds:,.0f} bytes per second appended to the integration's "
        f"S1Feed (bounded at {S1_BUFFER_LIMIT // 1024} KiB), handed to a worker thread "
        "on each timer;\n"
        "the worker does nothing, so only the event loop's own work is timed (not the "
        "transport's reads and wake-ups).\n"
        f"  {'bytes per data_received':<46} {'calls/s':>8} "
        + " ".join(f"{f'{ms} ms: ms/s':>12} {'(median)':>9}" for ms in S1_HANDOFFS_MS)
    )
    results: dict[str, Any] = {}
    for chunk, what in S1_CHUNKS.items():
        row: dict[str, Any] = {"what": what, "calls_per_s": len(data) / chunk / seconds}
        text = f"  {f'{chunk} ({what})':<46} {row['calls_per_s']:>8,.0f} "
        for ms in S1_HANDOFFS_MS:
            values = asyncio.run(_s1_loop_samples(data, chunk, ms, repeats))
            per_s = [value / 1e6 / seconds for value in values]
            row[f"{ms}ms"] = {
                "ms_per_s": min(per_s),
                "median_ms_per_s": statistics.median(per_s),
                "handoffs_per_s": 1000 / ms,
            }
            text += f"{min(per_s):>12.3f} {statistics.median(per_s):>9.3f} "
        results[str(chunk)] = row
        opts.say(text.rstrip())
    worst = max(
        row[f"{ms}ms"]["ms_per_s"] for row in results.values() for ms in S1_HANDOFFS_MS
    )
    opts.say(
        f"\nWorst case: {worst:.2f} ms of event-loop time per second of S1 stream."
    )
    return {
        "seconds": seconds,
        "bytes_per_s": len(data) / seconds,
        "buffer_limit": S1_BUFFER_LIMIT,
        "repeats": repeats,
        "chunks": results,
        "worst_ms_per_s": worst,
    }


# --------------------------------------------------------------------------- main


def _select(only: list[str]) -> list[Section]:
    if not only:
        return list(SECTIONS.values())
    wanted = {name.strip() for item in only for name in item.split(",") if name.strip()}
    unknown = wanted - set(SECTIONS) - {s.group for s in SECTIONS.values()}
    if unknown:
        raise SystemExit(
            f"unknown section(s): {', '.join(sorted(unknown))} (see --list)"
        )
    return [s for s in SECTIONS.values() if s.name in wanted or s.group in wanted]


def main(argv: list[str] | None = None) -> int:
    """Run the selected sections."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="few short repeats (smoke test; figures are rough)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document instead of text"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SECTION",
        help="section or group (repeatable, comma-separated)",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the sections and exit"
    )
    parser.add_argument(
        "--repeats", type=int, help="timed repeats per measurement (default 7, quick 3)"
    )
    parser.add_argument(
        "--min-time",
        type=float,
        help="seconds per timed repeat (default 0.2, quick 0.02)",
    )
    parser.add_argument(
        "--s1-seconds",
        type=float,
        help="seconds of simulated S1 stream (default 15, quick 1.5)",
    )
    args = parser.parse_args(argv)
    if args.list:
        for s in SECTIONS.values():
            print(f"{s.name:<10} group {s.group:<4} {s.title}")
        return 0
    selected = _select(args.only)
    opts = Options(
        quick=args.quick,
        json=args.json,
        repeats=args.repeats or (3 if args.quick else 7),
        min_time=args.min_time or (0.02 if args.quick else 0.2),
        s1_seconds=args.s1_seconds or (1.5 if args.quick else 15.0),
    )
    machine = machine_info()
    opts.say(
        f"Machine: {machine['cpu']} ({machine['cpus']} CPUs), {machine['platform']}\n"
        f"Python {machine['python']}; CRC-16/ARC: {machine['crc16_arc']}"
        + (f" {machine['fastcrc']}" if machine["fastcrc"] else "")
        + f"; dsmr_parser {machine['dsmr_parser'] or 'not installed'}"
        + ("; --quick: rough figures" if opts.quick else "")
    )
    results: dict[str, Any] = {}
    for s in selected:
        opts.say(f"\n== {s.name}: {s.title} ==")
        results[s.name] = s.run(opts)
    if opts.json:
        document = {
            "schema": SCHEMA_VERSION,
            "machine": machine,
            "options": {
                "quick": opts.quick,
                "repeats": opts.repeats,
                "min_time_s": opts.min_time,
                "s1_seconds": opts.s1_seconds,
            },
            "sections": results,
        }
        print(json.dumps(document, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
