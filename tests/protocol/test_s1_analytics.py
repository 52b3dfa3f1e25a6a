"""S1 analytics against simulator ground truth (issue 4, item 4) and their behaviour.

Tolerances: RMS within 0.1 %, active power within 0.5 % of the apparent power, THD
within 0.3 percentage points, frequency within 0.01 Hz — with and without lost frames.
Counts of FCS errors and missed frames must be exact.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from custom_components.emucs.protocol.s1_analytics import (
    S1Analyzer,
    S1Summary,
    max_harmonic,
)
from custom_components.emucs.protocol.s1_batch import S1BatchDecoder
from custom_components.emucs.protocol.s1_sim import (
    Disturbance,
    Faults,
    PhaseSignal,
    S1Simulator,
    SimConfig,
    SimTruth,
    harmonics,
)

LOW = harmonics((3, 0.04), (5, 0.03), (7, 0.012), (11, 0.006), (19, 0.003))
RICH = harmonics((3, 0.35), (5, 0.2), (7, 0.1), (9, 0.05), (13, 0.03), (17, 0.02))
TOP = harmonics((3, 0.2), (5, 0.1), (29, 0.01), (37, 0.008), (39, 0.005))
STAR = 230.0 / math.sqrt(3.0)

LOSSY = Faults(
    fcs_error_rate=0.01,
    drop_rate=0.003,
    drop_burst=12,
    garbage_rate=0.01,
    invalid_rate=0.002,
)

MODES: dict[str, SimConfig] = {
    "1p-4kHz": SimConfig.single_phase(
        PhaseSignal(
            current_rms=9.0,
            current_lag_deg=30.0,
            voltage_harmonics=LOW,
            current_harmonics=RICH,
        ),
        frequency_hz=50.0,
    ),
    "1p-per-period-64": SimConfig.single_phase(
        PhaseSignal(
            voltage_rms=236.0,
            current_rms=2.5,
            current_lag_deg=-15.0,
            voltage_harmonics=LOW,
            current_harmonics=RICH,
        ),
        per_period=True,
        sampling=64,
        frequency_hz=49.968,
        neutral_measured=True,
    ),
    "3w-2kHz": SimConfig.three_wire(
        PhaseSignal(
            voltage_rms=STAR,
            current_rms=7.0,
            current_lag_deg=20.0,
            voltage_harmonics=LOW,
            current_harmonics=RICH,
        ),
        PhaseSignal(voltage_rms=STAR * 1.01, current_rms=7.0, current_lag_deg=20.0),
        PhaseSignal(
            voltage_rms=STAR * 0.99,
            current_rms=3.0,
            current_lag_deg=-30.0,
            current_harmonics=LOW,
        ),
        sampling=20,
        frequency_hz=50.021,
    ),
    "3w-per-period-80": SimConfig.three_wire(
        PhaseSignal(
            voltage_rms=STAR,
            current_rms=12.0,
            current_lag_deg=5.0,
            current_harmonics=RICH,
        ),
        PhaseSignal(voltage_rms=STAR, current_rms=12.0, current_lag_deg=5.0),
        PhaseSignal(voltage_rms=STAR, current_rms=4.0, current_lag_deg=175.0),
        per_period=True,
        sampling=80,
        frequency_hz=50.004,
    ),
    "4w-4kHz-neutral": SimConfig.four_wire(
        PhaseSignal(
            current_rms=8.0,
            current_lag_deg=25.0,
            voltage_harmonics=LOW,
            current_harmonics=TOP,
        ),
        PhaseSignal(
            voltage_rms=227.0,
            current_rms=3.0,
            current_lag_deg=-10.0,
            current_harmonics=RICH,
        ),
        PhaseSignal(
            voltage_rms=233.0,
            current_rms=12.0,
            current_lag_deg=170.0,
            voltage_harmonics=TOP,
        ),
        neutral_measured=True,
        frequency_hz=50.037,
    ),
    "4w-3kHz": SimConfig.four_wire(
        PhaseSignal(
            current_rms=16.0,
            current_lag_deg=40.0,
            voltage_harmonics=LOW,
            current_harmonics=RICH,
        ),
        PhaseSignal(current_rms=0.8, current_harmonics=RICH),
        PhaseSignal(current_rms=5.0, current_lag_deg=-60.0, voltage_harmonics=LOW),
        sampling=30,
        frequency_hz=49.93,
    ),
    "4w-per-period-80": SimConfig.four_wire(
        PhaseSignal(
            current_rms=6.0,
            current_lag_deg=10.0,
            current_harmonics=TOP,
            voltage_harmonics=LOW,
        ),
        PhaseSignal(current_rms=6.0, current_lag_deg=10.0, current_harmonics=RICH),
        PhaseSignal(current_rms=6.0, current_lag_deg=10.0),
        per_period=True,
        sampling=80,
        frequency_hz=50.012,
        neutral_measured=True,
    ),
}


def analyse(
    config: SimConfig,
    seconds: float,
    *,
    seed: int = 1,
    chunk_s: float = 0.25,
    analyzer: S1Analyzer | None = None,
) -> tuple[list[S1Summary], SimTruth, S1BatchDecoder, S1Analyzer]:
    """Simulate, then decode and analyse in chunks as the integration will."""
    sim = S1Simulator(config, seed)
    data = sim.generate(seconds)
    step = max(1, round(len(data) * chunk_s / seconds))
    decoder = S1BatchDecoder()
    analyzer = analyzer or S1Analyzer()
    summaries: list[S1Summary] = []
    for start in range(0, len(data), step):
        summaries += analyzer.feed(decoder.feed(data[start : start + step]))
    return summaries, sim.truth, decoder, analyzer


def check_accuracy(summary: S1Summary, truth: SimTruth) -> None:
    """Assert the item-4 tolerances (and a few more) for one window."""
    assert summary.phases.keys() == truth.phases.keys()
    for name, got in summary.phases.items():
        want = truth.phases[name]
        s = want.apparent_power
        assert got.voltage_rms == pytest.approx(want.voltage_rms, rel=1e-3), name
        assert got.current_rms == pytest.approx(want.current_rms, rel=1e-3), name
        assert abs(got.active_power - want.active_power) <= 0.005 * s, name
        assert got.apparent_power == pytest.approx(s, rel=2e-3), name
        assert abs(got.reactive_power**2 - want.nonactive_power**2) <= 0.005 * s * s, (
            name
        )
        assert (
            abs(got.fundamental_reactive_power - want.fundamental_reactive_power)
            <= 0.005 * s
        )
        assert got.power_factor == pytest.approx(want.power_factor, abs=5e-3), name
        assert got.thd_voltage == pytest.approx(want.thd_voltage, abs=0.3), name
        if got.thd_current is not None:
            assert got.thd_current == pytest.approx(want.thd_current, abs=0.3), name
        else:
            assert want.current_rms < 0.1
    total = summary.total
    assert total is not None
    assert (
        abs(total.active_power - truth.total.active_power)
        <= 0.005 * truth.total.apparent_power
    )
    assert total.apparent_power == pytest.approx(truth.total.apparent_power, rel=2e-3)
    assert total.power_factor == pytest.approx(truth.total.power_factor, abs=5e-3)
    if truth.neutral_current_rms is None:
        assert summary.neutral_current_rms is None
    else:
        assert summary.neutral_current_rms == pytest.approx(
            truth.neutral_current_rms, rel=1e-3, abs=0.01
        )
    assert summary.frequency_hz == pytest.approx(truth.frequency_hz, abs=0.01)
    assert summary.frequency_zero_crossing_hz == pytest.approx(
        truth.frequency_hz, abs=0.01
    )
    assert summary.sample_rate_hz == pytest.approx(truth.sample_rate_hz, rel=1e-4)


@pytest.mark.parametrize("faults", [Faults(), LOSSY], ids=["clean", "lossy"])
@pytest.mark.parametrize("mode", list(MODES))
def test_accuracy_against_truth(mode: str, faults: Faults) -> None:
    """Every meter mode, with and without FCS errors, dropped bursts and noise."""
    config = MODES[mode]
    config = SimConfig(**{**_fields(config), "faults": faults})
    summaries, truth, decoder, analyzer = analyse(config, 2.3, seed=len(mode))
    assert len(summaries) == 2
    last = analyzer.flush()
    assert last is not None
    for summary in summaries:
        check_accuracy(summary, truth)
    # Counts are exact: the windows split them without losing one.
    every = [*summaries, last]
    assert (
        sum(s.missed_frames for s in every)
        == truth.missed_frames
        == decoder.stats.missed_frames
    )
    assert sum(s.frames for s in every) == truth.frames
    assert (
        sum(s.crc_errors for s in every) + decoder.pending_fcs_errors
        == truth.fcs_errors
    )
    assert sum(s.invalid_sample_frames for s in every) == truth.invalid_sample_frames
    assert sum(s.discarded_bytes for s in every) == decoder.stats.discarded_bytes
    if faults.fcs_error_rate:
        assert truth.fcs_errors > 10
        assert truth.missed_frames > truth.fcs_errors


def _fields(config: SimConfig) -> dict[str, object]:
    return {name: getattr(config, name) for name in SimConfig.__dataclass_fields__}


def test_heavy_bursty_loss_keeps_accuracy() -> None:
    """About 8 % of frames lost in bursts of up to 40 (10 ms): still within tolerance."""
    config = SimConfig(
        **{
            **_fields(MODES["4w-4kHz-neutral"]),
            "faults": Faults(drop_rate=0.004, drop_burst=40, fcs_error_rate=0.01),
        }
    )
    summaries, truth, _, _ = analyse(config, 2.1, seed=3)
    assert truth.missed_frames > 0.06 * truth.samples
    for summary in summaries:
        check_accuracy(summary, truth)


def test_lost_frames_are_holes_not_shifts() -> None:
    """Placing samples by sequence number is what keeps the spectrum clean.

    The same frames with the sequence gaps ignored (samples pushed together, as a
    decoder without sequence handling would do) wreck the THD of a pure sine.
    """
    config = SimConfig.single_phase(
        PhaseSignal(current_rms=5.0),
        faults=Faults(drop_rate=0.01, drop_burst=3),
    )
    sim = S1Simulator(config, seed=4)
    batch = S1BatchDecoder().feed(sim.generate(2.1))
    good = S1Analyzer().feed(batch)[0]
    assert good.phases["L1"].thd_voltage is not None
    assert good.phases["L1"].thd_voltage < 0.05
    batch.sample_index = np.arange(len(batch), dtype=np.int64)
    shifted = S1Analyzer().feed(batch)[0]
    assert shifted.phases["L1"].thd_voltage is not None
    assert shifted.phases["L1"].thd_voltage > 1.0


def test_json_contract() -> None:
    """The CLI's JSON lines: exactly these keys, JSON-serialisable."""
    summaries, _, _, _ = analyse(MODES["4w-4kHz-neutral"], 1.1)
    data = json.loads(json.dumps(summaries[0].to_dict()))
    assert list(data) == [
        "frames",
        "crc_errors",
        "missed_frames",
        "meter_id",
        "polyphase",
        "four_wire",
        "sampling",
        "sample_rate_hz",
        "frequency_hz",
        "phases",
        "neutral_current_rms",
        "total",
    ]
    assert list(data["phases"]) == ["L1", "L2", "L3"]
    assert list(data["phases"]["L1"]) == [
        "voltage_rms",
        "current_rms",
        "active_power",
        "apparent_power",
        "reactive_power",
        "power_factor",
        "thd_voltage",
        "thd_current",
    ]
    assert list(data["total"]) == [
        "active_power",
        "apparent_power",
        "reactive_power",
        "power_factor",
    ]
    assert data["meter_id"] == "1SAG1100000292"
    assert (data["polyphase"], data["four_wire"], data["sampling"]) == (
        True,
        True,
        "per_second",
    )
    assert data["frames"] + data["missed_frames"] == summaries[0].samples


