"""The benchmark harness: sections, timing, machine description and the command line.

A benchmark is a module of ``scripts/benchmarks/`` whose functions are registered with
``@section(name, group, title)``; ``scripts/bench.py`` imports the modules and runs
``main``. A section prints as it goes (unless ``--json``) and returns JSON-able
results, which land under ``sections.<name>`` of the ``--json`` document.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import gc
import importlib.metadata
import itertools
import json
import math
import os
from pathlib import Path
import platform
import statistics
import time
from typing import Any

from custom_components.emucs.protocol import crc as crc_module

SCHEMA_VERSION = 1


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


def paired_ratio(
    slow: dict[str, Any] | None, fast: dict[str, Any] | None
) -> float | None:
    """Median over rounds of slow/fast, each round's two runs taken close together in time."""
    if not slow or not fast:
        return None
    return statistics.median(
        a / b for a, b in zip(slow["samples_us"], fast["samples_us"], strict=True)
    )


def plural(count: int, word: str) -> str:
    """``1 window``, ``2 windows``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """Numerator / denominator, ``None`` when either is missing or the divisor is not positive."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


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


def main(description: str, argv: list[str] | None = None) -> int:
    """Run the selected sections of the benchmark modules imported so far."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=description)
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
