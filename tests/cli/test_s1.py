"""The S1 command line against simulator ground truth: files, stdin, a PTY and TCP.

Most runs are in process (``main(argv)``); starting the CLI as a process imports
Home Assistant (about two seconds of CPU), so only one test does that. Tolerances are
those of issue 4: RMS 0.1 %, P within 0.5 % of S, THD 0.3 percentage points,
frequency 0.01 Hz. Counters must be exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
import fcntl
import io
import json
import os
from pathlib import Path
import random
import re
import select
import socket
import subprocess
import sys
import termios
import threading
import time
import tty
from typing import Any

import pytest

from custom_components.emucs.cli import commands, main
from custom_components.emucs.protocol.s1 import FRAME_SIZE, OFF_VOLTAGES
from custom_components.emucs.protocol.s1_sim import (
    Disturbance,
    S1Simulator,
    SimConfig,
    SimTruth,
)
from tests.protocol.test_s1_analytics import LOSSY, MODES as ANALYTICS_MODES

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60
"""Seconds after which a hung CLI fails the test: a guard, not a speed check (a loaded
2-core machine took over 15 s to start three CLIs at once)."""
SECONDS = 2.3
"""Two whole windows and an unfinished one."""
KEYS = [
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
    "events",
]
PHASE_KEYS = [
    "voltage_rms",
    "current_rms",
    "active_power",
    "apparent_power",
    "reactive_power",
    "power_factor",
    "thd_voltage",
    "thd_current",
]
TOTAL_KEYS = ["active_power", "apparent_power", "reactive_power", "power_factor"]
EVENT_KEYS = [
    "kind",
    "phase",
    "start_s",
    "duration_s",
    "depth_percent",
    "extreme_voltage",
]

MODES = {
    name: replace(config, faults=LOSSY) for name, config in ANALYTICS_MODES.items()
}
"""The meter modes of the analytics tests, with FCS errors, lost bursts and noise."""


@dataclass(frozen=True)
class Output:
    """What one CLI run printed."""

    status: int
    stdout: str
    stderr: str

    @property
    def windows(self) -> list[dict[str, Any]]:
        """The JSON lines, parsed strictly (NaN or Infinity would fail)."""
        return [
            json.loads(line, parse_constant=_reject)
            for line in self.stdout.splitlines()
        ]

    def totals(self) -> dict[str, int]:
        """Return the counters of the stderr summary line."""
        match = re.search(
            r"^(\d+) frames?, (\d+) CRC errors?, (\d+) missed, (\d+) bytes discarded",
            self.stderr,
            re.MULTILINE,
        )
        assert match, self.stderr
        frames, fcs, missed, discarded = map(int, match.groups())
        return {
            "frames": frames,
            "fcs_errors": fcs,
            "missed_frames": missed,
            "discarded_bytes": discarded,
        }

    def unfinished(self) -> tuple[int, int]:
        """Frames and missed frames of the window the input ended in."""
        match = re.search(
            r"^not summarised: input ended [\d.]+ s into a window "
            r"\((\d+) frames?, (\d+) missed\)$",
            self.stderr,
            re.MULTILINE,
        )
        return (0, 0) if match is None else (int(match[1]), int(match[2]))


def _reject(constant: str) -> None:
    raise AssertionError(f"not JSON: {constant}")


def run(
    capsys: pytest.CaptureFixture[str], *args: str, stdin: bytes | None = None
) -> Output:
    """Run ``main(["s1", *args])`` in this process."""
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        status = main(["s1", *args])
    finally:
        sys.stdin = saved
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return Output(status, out, err)


def stream(config: SimConfig, seconds: float = SECONDS) -> tuple[bytes, SimTruth]:
    """Return the bytes and truth of a simulated meter."""
    sim = S1Simulator(config, seed=7)
    return sim.generate(seconds), sim.truth


def check_window(window: dict[str, Any], truth: SimTruth, config: SimConfig) -> None:
    """One JSON line against the truth: the contract's keys and the tolerances."""
    assert list(window) == KEYS
    assert window["meter_id"] == config.meter_id
    assert window["polyphase"] == (config.wiring != "single_phase")
    assert window["four_wire"] == (config.wiring == "four_wire")
    assert window["sampling"] == ("per_period" if config.per_period else "per_second")
    assert window["sample_rate_hz"] == pytest.approx(truth.sample_rate_hz, rel=1e-4)
    assert window["frequency_hz"] == pytest.approx(truth.frequency_hz, abs=0.01)
    assert list(window["phases"]) == list(truth.phases)
    for name, got in window["phases"].items():
        assert list(got) == PHASE_KEYS
        want = truth.phases[name]
        s = want.apparent_power
        assert got["voltage_rms"] == pytest.approx(want.voltage_rms, rel=1e-3), name
        assert got["current_rms"] == pytest.approx(want.current_rms, rel=1e-3), name
        assert abs(got["active_power"] - want.active_power) <= 0.005 * s, name
        assert got["apparent_power"] == pytest.approx(s, rel=2e-3), name
        # N = sqrt(S² - P²): its error is bounded through N², as P's through S.
        assert abs(got["reactive_power"] ** 2 - want.nonactive_power**2) <= (
            0.005 * s * s
        ), name
        assert got["power_factor"] == pytest.approx(want.power_factor, abs=5e-3), name
        assert got["thd_voltage"] == pytest.approx(want.thd_voltage, abs=0.3), name
        assert got["thd_current"] == pytest.approx(want.thd_current, abs=0.3), name
    total = window["total"]
    assert list(total) == TOTAL_KEYS
    want_total = truth.total
    assert (
        abs(total["active_power"] - want_total.active_power)
        <= 0.005 * want_total.apparent_power
    )
    assert total["apparent_power"] == pytest.approx(want_total.apparent_power, rel=2e-3)
    assert total["power_factor"] == pytest.approx(want_total.power_factor, abs=5e-3)
    if truth.neutral_current_rms is None:
        assert window["neutral_current_rms"] is None
    else:
        assert window["neutral_current_rms"] == pytest.approx(
            truth.neutral_current_rms, rel=1e-3
        )