def test_three_wire_reports_l1_and_l3_only() -> None:
    """Aron: elements U12·I1 and U32·I3, no L2, no neutral; balanced resistive PF 1."""
    config = SimConfig.three_wire(frequency_hz=50.0)
    summary = analyse(config, 1.1)[0][0]
    data = summary.to_dict()
    assert list(data["phases"]) == ["L1", "L3"]
    assert (data["polyphase"], data["four_wire"]) == (True, False)
    assert data["neutral_current_rms"] is None
    assert data["phases"]["L1"]["voltage_rms"] == pytest.approx(230.0, rel=1e-3)
    # Each element sees a 30° shift; the total does not.
    assert data["phases"]["L1"]["power_factor"] == pytest.approx(
        math.cos(math.radians(30)), abs=1e-3
    )
    assert data["phases"]["L3"]["power_factor"] == pytest.approx(
        math.cos(math.radians(30)), abs=1e-3
    )
    assert data["total"]["power_factor"] == pytest.approx(1.0, abs=1e-3)
    assert data["total"]["active_power"] == pytest.approx(
        math.sqrt(3) * 230 * 5, rel=1e-3
    )


def test_single_phase_reports_l1_only() -> None:
    """Single-phase meter: L1 and a total equal to it; neutral only when measured."""
    summary = analyse(MODES["1p-4kHz"], 1.1)[0][0]
    assert list(summary.phases) == ["L1"]
    assert summary.neutral_current_rms is None
    assert summary.total is not None
    assert summary.total.active_power == summary.phases["L1"].active_power
    assert not summary.polyphase
    pp = analyse(MODES["1p-per-period-64"], 1.1)[0][0]
    assert pp.sampling == "per_period"
    assert pp.neutral_current_rms == pytest.approx(
        pp.phases["L1"].current_rms, rel=1e-3
    )


