"""The P1 command line, run as a real process on real files, pipes, TCP and a PTY.

Starting the CLI imports Home Assistant (the package's ``__init__``), about two
seconds of CPU, so the runs that need no interaction start together once per module.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
import json
import os
from pathlib import Path
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import tty
from typing import Any

import pytest

from custom_components.emucs.cli import main
from custom_components.emucs.protocol import crc16_arc, decode_telegram
from tests.telegrams import build_telegram, load_template, template_names

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60
"""Seconds after which a hung CLI fails the test: a guard, not a speed check (a loaded
2-core machine took over 15 s to start three CLIs at once)."""
SPEC_EXAMPLES = (
    "spec_e21_3phase.txt",
    "spec_e21_1phase.txt",
    "spec_171_3phase.txt",
    "spec_171_1phase.txt",
)
REPEATS = 4
"""Copies of the capture block: enough to be read in more than one 64 KiB chunk."""
TAIL = 100
"""Bytes of a telegram cut off at the end of the capture."""

# A telegram with an invalid value, an unknown object and a gas meter without a
# reading yet.
UNUSUAL = build_telegram(
    "/FLU5\\253769484_A\n\n"
    "0-0:96.1.4(50221)\n"
    "0-0:96.1.1(3153414733313031303231363035)\n"
    "1-0:1.8.1(abc*kWh)\n"
    "1-0:99.99.0(42)\n"
    "0-1:24.1.0(003)\n"
    "0-1:24.2.3(632525252525W)(00000.000)\n"
    "!"
)


def spec_telegrams() -> list[bytes]:
    """Return the specs' example telegrams with their CRC filled in."""
    return [build_telegram(load_template(name)) for name in SPEC_EXAMPLES]


def corpus() -> list[bytes]:
    """Return the spec examples and the field-quirk corpus."""
    quirks = [build_telegram(load_template(name)) for name in template_names("quirk_")]
    lowercase = build_telegram(
        load_template("quirk_lowercase_crc.txt"), lowercase_crc=True
    )
    return [*spec_telegrams(), *quirks, lowercase]


def corrupt(raw: bytes) -> tuple[bytes, str]:
    """Change one digit of a value but keep the CRC; return it and the CRC error detail."""
    damaged = raw.replace(b"1-0:1.8.2(000015.758", b"1-0:1.8.2(000015.759", 1)
    assert damaged != raw
    bang = damaged.rindex(b"!")
    sent = damaged[bang + 1 : bang + 5].decode()
    return damaged, f"CRC {sent} sent, {crc16_arc(damaged[: bang + 1]):04X} computed"


@dataclass(frozen=True)
class Capture:
    """Bytes as a port delivers them and what the CLI must make of them."""

    data: bytes
    valid: list[bytes]
    crc_detail: str


def make_capture() -> Capture:
    """Garbage, every corpus telegram, a corrupted one; a cut-off telegram at the end."""
    telegrams = corpus()
    damaged, detail = corrupt(telegrams[0])
    block = b"".join(
        [
            b"\x00\xffnoise \xe9\r\n",
            telegrams[0],
            damaged,
            b"\x85garbage!12\r\n",
            *telegrams[1:],
        ]
    )
    data = block * REPEATS + telegrams[2][:TAIL]
    assert len(data) > 64 * 1024
    return Capture(data, telegrams * REPEATS, detail)


def expected_json(raw: bytes) -> dict[str, Any]:
    """Return what the JSON line of a telegram must hold: its to_dict() through JSON."""
    result: dict[str, Any] = json.loads(json.dumps(decode_telegram(raw).to_dict()))
    return result


def json_lines(stdout: bytes) -> list[dict[str, Any]]:
    """Parse the CLI's --json output: one object per line."""
    return [json.loads(line) for line in stdout.decode("utf-8").splitlines()]


def cli(*args: str) -> list[str]:
    """Return the argv of the CLI's p1 command."""
    return [sys.executable, "-m", "custom_components.emucs", "p1", *args]


@dataclass(frozen=True)
class Run:
    """A finished CLI process."""

    returncode: int
    stdout: bytes
    stderr: bytes


