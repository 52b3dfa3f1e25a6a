"""The demo (scripts/demo.py) for the browser test: started once, stopped for sure.

The demo runs in a temporary configuration directory on free ports, with a second
simulated meter that is not added yet. At the end it gets SIGINT, as from Ctrl-C,
and must stop Home Assistant and both meters itself; whatever is still running after
that (found by the directory or ports on its command line) is killed and the test
fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
import os
from pathlib import Path
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

try:
    import pytest_socket
except ImportError:  # Home Assistant's test plugins are not installed: nothing blocks
    pytest_socket = None

REPO = Path(__file__).parents[2]
SCREENSHOTS = REPO / "e2e-screenshots"
CHROMIUM = Path("/usr/bin/chromium")
READY_TIMEOUT = 420.0
"""Seconds for the demo to be ready (first start of Home Assistant on a slow machine)."""
STOP_TIMEOUT = 90.0


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Tell where the screenshots are."""
    if SCREENSHOTS.is_dir() and any(SCREENSHOTS.glob("*.png")):
        terminalreporter.write_line(f"e2e screenshots: {SCREENSHOTS}")


@dataclass(frozen=True)
class RunningDemo:
    """Where the demo's Home Assistant and meters are."""

    base: str
    config: Path
    meter_port: int
    extra_meter_port: int
    dashboard: str = ""
    """The address of the demo's dashboard, the page Home Assistant opens."""
    username: str = "demo"
    password: str = "emucs-demo"  # noqa: S105 - the demo's printed login


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def leftovers(markers: list[str]) -> list[int]:
    """PIDs of processes whose command line mentions one of ``markers``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if any(marker in cmdline for marker in markers):
            found.append(int(entry.name))
    return found


if pytest_socket is None:

    @pytest.fixture
    def socket_enabled() -> None:
        """Stand in for pytest-socket's fixture of that name: no socket is blocked."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the suite's: no in-process Home Assistant here (the demo runs its own).

    Its ``hass`` fixture would also run an event loop around the test, which the
    synchronous Playwright API cannot share.
    """


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, or a skip that says how to get it."""
    if not CHROMIUM.exists():
        pytest.skip(
            "browser test skipped: no Chromium at /usr/bin/chromium "
            "(apt-get install chromium; scripts/test installs it when run as root)"
        )
    pytest.importorskip(
        "playwright.sync_api",
        reason="browser test skipped: playwright missing (pip install -r requirements_demo.txt)",
    )
    pytest.importorskip(
        "hass_frontend",
        reason="browser test skipped: Home Assistant's frontend missing (run scripts/demo once)",
    )
    return CHROMIUM


@pytest.fixture(scope="session")
def demo(
    chromium: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningDemo]:
    """Yield the running demo; stopped with SIGINT at the end, and checked to be gone."""
    # pytest-socket (a Home Assistant test plugin) blocks sockets before fixtures run.
    if pytest_socket is not None:
        pytest_socket.enable_socket()
    config = tmp_path_factory.mktemp("demo") / "config"
    running = RunningDemo(
        base=f"http://127.0.0.1:{free_port()}",
        config=config,
        meter_port=free_port(),
        extra_meter_port=free_port(),
    )
    port = running.base.rsplit(":", 1)[1]
    proc = subprocess.Popen(  # noqa: S603 - our own argv
        [
            sys.executable,
            "scripts/demo.py",
            "--config",
            str(config),
            "--port",
            port,
            "--meter-port",
            str(running.meter_port),
            "--s1-port",
            "0",
            "--extra-meter-port",
            str(running.extra_meter_port),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    markers = [str(config), f"127.0.0.1:{running.meter_port}"]
    markers.append(f"127.0.0.1:{running.extra_meter_port}")
    output = b""
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while b"Ctrl-C stops it." not in output:
            remaining = deadline - time.monotonic()
            assert remaining > 0, (
                f"demo not ready in {READY_TIMEOUT:g} s:\n{output.decode()}"
            )
            if select.select([proc.stdout], [], [], min(remaining, 5.0))[0]:
                chunk = os.read(proc.stdout.fileno(), 4096)
                assert chunk, f"demo exited:\n{output.decode()}\n{_log_tail(config)}"
                output += chunk
        dashboard = re.search(rb"^  dashboard +(\S+)$", output, re.MULTILINE)
        assert dashboard, output.decode()
        running = replace(running, dashboard=dashboard[1].decode())
        if SCREENSHOTS.exists():
            shutil.rmtree(SCREENSHOTS)
        SCREENSHOTS.mkdir()
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
        time.sleep(1)
        stray = leftovers(markers)
        for pid in stray:
            os.kill(pid, signal.SIGKILL)
    assert not stray, f"the demo left processes running: {stray}"


def _log_tail(config: Path) -> str:
    log = config / "home-assistant.log"
    if not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-40:])