def test_signs_of_power() -> None:
    """Import positive, export negative; Q1 positive for a lagging current."""
    summary = analyse(MODES["4w-4kHz-neutral"], 1.1)[0][0]
    assert summary.phases["L1"].active_power > 0
    assert summary.phases["L1"].fundamental_reactive_power > 0  # lags 25°
    assert summary.phases["L2"].fundamental_reactive_power < 0  # leads 10°
    assert summary.phases["L3"].active_power < 0  # 170°: export
    assert summary.phases["L3"].power_factor is not None
    assert summary.phases["L3"].power_factor < -0.9


def test_windows_hold_whole_cycles() -> None:
    """Per-period: cycles × samples per period exactly; per-second: within half a sample."""
    pp = analyse(MODES["4w-per-period-80"], 2.1)[0]
    for summary in pp:
        assert summary.cycles == 50
        assert summary.samples == 50 * 80
    ps = analyse(MODES["4w-4kHz-neutral"], 2.1)[0]
    for summary in ps:
        exact = summary.cycles * summary.sample_rate_hz / 50.037
        assert abs(summary.samples - exact) <= 0.5
        assert summary.duration_s == pytest.approx(summary.cycles / 50.037, abs=2e-4)
    assert ps[1].start_s == pytest.approx(ps[0].start_s + ps[0].duration_s)


