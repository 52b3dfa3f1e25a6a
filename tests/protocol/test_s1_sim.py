"""The S1 simulator: frames as the spec lays them out, exact counters, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from custom_components.emucs.protocol.s1 import S1Framer
from custom_components.emucs.protocol.s1_sim import (
    Disturbance,
    Faults,
    Harmonic,
    PhaseSignal,
    S1Simulator,
    SimConfig,
    simulate,
)
from tests.s1_frames import fcs

FAULTY = Faults(
    fcs_error_rate=0.02,
    drop_rate=0.01,
    drop_burst=4,
    garbage_rate=0.03,
    garbage_max=60,
    invalid_rate=0.01,
)


def test_frame_layout_matches_the_spec() -> None:
    """Flags, header, meter id, info, sampling, mHz, sequence and a valid FCS."""
    config = SimConfig.four_wire(
        neutral_measured=True, frequency_hz=49.987, first_sequence=250
    )
    data = S1Simulator(config).generate(samples=10)
    assert len(data) == 450
    first = data[:45]
    assert first[0] == first[44] == 0x7E
    assert first[1:5] == bytes((0x08, 0x2B, 0xFF, 0x03))
    assert first[5:19] == b"1SAG1100000292"
    assert first[19] == 0b0001_1101
    assert first[20] == 40
    assert int.from_bytes(first[21:23], "big") == 49_987
    assert [data[45 * k + 23] for k in range(10)] == [
        250,
        251,
        252,
        253,
        254,
        255,
        0,
        1,
        2,
        3,
    ]
    for k in range(10):
        raw = data[45 * k : 45 * k + 45]
        assert raw[42:44] == fcs(raw[1:42])


def test_samples_are_the_quantized_waveforms() -> None:
    """Decoded samples equal the analog model within half a quantization step."""
    config = SimConfig.four_wire(
        PhaseSignal(
            current_rms=10.0,
            current_lag_deg=30.0,
            voltage_harmonics=(Harmonic(order=3, ratio=0.05),),
        ),
        PhaseSignal(),
        PhaseSignal(current_rms=3.0, current_lag_deg=180.0),
        neutral_measured=True,
    )
    sim = S1Simulator(config)
    frames = S1Framer().feed(sim.generate(samples=400))
    wave = sim.waveforms(0, 400)
    got = np.array([[f.v1, f.v2, f.v3, f.i1, f.i2, f.i3, f.i_n] for f in frames]).T
    assert np.abs(got[:3] - wave[:3]).max() <= 0.0125 + 1e-9
    assert np.abs(got[3:] - wave[3:]).max() <= 0.0005 + 1e-9
    # 4-wire phases 120° apart; the neutral carries their sum.
    np.testing.assert_allclose(wave[6], wave[3] + wave[4] + wave[5], atol=1e-9)


@pytest.mark.parametrize("shared", [0.0, 0.4, 1.0])
def test_counters_are_exact_across_calls(shared: float) -> None:
    """Several generate calls form one stream; the truth matches the decoder exactly."""
    config = SimConfig.three_wire(
        sampling=22, shared_flags=shared, frame_type=0x80, faults=FAULTY
    )
    sim = S1Simulator(config, seed=9)
    framer = S1Framer()
    frames = []
    size = 0
    for seconds in (0.3, 0.01, 0.25, 0.0, 0.4):
        data = sim.generate(seconds)
        size += len(data)
        frames += framer.feed(data)
    truth = sim.truth
    assert truth.samples == round(0.96 * 2200)
    assert len(frames) == truth.frames
    assert truth.frames + truth.fcs_errors + truth.dropped_frames == truth.samples
    assert framer.stats.as_dict() == {
        "frames": truth.frames,
        "fcs_errors": truth.fcs_errors,
        "missed_frames": truth.missed_frames,
        "discarded_bytes": truth.discarded_bytes,
        "invalid_sample_frames": truth.invalid_sample_frames,
        "frame_types": {"0x80": truth.frames},
    }
    assert truth.garbage_bytes > 0
    assert truth.stream_bytes == size


def test_deterministic_for_a_seed() -> None:
    """Same seed, same bytes; another seed, other faults."""
    config = SimConfig.four_wire(faults=FAULTY)
    a, truth_a = simulate(config, 0.3, seed=5)
    b, truth_b = simulate(config, 0.3, seed=5)
    c, _ = simulate(config, 0.3, seed=6)
    assert a == b
    assert truth_a == truth_b
    assert a != c


def test_per_period_timing() -> None:
    """Per-period sampling: samples per cycle fixed, the rate follows the frequency."""
    config = SimConfig.single_phase(per_period=True, sampling=64, frequency_hz=49.5)
    sim = S1Simulator(config)
    assert sim.truth.sample_rate_hz == pytest.approx(64 * 49.5)
    wave = sim.waveforms(0, 129)
    np.testing.assert_allclose(wave[0, :65], wave[0, 64:], atol=1e-9)
    assert sim.sample_times(64, 1)[0] == pytest.approx(1 / 49.5)


def test_truth_values() -> None:
    """Phasor truth: RMS with harmonics, THD, power of a lagging load, Aron totals."""
    signal = PhaseSignal(
        voltage_rms=230.0,
        current_rms=10.0,
        current_lag_deg=60.0,
        voltage_harmonics=(Harmonic(order=5, ratio=0.03),),
        current_harmonics=(Harmonic(order=3, ratio=0.4),),
    )
    truth = S1Simulator(SimConfig.single_phase(signal)).truth
    l1 = truth.phases["L1"]
    assert l1.voltage_rms == pytest.approx(230.0 * math.sqrt(1 + 0.03**2))
    assert l1.current_rms == pytest.approx(10.0 * math.sqrt(1 + 0.4**2))
    assert l1.thd_voltage == pytest.approx(3.0)
    assert l1.thd_current == pytest.approx(40.0)
    assert l1.active_power == pytest.approx(2300.0 * 0.5)  # no common harmonic
    assert l1.fundamental_reactive_power == pytest.approx(
        2300.0 * math.sin(math.radians(60))
    )
    aron = S1Simulator(SimConfig.three_wire()).truth
    assert list(aron.phases) == ["L1", "L3"]
    assert aron.phases["L1"].voltage_rms == pytest.approx(230.0)
    assert aron.total.power_factor == pytest.approx(1.0)
    assert aron.neutral_current_rms is None


def test_event_truth() -> None:
    """Disturbances become dips, swells and interruptions; small ones are no event."""
    config = SimConfig.four_wire(
        disturbances=(
            Disturbance(phase="L1", start_s=0.1, duration_s=0.1, factor=0.5),
            Disturbance(phase="L2", start_s=0.1, duration_s=0.1, factor=1.2),
            Disturbance(phase="L3", start_s=0.1, duration_s=0.1, factor=0.01),
            Disturbance(phase="L3", start_s=0.5, duration_s=0.1, factor=0.95),
        )
    )
    sim = S1Simulator(config)
    assert [(e.kind, e.phase) for e in sim.truth.events] == [
        ("dip", "L1"),
        ("swell", "L2"),
        ("interruption", "L3"),
    ]
    assert sim.truth.events[0].depth_percent == pytest.approx(50.0)
    wave = sim.waveforms(0, 4000)
    assert np.abs(wave[0, 400:800]).max() == pytest.approx(
        0.5 * 230 * math.sqrt(2), rel=1e-3
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"wiring": "single_phase"}, "phase signal"),
        ({"sampling": 0}, "sampling byte"),
        (
            {
                "sampling": 20,
                "phases": (
                    PhaseSignal(current_harmonics=(Harmonic(order=21, ratio=0.1),)),
                )
                * 3,
            },
            "Nyquist",
        ),
        ({"wiring": "three_wire", "neutral_measured": True}, "neutral"),
        (
            {
                "wiring": "three_wire",
                "disturbances": (
                    Disturbance(phase="L2", start_s=0, duration_s=1, factor=0),
                ),
            },
            "no voltage channel L2",
        ),
    ],
)
def test_invalid_configs(kwargs: dict[str, object], message: str) -> None:
    """Impossible meters are refused rather than simulated wrongly."""
    with pytest.raises(ValueError, match=message):
        S1Simulator(SimConfig(**kwargs))  # type: ignore[arg-type]


def test_fast_enough_for_tests_and_feeds() -> None:
    """Ten seconds of a faulty 4 kHz 4-wire stream build in well under a second."""
    data, truth = simulate(
        SimConfig.four_wire(neutral_measured=True, faults=FAULTY), 10.0
    )
    assert truth.samples == 40_000
    assert len(data) > 40_000 * 40
