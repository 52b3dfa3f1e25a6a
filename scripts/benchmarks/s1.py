"""S1 benchmarks.

- ``s1-speed``: the whole S1 pipeline (framing, FCS, decoding, 1-s analytics) on a
  simulated 4 kHz four-wire stream: against real time, and against the per-frame
  reference decoder feeding the same analyzer, in the same run.
- ``s1-loop``: what the asyncio side costs per second of S1 stream: appending the
  received chunks to a bounded buffer and handing a batch to a worker on a timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
import contextlib
from dataclasses import dataclass
import gc
import statistics
import time
from typing import Any

from benchmarks.harness import Options, measure, paired_ratio, plural, ratio, section
from custom_components.emucs.protocol import S1Framer
from custom_components.emucs.protocol.s1 import FRAME_SIZE
from custom_components.emucs.protocol.s1_analytics import S1Analyzer, S1Summary
from custom_components.emucs.protocol.s1_batch import S1Batch, S1BatchDecoder
from custom_components.emucs.protocol.s1_pipeline import MAX_FEED_BYTES, S1Feed
from custom_components.emucs.protocol.s1_sim import (
    PhaseSignal,
    SimConfig,
    SimTruth,
    harmonics,
    simulate,
)

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
        f"{len(data):,} bytes, {plural(windows, 'window')} (identical from both pipelines)"
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
            "vs_reference": ratio(
                ref["us_per_telegram"] if ref else None, t["us_per_telegram"]
            ),
            "paired_vs_reference": paired_ratio(ref, t) if ref else None,
            "samples_us": t["samples_us"],
            "iterations": t["iterations"],
            "repeats": t["repeats"],
        }
        results[c.key] = result
        speedup, paired = result["vs_reference"], result["paired_vs_reference"]
        opts.say(
            f"  {c.label:<58} {wall * 1e3:>8.1f} {result['frames_per_s']:>11,.0f}"
            f" {result['x_real_time']:>11.0f}x {result['cpu_percent_at_4000_frames_per_s']:>6.2f}"
            f" {'' if speedup is None else f'{speedup:.1f}x':>13}"
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