def test_window_length_is_configurable() -> None:
    """A 200 ms window is 10 cycles."""
    summaries = analyse(MODES["1p-4kHz"], 1.05, analyzer=S1Analyzer(window_s=0.2))[0]
    assert len(summaries) == 5
    assert {s.cycles for s in summaries} == {10}


def test_max_harmonic() -> None:
    """40 at most, and only harmonics comfortably below Nyquist."""
    assert max_harmonic(4000.0, 50.0) == 39
    assert max_harmonic(4400.0, 50.0) == 40
    assert max_harmonic(2000.0, 50.0) == 19
    assert max_harmonic(64 * 50.0, 50.0) == 31


def test_too_few_samples_give_no_values() -> None:
    """A window with less than the minimum of usable samples reports counts only."""
    config = SimConfig.single_phase(faults=Faults(drop_rate=0.05, drop_burst=10))
    summary = analyse(config, 1.1, analyzer=S1Analyzer(min_valid_fraction=0.8))[0][0]
    assert summary.phases == {}
    assert summary.total is None
    assert summary.to_dict()["total"] is None
    assert summary.missed_frames > 0.2 * summary.samples
    assert summary.frequency_hz == pytest.approx(50.0)


def test_invalid_samples_can_be_kept() -> None:
    """Flagged frames are holes by default, samples when asked for."""
    config = SimConfig.single_phase(faults=Faults(invalid_rate=0.1))
    default = analyse(config, 1.1)[0][0]
    kept = analyse(config, 1.1, analyzer=S1Analyzer(use_invalid_samples=True))[0][0]
    assert default.valid_samples < 0.95 * default.samples
    assert kept.valid_samples == kept.samples
    assert default.invalid_sample_frames == kept.invalid_sample_frames > 0


