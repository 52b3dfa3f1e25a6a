"""``python -m custom_components.emucs simulate``: what it serves, where, and on request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import os
from pathlib import Path
import re
import select
import signal
import socket
import subprocess
import sys
import time

import pytest

from custom_components.emucs.cli import main
from custom_components.emucs.protocol import P1Stream, S1BatchDecoder, Telegram

REPO = Path(__file__).parents[2]
TIMEOUT = 30.0
START = "2026-06-17T12:00:00+02:00"


def telegrams_of(data: bytes) -> tuple[list[Telegram], int]:
    """Decode a byte stream; return the telegrams and the number of CRC errors."""
    stream = P1Stream()
    telegrams = stream.feed(data)
    return telegrams, stream.stats.crc_errors


def test_stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """--stdout --speed 0 --count N: N telegrams at once, the clock from --start."""
    args = ["simulate", "--stdout", "--speed", "0", "--count", "3", "--start", START]
    assert main([*args, "--wiring", "single_phase", "--no-water"]) == 0
    telegrams, errors = telegrams_of(capsysbinary.readouterr().out)
    assert errors == 0
    assert [t.timestamp.isoformat() for t in telegrams if t.timestamp] == [
        "2026-06-17T12:00:01+02:00",
        "2026-06-17T12:00:02+02:00",
        "2026-06-17T12:00:03+02:00",
    ]
    assert telegrams[0].value("1-0:32.7.0") is not None
    assert telegrams[0].value("1-0:52.7.0") is None
    assert [d.medium for d in telegrams[0].mbus] == ["gas"]


def test_stdout_faults_and_breaker(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """--crc-errors 1 damages every telegram; --breaker SECONDS=STATE switches it."""
    base = ["simulate", "--stdout", "--speed", "0", "--start", START, "--seed", "2"]
    assert main([*base, "--count", "4", "--crc-errors", "1"]) == 0
    telegrams, errors = telegrams_of(capsysbinary.readouterr().out)
    assert (len(telegrams), errors) == (0, 4)
    assert main([*base, "--count", "4", "--breaker", "2=0", "--breaker", "3=2"]) == 0
    captured = capsysbinary.readouterr()
    telegrams, _ = telegrams_of(captured.out)
    assert [t.value("0-0:96.3.10") for t in telegrams] == [1, 1, 0, 2]
    assert b"breaker: 0 (disconnected)" in captured.err


@pytest.mark.parametrize(
    "args",
    [["--tcp", "host:port"], ["--crc-errors", "2"], ["--breaker", "5=7"]],
)
def test_usage_errors(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad arguments: exit status 2 and a message."""
    with pytest.raises(SystemExit) as exc:
        main(["simulate", *args])
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.usefixtures("socket_enabled")
def test_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    """A TCP port already taken: exit status 2, said on stderr."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["simulate", "--tcp", str(port), "--count", "1"]) == 2
    assert "error: cannot serve:" in capsys.readouterr().err


class Simulator:
    """A running ``simulate`` process and what it printed on stderr."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        """Wrap ``proc``."""
        self.proc = proc
        self.stderr = b""

    def wait_for(self, pattern: bytes) -> re.Match[bytes]:
        """Read stderr until ``pattern`` matches; fail after TIMEOUT."""
        assert self.proc.stderr is not None
        deadline = time.monotonic() + TIMEOUT
        while (match := re.search(pattern, self.stderr)) is None:
            remaining = deadline - time.monotonic()
            assert remaining > 0, self.stderr
            if select.select([self.proc.stderr], [], [], remaining)[0]:
                chunk = os.read(self.proc.stderr.fileno(), 4096)
                assert chunk, self.stderr
                self.stderr += chunk
        return match


@contextmanager
def simulator(*args: str) -> Iterator[Simulator]:
    """Start ``simulate``; kill it if the test leaves it running."""
    proc = subprocess.Popen(  # noqa: S603 - our own argv
        [sys.executable, "-m", "custom_components.emucs", "simulate", *args],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield Simulator(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=TIMEOUT)


def receive(read: socket.socket | int, want: int, *, s1: bool = False) -> bytes:
    """Read until ``want`` telegrams (or S1 frames) arrived; fail after TIMEOUT."""
    stream, decoder = P1Stream(), S1BatchDecoder()
    data = b""
    got = 0
    deadline = time.monotonic() + TIMEOUT
    while got < want:
        assert time.monotonic() < deadline, f"got {got} of {want}"
        if not select.select([read], [], [], 1.0)[0]:
            continue
        chunk = (
            read.recv(65536)
            if isinstance(read, socket.socket)
            else os.read(read, 65536)
        )
        assert chunk
        data += chunk
        got += len(decoder.feed(chunk)) if s1 else len(stream.feed(chunk))
    return data


@pytest.mark.usefixtures("socket_enabled")
def test_serves_tcp_pty_and_s1() -> None:
    """One meter on TCP, a PTY and S1; SIGUSR1 cycles the breaker; SIGTERM stops it."""
    with simulator(
        "--tcp", "0", "--pty", "--s1-tcp", "0", "--s1-sampling", "10",
        "--speed", "4", "--id", "1SAG3105999999", "--start", START,
    ) as sim:  # fmt: skip
        p1_port = int(sim.wait_for(rb"P1 on tcp://127\.0\.0\.1:(\d+)\n")[1])
        pty_path = sim.wait_for(rb"P1 on pseudo-terminal (\S+)\n")[1].decode()
        s1_port = int(sim.wait_for(rb"S1 on tcp://127\.0\.0\.1:(\d+)\n")[1])
        sim.wait_for(rb"meter 1SAG3105999999, clock 2026-06-17 12:00:00\n")

        pty = os.open(pty_path, os.O_RDONLY | os.O_NOCTTY)
        with (
            socket.create_connection(("127.0.0.1", p1_port)) as p1,
            socket.create_connection(("127.0.0.1", s1_port)) as s1,
        ):
            telegrams, errors = telegrams_of(receive(p1, 2))
            assert errors == 0
            assert telegrams[0].equipment_id == "1SAG3105999999"
            assert telegrams_of(receive(pty, 1))[0]

            decoder = S1BatchDecoder()
            batch = decoder.feed(receive(s1, 1000, s1=True))
            assert len(batch) >= 1000
            assert decoder.stats.fcs_errors == decoder.stats.missed_frames == 0
            assert bytes(batch.meter_id[0]).decode() == "1SAG3105999999"

            sim.proc.send_signal(signal.SIGUSR1)
            sim.wait_for(rb"breaker: 0 \(disconnected\)\n")
            telegrams, _ = telegrams_of(receive(p1, 3))
            assert telegrams[-1].value("0-0:96.3.10") == 0
        os.close(pty)
        sim.proc.send_signal(signal.SIGTERM)
        assert sim.proc.wait(timeout=TIMEOUT) == 0