@pytest.mark.parametrize("mode", list(MODES))
def test_json_reproduces_the_truth(
    mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each meter mode, with FCS errors, dropped bursts, noise and invalid samples."""
    config = MODES[mode]
    data, truth = stream(config)
    path = tmp_path / "s1.bin"
    path.write_bytes(data)
    output = run(capsys, str(path), "--json")
    assert output.status == 0
    windows = output.windows
    assert len(windows) == 2
    for window in windows:
        check_window(window, truth, config)

    # The counters add up exactly: windows, the unfinished window, the totals line.
    assert truth.fcs_errors > 5
    assert truth.missed_frames > truth.fcs_errors
    frames, missed = output.unfinished()
    assert frames > 0
    assert sum(w["frames"] for w in windows) + frames == truth.frames
    assert sum(w["missed_frames"] for w in windows) + missed == truth.missed_frames
    assert output.totals() == {
        "frames": truth.frames,
        "fcs_errors": truth.fcs_errors,
        "missed_frames": truth.missed_frames,
        "discarded_bytes": truth.discarded_bytes,
    }
    assert f", {truth.invalid_sample_frames} with invalid samples" in output.stderr


def test_voltage_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A dip shows up once, in the window it ended in, with its phase, time and depth."""
    dip = Disturbance(phase="L2", start_s=0.31, duration_s=0.1, factor=0.7)
    data, truth = stream(replace(MODES["4w-4kHz-neutral"], disturbances=(dip,)))
    path = tmp_path / "s1.bin"
    path.write_bytes(data)
    windows = run(capsys, str(path), "--json").windows
    (want,) = truth.events
    assert [len(w["events"]) for w in windows] == [1, 0]
    (event,) = windows[0]["events"]
    assert list(event) == EVENT_KEYS
    assert (event["kind"], event["phase"]) == ("dip", "L2")
    assert event["start_s"] == pytest.approx(want.start_s, abs=0.02)
    assert event["duration_s"] == pytest.approx(want.duration_s, abs=0.03)
    assert event["depth_percent"] == pytest.approx(want.depth_percent, abs=1.0)
    assert event["extreme_voltage"] == pytest.approx(want.extreme_voltage, abs=2.3)


# -- counters per window ------------------------------------------------------------

WINDOW = 4000
"""Samples per window: 50 cycles of 80 samples (4 kHz, exactly 50 Hz)."""
DROPPED = {10, 11, 12, 500, *range(3995, 4005), *range(9000, 9050), 12500}
CORRUPTED = {20, 21, 2500, 4020, 7999, 11000}
"""7999 is the last sample of window 2: its FCS error is charged to the next frame
received (8000, window 3) while its sample is missing from window 2."""


def frame_list(config: SimConfig, samples: int) -> list[bytes]:
    """Return the frames of a clean simulated stream, one 45-byte frame per sample."""
    data = S1Simulator(config, seed=1).generate(samples=samples)
    assert len(data) == samples * FRAME_SIZE
    return [data[k : k + FRAME_SIZE] for k in range(0, len(data), FRAME_SIZE)]


def damaged(frame: bytes) -> bytes:
    """Flip one bit of the first voltage: the header survives, the FCS fails."""
    out = bytearray(frame)
    out[OFF_VOLTAGES[0] + 1] ^= 0x10
    return bytes(out)


def test_counters_per_window_are_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Known lost and damaged frames: every window's counters, and the totals."""
    config = SimConfig.four_wire(frequency_hz=50.0)
    frames = frame_list(config, 3 * WINDOW + 1500)
    pieces = []
    noise = b"\x7e\x08\x2b\xff noise"  # a flag and half a header: not a candidate
    garbage = 0
    for k, frame in enumerate(frames):
        if k in DROPPED:
            continue
        pieces.append(damaged(frame) if k in CORRUPTED else frame)
        if k % 997 == 0:
            pieces.append(noise)
            garbage += len(noise)
    path = tmp_path / "s1.bin"
    path.write_bytes(b"".join(pieces))
    output = run(capsys, str(path), "--json")
    lost = DROPPED | CORRUPTED
    received = sorted(set(range(len(frames))) - lost)

    def window_of(index: int) -> int:
        return index // WINDOW

    charged = [window_of(min(r for r in received if r > c)) for c in CORRUPTED]
    expected = [
        {
            "frames": WINDOW - len([i for i in lost if window_of(i) == w]),
            "crc_errors": charged.count(w),
            "missed_frames": len([i for i in lost if window_of(i) == w]),
        }
        for w in range(3)
    ]
    assert [
        {key: window[key] for key in ("frames", "crc_errors", "missed_frames")}
        for window in output.windows
    ] == expected
    assert expected[1]["crc_errors"] == 1  # 4020; 7999 is charged to window 3
    assert output.unfinished() == (1500 - 1, 1)
    assert output.totals() == {
        "frames": len(received),
        "fcs_errors": len(CORRUPTED),
        "missed_frames": len(lost),
        "discarded_bytes": len(CORRUPTED) * FRAME_SIZE + garbage,
    }


# -- inputs ---------------------------------------------------------------------------


def test_stdin_table(capsys: pytest.CaptureFixture[str]) -> None:
    """'-' reads stdin; without --json every window is a table."""
    config = MODES["3w-2kHz"]
    data, truth = stream(config)
    output = run(capsys, "-", stdin=data)
    assert output.status == 0
    tables = output.stdout.split("\n\n")
    assert tables.pop() == ""
    assert len(tables) == 2
    lines = tables[0].splitlines()
    assert lines[0].startswith("S1 0.000-")
    assert lines[0].endswith(
        " s  meter 1SAG1100000292  3-phase 3-wire (Aron: L1 = U12, L3 = U32)"
    )
    assert lines[1].startswith("  2000.00 samples/s (per second), 50.021 Hz; ")
    assert lines[2].split() == [
        "U",
        "V",
        "I",
        "A",
        "P",
        "W",
        "S",
        "VA",
        "N",
        "var",
        "PF",
        "THD",
        "U",
        "%",
        "THD",
        "I",
        "%",
    ]
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:]}
    assert list(rows) == ["L1", "L3", "Total"]
    assert float(rows["L1"][0]) == pytest.approx(truth.phases["L1"].voltage_rms, 1e-3)
    assert float(rows["L3"][1]) == pytest.approx(truth.phases["L3"].current_rms, 1e-3)
    assert float(rows["Total"][0]) == pytest.approx(
        truth.total.active_power, abs=0.005 * truth.total.apparent_power
    )
    assert output.totals()["frames"] == truth.frames