def test_mode_change_restarts() -> None:
    """A new sampling setting mid-stream drops the partial window and starts over."""
    first = S1Simulator(SimConfig.single_phase(), seed=1).generate(1.5)
    second = S1Simulator(
        SimConfig.single_phase(per_period=True, sampling=64, first_sequence=100), seed=2
    ).generate(1.5)
    decoder, analyzer = S1BatchDecoder(), S1Analyzer()
    summaries = analyzer.feed(decoder.feed(first)) + analyzer.feed(decoder.feed(second))
    assert [s.sampling for s in summaries] == ["per_second", "per_period"]
    assert summaries[1].samples == 50 * 64
    assert summaries[1].missed_frames == 0


def test_reset_and_flush() -> None:
    """Flush closes the partial window; reset forgets everything."""
    data = S1Simulator(SimConfig.single_phase(), seed=1).generate(0.5)
    analyzer = S1Analyzer()
    assert analyzer.feed(S1BatchDecoder().feed(data)) == []
    partial = analyzer.flush()
    assert partial is not None
    assert partial.samples == 2000
    assert partial.phases["L1"].voltage_rms == pytest.approx(230.0, rel=1e-3)
    assert analyzer.flush() is None
    analyzer.reset()
    assert analyzer.flush() is None
    # A sliver of a window: counts, but no spectrum from three samples.
    analyzer.feed(S1BatchDecoder().feed(data[: 45 * 3 + 1]))
    sliver = analyzer.flush()
    assert sliver is not None
    assert (sliver.samples, sliver.phases, sliver.total) == (3, {}, None)


def test_odd_streams_never_raise() -> None:
    """No frequency field, an unusable sampling byte, a grid that jumps or goes back."""
    sim = S1Simulator(SimConfig.single_phase(frequency_hz=50.3), seed=1)
    batch = S1BatchDecoder().feed(sim.generate(2.1))
    batch.frequency_hz[:] = 0.0  # a meter that leaves the field empty
    summary = S1Analyzer().feed(batch)[0]
    assert summary.frequency_hz == pytest.approx(50.3, abs=0.01)  # zero crossings

    batch.sampling[:] = 0
    assert S1Analyzer().feed(batch) == []

    batch = S1BatchDecoder().feed(sim.generate(2.1))
    analyzer = S1Analyzer()
    assert len(analyzer.feed(batch)) == 2
    assert len(analyzer.feed(batch)) == 2  # replayed: a new stream, not a crash
    batch.sample_index += 10**6
    assert len(analyzer.feed(batch)) == 2  # far ahead: restart, no empty windows


# -- voltage events ----------------------------------------------------------------

CYCLE = 0.02


