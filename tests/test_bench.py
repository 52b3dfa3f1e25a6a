"""scripts/bench.py (the harness and scripts/benchmarks/) runs; the decoders agree where they should.

The benchmark is run once as a subprocess in ``--quick --json`` mode (a 1.5-s S1
stream). Speed is never asserted: only the structure of the results and the decoded
values.
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "scripts" / "bench.py"

CONTENDERS = {
    "emucs_stream",
    "emucs_decode",
    "emucs_stream_pure_crc",
    "emucs_decode_pure_crc",
    "dsmr_parse",
    "dsmr_parse_no_crc",
    "dsmr_stream",
    "emucs_stream_json",
    "dsmr_parse_json",
}

# Objects of the E.2.1 three-phase example that both decoders read: the values must be
# identical (numbers with their unit, timestamps as instants, identifiers decoded).
SHARED_FIELDS = {
    "0-0:96.1.4",
    "0-0:96.1.1",
    "0-0:1.0.0",
    "1-0:1.8.1",
    "1-0:1.8.2",
    "1-0:2.8.1",
    "1-0:2.8.2",
    "0-0:96.14.0",
    "1-0:1.4.0",
    "1-0:1.6.0",
    "1-0:1.7.0",
    "1-0:2.7.0",
    "1-0:21.7.0",
    "1-0:41.7.0",
    "1-0:61.7.0",
    "1-0:22.7.0",
    "1-0:42.7.0",
    "1-0:62.7.0",
    "1-0:32.7.0",
    "1-0:52.7.0",
    "1-0:72.7.0",
    "1-0:31.7.0",
    "1-0:51.7.0",
    "1-0:71.7.0",
    "0-0:96.13.0",
    "relay.1",
    "relay.2",
    "relay.3",
    "relay.4",
    "mbus.1.device_type",
    "mbus.1.equipment_id",
    "mbus.1.valve",
    "mbus.1.reading",
    "mbus.2.device_type",
    "mbus.2.equipment_id",
    "mbus.2.reading",
}


@pytest.fixture(scope="module")
def bench() -> dict[str, Any]:
    """Run the benchmark once (quick, JSON) and return its document."""
    proc = subprocess.run(  # noqa: S603 - our own script with the test interpreter
        [sys.executable, str(BENCH), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_machine_and_options(bench: dict[str, Any]) -> None:
    """The run says what it ran on."""
    assert bench["schema"] == 1
    machine = bench["machine"]
    for key in (
        "platform",
        "machine",
        "cpu",
        "cpus",
        "python",
        "crc16_arc",
        "fastcrc",
        "dsmr_parser",
    ):
        assert key in machine
    assert machine["crc16_arc"] in ("fastcrc", "pure Python")
    assert machine["dsmr_parser"]
    assert bench["options"]["quick"] is True
    assert bench["options"]["s1_seconds"] == 1.5
    assert set(bench["sections"]) == {"p1-speed", "p1-diff", "s1-speed", "s1-loop"}


def test_speed_section_structure(bench: dict[str, Any]) -> None:
    """Every contender was timed on both telegrams and has a ratio (its size is not tested)."""
    telegrams = bench["sections"]["p1-speed"]["telegrams"]
    assert set(telegrams) == {"e21_3phase", "e21_history13"}
    assert telegrams["e21_3phase"]["history_entries"] == 3
    assert telegrams["e21_history13"]["history_entries"] == 13
    for info in telegrams.values():
        assert info["bytes"] > 1000
        # A meter's telegram over 600 s, the lines of a second changing every second.
        assert info["seconds"] == 600
        assert info["lines_changing_every_second"] == 13
        assert info["headline"]["json_vs_dsmr_json"] > 0
        assert set(info["results"]) == CONTENDERS
        for result in info["results"].values():
            assert result["us_per_telegram"] > 0
            assert result["telegrams_per_s"] > 0
            assert result["median_us_per_telegram"] >= result["us_per_telegram"]
            assert result["iterations"] >= 1
            assert result["repeats"] >= 1
            assert result["speedup_vs_dsmr_parse"] > 0
            assert result["paired_speedup_vs_dsmr_parse"] > 0
            assert len(result["samples_us"]) == result["repeats"]
        assert info["results"]["dsmr_parse"]["speedup_vs_dsmr_parse"] == pytest.approx(
            1
        )
        assert set(info["headline"]) == set(info["headline_paired"])
        for ratio in (*info["headline"].values(), *info["headline_paired"].values()):
            assert ratio > 0


def test_both_decoders_agree_on_the_e21_example(bench: dict[str, Any]) -> None:
    """Where both decoders read an object of the E.2.1 example, the values are identical."""
    agreement = bench["sections"]["p1-diff"]["agreement"]
    assert set(agreement["equal"]) >= SHARED_FIELDS
    assert agreement["missing_in_dsmr_parser"] == []
    assert agreement["only_dsmr_parser"] == []
    values = agreement["values"]
    assert values["1-0:1.8.2"] == {"value": 15.758, "unit": "kWh"}
    assert values["0-0:1.0.0"] == "2020-05-12T11:54:09+00:00"
    assert values["0-0:96.1.1"] == "1SAG3101021605"
    assert values["1-0:1.6.0"] == {
        "value": 2.589,
        "unit": "kW",
        "timestamp": "2020-05-09T11:45:58+00:00",
    }
    assert values["mbus.2.reading"] == {
        "value": 872.234,
        "unit": "m3",
        "timestamp": "2020-05-12T11:45:58+00:00",
    }

    # Everything else that differs is explained by a finding that observed it.
    findings = {f["key"]: f for f in bench["sections"]["p1-diff"]["findings"]}
    for key, difference in agreement["different"].items():
        assert difference["finding"] in findings, key
        assert findings[difference["finding"]]["differs"], key


def test_findings_structure(bench: dict[str, Any]) -> None:
    """Findings carry rows, and an explanation only when a difference was seen."""
    findings = bench["sections"]["p1-diff"]["findings"]
    assert {f["key"] for f in findings} >= {
        "spec_examples",
        "relays",
        "non_ascii",
        "lower_crc",
        "deactivated",
        "history",
        "gas_placeholder",
        "timestamps",
        "mbus",
        "not_read",
        "buffer",
    }
    for finding in findings:
        assert finding["rows"]
        assert finding["differs"] == any(row["differs"] for row in finding["rows"])
        assert (finding["why"] is not None) == finding["differs"]
        for row in finding["rows"]:
            assert {"input", "emucs", "dsmr_parser", "differs"} <= set(row)
    # Well-formed 13-month histories decode to the same entries in both.
    history = next(f for f in findings if f["key"] == "history")
    assert not next(row for row in history["rows"] if row["input"] == "13 entries")[
        "differs"
    ]


def test_list_sections() -> None:
    """--list names the registered sections."""
    proc = subprocess.run(  # noqa: S603 - our own script with the test interpreter
        [sys.executable, str(BENCH), "--list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=REPO,
    )
    for name in ("p1-speed", "p1-diff", "s1-speed", "s1-loop"):
        assert name in proc.stdout


S1_CONTENDERS = {
    "batch_100ms",
    "reference_100ms",
    "batch_250ms",
    "reference_250ms",
    "batch_decode_only_250ms",
}


def test_s1_speed_section(bench: dict[str, Any]) -> None:
    """The whole pipeline was timed; batch and reference gave the same windows."""
    s1 = bench["sections"]["s1-speed"]
    stream = s1["stream"]
    assert stream["seconds"] == 1.5
    assert stream["frames"] == 6000
    assert stream["bytes"] == 6000 * 45
    assert stream["sample_rate_hz"] == 4000
    assert stream["windows"] == 1  # the bench raises if the pipelines disagree
    assert set(s1["results"]) == S1_CONTENDERS
    for key, result in s1["results"].items():
        assert result["seconds_per_pass"] > 0
        assert result["median_seconds_per_pass"] >= result["seconds_per_pass"]
        assert result["cpu_seconds_per_pass"] > 0
        assert result["frames_per_s"] == pytest.approx(
            6000 / result["seconds_per_pass"]
        )
        assert result["x_real_time"] == pytest.approx(1.5 / result["seconds_per_pass"])
        assert result["cpu_percent_at_4000_frames_per_s"] == pytest.approx(
            100 * result["cpu_seconds_per_pass"] / 1.5
        )
        assert len(result["samples_us"]) == result["repeats"]
        compared = key in ("batch_100ms", "batch_250ms")
        assert (result["vs_reference"] is not None) == compared, key
        assert (result["paired_vs_reference"] is not None) == compared, key
    for ms in ("100ms", "250ms"):
        headline = s1["headline"][ms]
        assert headline["x_real_time"] == s1["results"][f"batch_{ms}"]["x_real_time"]
        assert headline["vs_reference"] > 0
        assert headline["paired_vs_reference"] > 0


def test_s1_loop_section(bench: dict[str, Any]) -> None:
    """Event-loop time was measured for every chunk size and hand-off interval."""
    loop = bench["sections"]["s1-loop"]
    assert loop["bytes_per_s"] == 4000 * 45
    assert set(loop["chunks"]) == {"62", "510", "1024", "1460"}
    for size, row in loop["chunks"].items():
        assert row["calls_per_s"] == pytest.approx(4000 * 45 / int(size))
        for ms in (100, 250):
            timing = row[f"{ms}ms"]
            assert 0 < timing["ms_per_s"] <= timing["median_ms_per_s"]
            assert timing["handoffs_per_s"] == 1000 / ms
    assert loop["worst_ms_per_s"] == max(
        row[ms]["ms_per_s"]
        for row in loop["chunks"].values()
        for ms in ("100ms", "250ms")
    )