def run_all(jobs: dict[str, tuple[list[str], bytes | None]]) -> dict[str, Run]:
    """Run the CLI once per job (arguments, stdin), all at the same time."""
    procs = {
        name: subprocess.Popen(  # noqa: S603 - our own argv
            cli(*args),
            cwd=REPO,
            stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, (args, data) in jobs.items()
    }
    runs = {}
    try:
        for name, proc in procs.items():
            stdout, stderr = proc.communicate(jobs[name][1], timeout=TIMEOUT)
            runs[name] = Run(proc.returncode, stdout, stderr)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return runs


@pytest.fixture(scope="module")
def capture() -> Capture:
    """Return the capture the file and stdin runs read."""
    return make_capture()


@pytest.fixture(scope="module")
def runs(capture: Capture, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Run the non-interactive cases: a file, stdin, a missing file."""
    directory = tmp_path_factory.mktemp("cli")
    (directory / "capture.bin").write_bytes(capture.data)
    return run_all(
        {
            "file": ([str(directory / "capture.bin"), "--json"], None),
            "stdin": (["-"], UNUSUAL + capture.data),
            "missing": ([str(directory / "missing.bin")], None),
        }
    )


def check_stderr(stderr: bytes, capture: Capture, telegrams: int) -> None:
    """Every rejection on stderr, one line each, then the summary."""
    text = stderr.decode()
    assert "Traceback" not in text
    lines = text.splitlines()
    assert lines.count(f"rejected: crc_mismatch: {capture.crc_detail}") == REPEATS
    assert len(lines) == REPEATS + 2
    assert lines[-2] == f"rejected: truncated: input ended {TAIL} bytes into a telegram"
    assert lines[-1] == f"{telegrams} telegrams, {REPEATS + 1} rejected"


def test_file_json(runs: dict[str, Run], capture: Capture) -> None:
    """A capture file: one JSON line per valid telegram, rejections on stderr, exit 0."""
    run = runs["file"]
    assert run.returncode == 0, run.stderr
    assert json_lines(run.stdout) == [expected_json(raw) for raw in capture.valid]
    check_stderr(run.stderr, capture, len(capture.valid))


def test_stdin_table(runs: dict[str, Run], capture: Capture) -> None:
    """'-' reads stdin; the table shows names, values, units, times and the markers."""
    run = runs["stdin"]
    assert run.returncode == 0, run.stderr
    check_stderr(run.stderr, capture, len(capture.valid) + 1)
    tables = run.stdout.decode().split("\n\n")
    assert tables.pop() == ""
    assert len(tables) == len(capture.valid) + 1
    first = capture.valid[0]
    assert tables[1].startswith(
        f"Telegram /FLU5\\253769484_A  CRC {first[-6:-2].decode()}\n"
    )

    def row(table: str, obis: str) -> list[str]:
        found = [
            line.split() for line in table.splitlines() if line.split()[:1] == [obis]
        ]
        assert len(found) == 1, obis
        return found[0]

    table = tables[1]  # spec E.2.1 three-phase example
    lines = table.splitlines()
    assert "  Meter    1SAG3101021605" in lines
    assert "  Version  50220 (DSMR 5.0.2, eMUCS 2.0)" in lines
    assert row(table, "1-0:1.8.2")[-2:] == ["15.758", "kWh"]
    assert "  1-0:1.8.2    Energy import tariff 2 " in table
    assert row(table, "1-0:1.6.0")[-3:] == ["2.589", "kW", "2020-05-09T13:45:58+02:00"]
    assert row(table, "0-0:17.0.0")[-1] == "deactivated"
    assert row(table, "1-0:31.4.0")[-1] == "deactivated"
    assert row(table, "0-0:96.3.10")[-1] == "1"
    assert "from 2020-03-01T00:00:00+02:00" in table  # the 98.1.0 history
    assert "2020-02-10T03:54:21+01:00" in table  # a winter-time peak
    assert "  M-Bus channel 1: gas (device type 3)" in lines
    assert "  M-Bus channel 2: water (device type 7)" in lines
    assert "    reading 112.384 m3 at 2020-05-12T13:45:58+02:00" in lines
    assert "  Virtual relays  1: 0, 2: 0, 3: 0, 4: 0" in lines

    table = tables[0]  # UNUSUAL
    lines = table.splitlines()
    assert " (abc*kWh)  invalid: not a number: '(abc*kWh)'\n" in table
    assert row(table, "1-0:99.99.0") == ["1-0:99.99.0", "unknown", "(42)"]
    assert row(table, "0-1:24.2.3")[-3:] == ["-", "no", "time"]
    assert "  M-Bus channel 1: gas (device type 3)" in lines
    assert "    no reading yet" in lines


def test_missing_file(runs: dict[str, Run]) -> None:
    """A file that cannot be opened: a message and exit 2."""
    run = runs["missing"]
    assert run.returncode == 2
    assert run.stdout == b""
    stderr = run.stderr.decode()
    assert stderr.startswith("error: cannot open ")
    assert stderr.endswith("missing.bin: No such file or directory\n")


def test_empty_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No telegram at all is still a normal end of input (in process)."""
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    assert main(["p1", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "0 telegrams, 0 rejected\n"


@pytest.mark.parametrize(
    "args",
    [["p1"], ["p1", "a.bin", "--port", "socket://127.0.0.1:1"], ["p1", "--json"], []],
)
def test_usage_errors(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Exactly one input and a command are required: argparse exits with 2."""
    with pytest.raises(SystemExit) as exc_info:
        main(args)
    assert exc_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.usefixtures("socket_enabled")
def test_port_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A port that cannot be opened: a message and exit 2 (in process)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    assert main(["p1", "--port", f"socket://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot open socket://127.0.0.1:{port}: ")


@contextmanager
def started(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    """Start the CLI with unbuffered pipes; kill it if the test leaves it running."""
    # A shell's background job runs with SIGINT ignored, which a child inherits,
    # and Python then never raises KeyboardInterrupt. A handled signal is reset
    # to the default on exec: give the CLI the Ctrl-C a terminal would.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    proc = subprocess.Popen(  # noqa: S603 - our own argv
        cli(*args),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    signal.signal(signal.SIGINT, previous)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=TIMEOUT)


def read_until(fd: int, buffer: bytearray, done: Callable[[bytes], bool]) -> None:
    """Read a pipe into buffer until done(buffer) holds; fail after TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while not done(bytes(buffer)):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out, got {bytes(buffer)!r}"
        if select.select([fd], [], [], remaining)[0]:
            chunk = os.read(fd, 65536)
            assert chunk, f"end of output, got {bytes(buffer)!r}"
            buffer += chunk


def wait_opened(proc: subprocess.Popen[bytes]) -> bytearray:
    """Wait for the CLI's 'reading URL' line: the port is open, input counts from now."""
    assert proc.stderr is not None
    stderr = bytearray()
    read_until(proc.stderr.fileno(), stderr, lambda err: b"\n" in err)
    assert stderr.startswith(b"reading "), stderr
    assert b" at 115200 8N1" in stderr
    return stderr


def wait_exit(proc: subprocess.Popen[bytes]) -> tuple[int, bytes, bytes]:
    """Wait for the process; return its exit status and remaining output."""
    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, stdout, stderr


def test_broken_pipe(tmp_path: Path) -> None:
    """A reader that goes away (| head) ends the CLI quietly with 141."""
    path = tmp_path / "many.bin"
    path.write_bytes(b"".join(spec_telegrams()) * 100)
    with started(str(path), "--json") as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        read_until(proc.stdout.fileno(), bytearray(), lambda out: b"\n" in out)
        proc.stdout.close()
        assert proc.wait(timeout=TIMEOUT) == 141
        assert proc.stderr.read() == b""


@contextmanager
def tcp_server(payload: bytes, send: threading.Event) -> Iterator[int]:
    """Serve one loopback TCP client: on ``send``, send payload, then close.

    Yields the port number.
    """
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(TIMEOUT)
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = server.accept()
            with conn:
                assert send.wait(TIMEOUT)
                # In pieces, as a serial-to-network bridge passes them on.
                for offset in range(0, len(payload), 700):
                    conn.sendall(payload[offset : offset + 700])
        except BaseException as err:  # noqa: BLE001 - reported by the test
            errors.append(err)

    thread = threading.Thread(target=serve, name="test-tcp-server")
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        send.set()
        thread.join(TIMEOUT)
        server.close()
    assert not errors, errors


@pytest.mark.usefixtures("socket_enabled")
def test_tcp_port() -> None:
    """socket://: three telegrams, then the peer closes: end of input, exit 0."""
    sent = spec_telegrams()[:3]
    send = threading.Event()
    with tcp_server(b"\r\nhalf a telegram!1234\r\n" + b"".join(sent), send) as port:
        url = f"socket://127.0.0.1:{port}"
        with started("--port", url, "--json") as proc:
            stderr = wait_opened(proc)
            assert stderr.startswith(f"reading {url} ".encode())
            send.set()
            status, stdout, rest = wait_exit(proc)
    assert status == 0, stderr + rest
    assert json_lines(stdout) == [expected_json(raw) for raw in sent]
    lines = (stderr + rest).decode().splitlines()
    assert lines[1].startswith("port closed: ")
    assert lines[2:] == ["3 telegrams, 0 rejected"]


class Pty:
    """A real pseudo-terminal: the test writes the master, the CLI opens the slave.

    The slave is raw from the start and stays open here until the end, so the
    device exists however the CLI opens it.
    """

    def __init__(self) -> None:
        """Open the pair."""
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.device = os.ttyname(self._slave)

    def write(self, data: bytes) -> None:
        """Write to the master as the reader drains it (the PTY buffer is small)."""
        while data:
            assert select.select([], [self.master], [], TIMEOUT)[1], "PTY not drained"
            data = data[os.write(self.master, data) :]

    def hang_up(self) -> None:
        """Close the master: the slave then reads EIO, as after an unplugged adapter."""
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    def close(self) -> None:
        """Close both ends."""
        self.hang_up()
        os.close(self._slave)


@contextmanager
def pty() -> Iterator[Pty]:
    """Open a pseudo-terminal for one test."""
    pair = Pty()
    try:
        yield pair
    finally:
        pair.close()


def test_pty_port() -> None:
    """A serial device (a real PTY): telegrams, then the device goes away: exit 0."""
    sent = spec_telegrams()[1:]
    with pty() as port, started("--port", port.device, "--json") as proc:
        assert proc.stdout is not None
        stderr = wait_opened(proc)
        port.write(b"\x00" + b"".join(sent))
        stdout = bytearray()
        read_until(proc.stdout.fileno(), stdout, lambda out: out.count(b"\n") == 3)
        port.hang_up()
        status, rest, more = wait_exit(proc)
    assert status == 0, stderr + more
    assert json_lines(bytes(stdout) + rest) == [expected_json(raw) for raw in sent]
    lines = (stderr + more).decode().splitlines()
    assert lines[1].startswith("port closed: ")
    assert lines[2:] == ["3 telegrams, 0 rejected"]


def test_ctrl_c() -> None:
    """Ctrl-C on a live port: exit 130, the summary, no traceback."""
    with pty() as port, started("--port", port.device) as proc:
        assert proc.stdout is not None
        stderr = wait_opened(proc)
        port.write(spec_telegrams()[0])
        stdout = bytearray()
        read_until(proc.stdout.fileno(), stdout, lambda out: out.endswith(b"\n\n"))
        proc.send_signal(signal.SIGINT)
        status, _, rest = wait_exit(proc)
    assert status == 130
    assert stdout.startswith(b"Telegram /FLU5\\253769484_A")
    assert (stderr + rest).decode().splitlines()[1:] == ["1 telegram, 0 rejected"]


def test_cli_imports_no_homeassistant() -> None:
    """The CLI modules themselves import no Home Assistant code."""
    package = REPO / "custom_components" / "emucs"
    for path in [*(package / "cli").glob("*.py"), package / "simulate_options.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = [
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        ]
        modules += [
            node.module or ""
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        ]
        assert not [name for name in modules if name.startswith("homeassistant")], path