def check_events(summaries: list[S1Summary], truth: SimTruth) -> None:
    """Assert the events match the truth: kind, phase, timing to a cycle, depth."""
    found = sorted((e for s in summaries for e in s.events), key=lambda e: e.start_s)
    want = sorted(truth.events, key=lambda e: e.start_s)
    assert [(e.kind, e.phase) for e in found] == [(e.kind, e.phase) for e in want]
    for got, exp in zip(found, want, strict=True):
        assert got.start_s == pytest.approx(exp.start_s, abs=CYCLE)
        assert got.duration_s == pytest.approx(exp.duration_s, abs=1.5 * CYCLE)
        assert got.depth_percent == pytest.approx(exp.depth_percent, abs=1.0)
        assert got.extreme_voltage == pytest.approx(exp.extreme_voltage, abs=2.3)


DISTURBANCES = (
    Disturbance(phase="L1", start_s=0.31, duration_s=0.1, factor=0.7),
    Disturbance(phase="L3", start_s=0.55, duration_s=0.2, factor=0.0),
    Disturbance(
        phase="L1", start_s=0.97, duration_s=0.08, factor=1.2
    ),  # across windows
    Disturbance(phase="L2", start_s=1.4, duration_s=0.043, factor=0.5),
    Disturbance(phase="L1", start_s=1.6, duration_s=0.3, factor=0.87),
    Disturbance(phase="L2", start_s=1.7, duration_s=0.2, factor=0.95),  # no event
)


@pytest.mark.parametrize("per_period", [False, True], ids=["per-second", "per-period"])
def test_dips_swells_interruptions(per_period: bool) -> None:
    """Kind, phase, start, duration and depth of each event, with lost frames."""
    config = SimConfig.four_wire(
        disturbances=DISTURBANCES,
        per_period=per_period,
        sampling=80 if per_period else 40,
        frequency_hz=49.97,
        faults=Faults(drop_rate=0.005, drop_burst=5, fcs_error_rate=0.005),
    )
    summaries, truth, _, _ = analyse(config, 2.2)
    assert len(truth.events) == 5
    check_events(summaries, truth)
    crossing = [s for s in summaries if any(e.kind == "swell" for e in s.events)]
    assert len(crossing) == 1
    assert crossing[0].start_s > 0.9  # reported once, by the window it ended in


def test_events_on_three_wire_and_single_phase() -> None:
    """U12/U32 channels of a 3-wire meter are L1/L3; single-phase has L1."""
    three = SimConfig.three_wire(
        disturbances=(
            Disturbance(phase="L3", start_s=0.2, duration_s=0.1, factor=0.6),
            Disturbance(phase="L1", start_s=0.5, duration_s=0.06, factor=1.15),
        ),
        sampling=20,
    )
    summaries, truth, _, _ = analyse(three, 1.1)
    check_events(summaries, truth)
    single = SimConfig.single_phase(
        disturbances=(
            Disturbance(phase="L1", start_s=0.4, duration_s=0.25, factor=0.02),
        ),
        per_period=True,
        sampling=64,
    )
    summaries, truth, _, _ = analyse(single, 1.1)
    assert [e.kind for e in truth.events] == ["interruption"]
    check_events(summaries, truth)


def test_event_in_progress() -> None:
    """An event not yet over is visible as active, and reported once it ends."""
    config = SimConfig.single_phase(
        disturbances=(Disturbance(phase="L1", start_s=0.8, duration_s=0.5, factor=0.5),)
    )
    sim = S1Simulator(config, seed=1)
    decoder, analyzer = S1BatchDecoder(), S1Analyzer()
    first = analyzer.feed(decoder.feed(sim.generate(1.1)))
    assert [s.events for s in first] == [()]
    active = analyzer.active_events
    assert list(active) == ["L1"]
    assert active["L1"].kind == "dip"
    assert active["L1"].start_s == pytest.approx(0.8, abs=CYCLE)
    later = analyzer.feed(decoder.feed(sim.generate(1.0)))
    assert [e.duration_s for s in later for e in s.events] == [
        pytest.approx(0.5, abs=1.5 * CYCLE)
    ]
    assert analyzer.active_events == {}