def test_empty_and_garbage(capsys: pytest.CaptureFixture[str]) -> None:
    """No frame at all is a normal end of input."""
    assert run(capsys, "-", stdin=b"") == Output(
        0, "", "0 frames, 0 CRC errors, 0 missed, 0 bytes discarded\n"
    )
    noise = random.Random(1).randbytes(50_000)
    output = run(capsys, "-", "--json", stdin=noise)
    assert (output.status, output.stdout) == (0, "")
    assert output.totals()["discarded_bytes"] == len(noise) - (FRAME_SIZE - 1)


def test_bad_input_never_crashes(capsys: pytest.CaptureFixture[str]) -> None:
    """Mutated streams, a mode change, a foreign type byte, a cut: JSON lines, exit 0."""
    single, _ = stream(SimConfig.single_phase(sampling=20), 1.2)
    four, _ = stream(SimConfig.four_wire(frame_type=0x80, sampling=20), 1.2)
    rng = random.Random(5)
    data = bytearray(single + four + single[: len(single) // 3])
    for _ in range(300):
        data[rng.randrange(len(data))] = rng.randrange(256)
    for _ in range(20):
        start = rng.randrange(len(data))
        del data[start : start + rng.randrange(1, 300)]
    output = run(capsys, "-", "--json", stdin=bytes(data))
    assert output.status == 0
    windows = output.windows
    assert windows
    assert all(list(w) == KEYS for w in windows)
    assert {w["four_wire"] for w in windows} == {False, True}
    assert "; frame types 0x08 x" in output.stderr
    assert ", 0x80 x" in output.stderr

    # The same bytes as a table.
    assert run(capsys, "-", stdin=bytes(data)).status == 0


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A file that cannot be opened: a message and exit 2."""
    output = run(capsys, str(tmp_path / "missing.bin"))
    assert output.status == 2
    assert output.stderr.startswith("error: cannot open ")


def test_subprocess_stdin_json() -> None:
    """As a real process: a pipe in, the same JSON lines as in process, exit 0."""
    config = MODES["1p-per-period-64"]
    data, truth = stream(config)
    proc = subprocess.run(
        [sys.executable, "-m", "custom_components.emucs", "s1", "-", "--json"],
        cwd=REPO,
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    output = Output(0, proc.stdout.decode(), proc.stderr.decode())
    windows = output.windows
    assert len(windows) == 2
    for window in windows:
        check_window(window, truth, config)
    assert output.totals()["frames"] == truth.frames


# -- live ports -----------------------------------------------------------------------


@dataclass
class Background:
    """``main`` running in a thread, its stdout and stderr captured by capsys."""

    thread: threading.Thread
    status: list[int]
    capsys: pytest.CaptureFixture[str]
    out: str = ""
    err: str = ""

    def poll(self) -> None:
        """Collect what was printed so far."""
        out, err = self.capsys.readouterr()
        self.out += out
        self.err += err

    def wait_for(self, done: Callable[[], bool]) -> None:
        """Poll until ``done()``; fail after TIMEOUT seconds."""
        deadline = time.monotonic() + TIMEOUT
        while not done():
            assert time.monotonic() < deadline, (self.out, self.err)
            time.sleep(0.02)
            self.poll()

    def finish(self) -> Output:
        """Wait for ``main`` to return."""
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), self.err
        self.poll()
        return Output(self.status[0], self.out, self.err)


@contextmanager
def background(capsys: pytest.CaptureFixture[str], *args: str) -> Iterator[Background]:
    """Run ``main(["s1", *args])`` in a thread until the test's input ends."""
    status: list[int] = []
    thread = threading.Thread(
        target=lambda: status.append(main(["s1", *args])), name="test-s1-cli"
    )
    runner = Background(thread, status, capsys)
    thread.start()
    try:
        # The port is open (and flushed) once this line is out; input counts from here.
        runner.wait_for(lambda: " at 2000000 8N1 " in runner.err)
        yield runner
    finally:
        thread.join(TIMEOUT)


def check_live(output: Output, truth: SimTruth, config: SimConfig) -> None:
    """Two windows as from a file, 'port closed', the totals."""
    assert output.status == 0, output.stderr
    windows = output.windows
    assert len(windows) == 2
    for window in windows:
        check_window(window, truth, config)
    assert "\nport closed: " in output.stderr
    assert output.totals()["frames"] == truth.frames
    assert output.totals()["fcs_errors"] == truth.fcs_errors


@pytest.mark.usefixtures("socket_enabled")
def test_tcp_port(capsys: pytest.CaptureFixture[str]) -> None:
    """socket://: the stream in 1460-byte segments, then the peer closes."""
    config = MODES["4w-4kHz-neutral"]
    data, truth = stream(config)
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(TIMEOUT)
    url = f"socket://127.0.0.1:{server.getsockname()[1]}"
    with server, background(capsys, "--port", url, "--json") as cli:
        conn, _ = server.accept()
        with conn:
            for offset in range(0, len(data), 1460):
                conn.sendall(data[offset : offset + 1460])
        output = cli.finish()
    check_live(output, truth, config)
    assert output.stderr.startswith(f"reading {url} at 2000000 8N1")


def test_pty_port(capsys: pytest.CaptureFixture[str]) -> None:
    """A serial device (a real PTY at 2,000,000 baud): the stream, then a hang-up."""
    config = MODES["3w-per-period-80"]
    data, truth = stream(config)
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    try:
        with background(capsys, "--port", os.ttyname(slave), "--json") as cli:
            view = memoryview(data)
            while view:
                assert select.select([], [master], [], TIMEOUT)[1], "PTY not drained"
                view = view[os.write(master, view[:4096]) :]
            # Hang up only once the CLI has read everything: a hang-up drops the rest.
            cli.wait_for(_drained(slave))
            os.close(master)
            master = -1
            output = cli.finish()
    finally:
        if master >= 0:
            os.close(master)
        os.close(slave)
    check_live(output, truth, config)


def _drained(fd: int) -> Callable[[], bool]:
    """Return a check that the terminal's input queue stayed empty for 5 polls.

    Written bytes reach the queue a moment later (the kernel's flip buffer), so
    one empty look is not enough.
    """
    empty = [0]

    def check() -> bool:
        count = bytearray(4)
        fcntl.ioctl(fd, termios.FIONREAD, count)
        empty[0] = 0 if int.from_bytes(count, sys.byteorder) else empty[0] + 1
        return empty[0] >= 5

    return check


def test_usage(capsys: pytest.CaptureFixture[str]) -> None:
    """The s1 command needs exactly one input."""
    with pytest.raises(SystemExit) as exc_info:
        main(["s1", "--json"])
    assert exc_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_ctrl_c(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C: the windows so far, the totals, exit 130."""
    data, truth = stream(MODES["1p-4kHz"])

    def interrupted(*_: object, **__: object) -> Iterator[bytes]:
        yield data
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "read_input", interrupted)
    output = run(capsys, "-", "--json")
    assert output.status == 130
    assert len(output.windows) == 2
    assert output.totals()["frames"] == truth.frames
    assert "not summarised" not in output.stderr
