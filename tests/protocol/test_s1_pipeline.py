"""The executor side of S1: bounded feed, pipeline batches, interval means, SVG."""

from __future__ import annotations

import math
from xml.etree import ElementTree as ET

import pytest

from custom_components.emucs.protocol.s1 import FRAME_SIZE
from custom_components.emucs.protocol.s1_pipeline import (
    MAX_FEED_BYTES,
    S1Feed,
    S1Pipeline,
    mean_values,
)
from custom_components.emucs.protocol.s1_sim import PhaseSignal, SimConfig, simulate
from custom_components.emucs.waveform import render_svg

FOUR_WIRE = SimConfig.four_wire(
    PhaseSignal(current_rms=10.0, current_lag_deg=30.0),
    PhaseSignal(current_rms=5.0),
    PhaseSignal(current_rms=2.0, current_lag_deg=-10.0),
)


def test_feed_hands_over_everything_in_order() -> None:
    """Chunks come out joined, once; the first take starts a stream."""
    feed = S1Feed()
    feed.append(b"ab")
    feed.append(b"cd")
    assert feed.take() == (b"abcd", True)
    feed.append(b"e")
    assert feed.take() == (b"e", False)
    assert feed.take() == (b"", False)


def test_feed_drops_whole_backlog_when_worker_lags() -> None:
    """Beyond the bound the queued batch goes, counted, and the stream restarts."""
    feed = S1Feed()
    feed.take()
    chunk = bytes(4096)
    for _ in range(MAX_FEED_BYTES // len(chunk)):
        feed.append(chunk)
    feed.append(b"new")
    assert feed.dropped_batches == 1
    assert feed.dropped_bytes == MAX_FEED_BYTES
    assert feed.take() == (b"new", True)


def test_feed_restart_forgets_queued_bytes() -> None:
    """After a reconnect the old bytes are not stitched to the new ones."""
    feed = S1Feed()
    feed.take()
    feed.append(b"old")
    feed.restart()
    feed.append(b"new")
    assert feed.take() == (b"new", True)


def test_pipeline_in_batches_matches_truth() -> None:
    """200-ms batches give the same windows as one stream, within the accuracy goals."""
    data, truth = simulate(FOUR_WIRE, 4.2)
    pipeline = S1Pipeline()
    step = 4000 * FRAME_SIZE // 5  # 200 ms at 4 kHz
    results = [pipeline.process(data[k : k + step]) for k in range(0, len(data), step)]
    summaries = [s for r in results for s in r.summaries]
    assert len(summaries) == 4
    assert sum(r.frames for r in results) == truth.frames
    values = mean_values(summaries)
    assert values is not None
    assert values.windows == 4
    for name, expected in truth.phases.items():
        got = values.phases[name]
        assert got.voltage_rms == pytest.approx(expected.voltage_rms, rel=1e-3)
        assert got.current_rms == pytest.approx(expected.current_rms, rel=1e-3)
        assert abs(got.active_power - expected.active_power) < 0.005 * (
            expected.apparent_power
        )
        assert got.power_factor == pytest.approx(expected.power_factor, abs=5e-3)
    assert values.total is not None
    assert values.total.active_power == pytest.approx(
        sum(p.active_power for p in truth.phases.values()), rel=5e-3
    )
    assert values.frequency_hz == pytest.approx(50.0, abs=0.01)
    waveform = results[-1].waveform
    assert waveform is not None
    assert waveform.phases == ("L1", "L2", "L3")
    # Two cycles at 4 kHz / 50 Hz.
    assert len(waveform.voltage[0]) == len(waveform.current[2]) == 160
    peak = max(abs(v) for v in waveform.voltage[0])
    assert peak == pytest.approx(230.0 * math.sqrt(2), rel=0.01)


def test_mean_values_is_interval_rms_not_a_sample() -> None:
    """RMS values of windows combine as a quadratic mean, P as an arithmetic mean."""
    low, _ = simulate(SimConfig.single_phase(PhaseSignal(current_rms=2.0)), 2.1)
    high, _ = simulate(SimConfig.single_phase(PhaseSignal(current_rms=14.0)), 2.1)
    summaries = [
        *S1Pipeline().process(low).summaries[:1],
        *S1Pipeline().process(high).summaries[:1],
    ]
    values = mean_values(summaries)
    assert values is not None
    l1 = values.phases["L1"]
    assert l1.current_rms == pytest.approx(math.sqrt((4 + 196) / 2), rel=1e-3)
    assert l1.active_power == pytest.approx(230.0 * 8.0, rel=1e-3)
    assert mean_values([]) is None


def test_three_wire_waveform_has_l1_and_l3() -> None:
    """Aron meters have no L2 element."""
    data, _ = simulate(SimConfig.three_wire(*[PhaseSignal()] * 3), 1.1)
    waveform = S1Pipeline().process(data).waveform
    assert waveform is not None
    assert waveform.phases == ("L1", "L3")


def test_svg_is_well_formed() -> None:
    """The image entity serves this document as image/svg+xml."""
    data, _ = simulate(FOUR_WIRE, 0.5)
    waveform = S1Pipeline().process(data).waveform
    assert waveform is not None
    root = ET.fromstring(render_svg(waveform))  # noqa: S314 - our own document
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(root.findall("{http://www.w3.org/2000/svg}polyline")) == 6
