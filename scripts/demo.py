"""The demo: a simulated meter in a real Home Assistant on http://127.0.0.1:8123.

Run through ``scripts/demo`` (it prepares .venv first). It starts the meter simulator
(P1 and S1 over TCP on localhost) and ``hass`` with a configuration directory of its
own, then does what a new user would do, through Home Assistant's own APIs so every
step is validated by Home Assistant itself: onboarding (an owner account), adding the
meter through the config flow (network, host and port), the Energy dashboard (import
and export per tariff, gas, water, with Belgian prices) and a dashboard of the meter.
It prints the address and the login, then runs until Ctrl-C, and stops everything.

A second run reuses the configuration directory (and its history); ``--fresh`` starts
over. ``--extra-meter-port`` starts a second simulated meter that is *not* added, for
the browser test to add through the UI.

The configuration loads only what the demo shows (frontend, energy, history, logbook,
recorder…), not ``default_config``: its discovery integrations (zeroconf, ssdp,
dhcp, bluetooth) would probe the local network, and cloud, go2rtc or the voice
pipeline want the internet. The demo works offline once the packages are installed:
``hass`` runs with ``--skip-pip``, so ``scripts/demo`` installs what the integrations the
demo loads require on the installed release (``--print-requirements`` lists it), and
the demo refuses to start when one is missing instead of letting Home Assistant fail
to set one up.

Home Assistant's settings follow the release: the HTTP server (loopback only) and the
dashboard Home Assistant opens are set the way the installed release keeps them
(see ``write_http_settings`` and ``HomeAssistant.save_dashboard``).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import itertools
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp
import homeassistant
from homeassistant.const import (
    MAJOR_VERSION,
    MINOR_VERSION,
    RESTART_EXIT_CODE,
    __version__ as HA_VERSION,  # noqa: N812 - the version of the release
)
from homeassistant.util.package import is_installed

# The simulator (custom_components.emucs.protocol) is imported where it is used: it
# needs the integration's requirements (numpy…), and --print-requirements must run
# before they are installed.

REPO = Path(__file__).resolve().parents[1]
USERNAME = "demo"
PASSWORD = "emucs-demo"  # noqa: S105 - the printed login of a local demo
METER_ID = "1SAG3105040611"
"""The simulator's default equipment identifier (protocol.p1_sim.MeterConfig)."""
GAS_ID = "7FLO2119033733"
WATER_ID = "8SAG1234567890"
EXTRA_METER_ID = "1SAG3105999999"
START_TIMEOUT = 600.0
"""Seconds for Home Assistant to answer (the first start builds its database)."""
STOP_TIMEOUT = 60.0
HISTORY_DAYS = 7
"""A demo directory whose meter started longer ago than this starts over."""

CONFIGURATION = """\
# Written by scripts/demo at every start; edits are overwritten.
homeassistant:
  name: eMUCS demo
  latitude: 50.85
  longitude: 4.35
  elevation: 60
  unit_system: metric
  time_zone: Europe/Brussels
  currency: EUR
  country: BE
  language: en
  internal_url: http://127.0.0.1:{port}
{http}api:
config:
energy:
frontend:
history:
logbook:
person:
recorder:
  commit_interval: 5
  purge_keep_days: 7
logger:
  default: warning
  logs:
    custom_components.emucs: info
"""

HTTP_YAML = """\
http:
  server_host: 127.0.0.1
  server_port: {port}
"""
"""The HTTP server's settings on releases that take them from YAML (see write_http_settings)."""
DOMAINS = ("api", "config", "energy", "frontend", "history", "logbook", "person")
DOMAINS += ("recorder", "logger", "http", "homeassistant", "persistent_notification")
"""What the demo sets up besides emucs: the configuration above, and Home Assistant's core."""
DASHBOARD = "emucs-demo"
"""URL of the demo's dashboard on releases where a dashboard can be everyone's default."""

# Belgian household prices in EUR (energy component, excluding fixed fees).
HA_RELEASE = (MAJOR_VERSION, MINOR_VERSION)
HA_COMPONENTS = Path(homeassistant.__file__).parent / "components"
"""The Home Assistant the demo runs: some websocket schemas changed in 2025.11/2026.4."""
PRICE_IMPORT = {1: 0.32, 2: 0.26}
PRICE_EXPORT = {1: 0.04, 2: 0.03}
PRICE_GAS = 1.05
PRICE_WATER = 5.2


@dataclass
class Demo:
    """The processes and settings of one demo run."""

    config: Path
    port: int
    meter_port: int
    s1_port: int | None
    extra_meter_port: int | None
    seed: int
    epoch: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When the meter's history starts: local midnight of the directory's first day."""
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    dashboard: str = ""
    """The address of the demo's dashboard, once it is saved."""

    @property
    def base(self) -> str:
        """Home Assistant's address."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def client_id(self) -> str:
        """OAuth client id of this script (any URL on the server will do)."""
        return f"{self.base}/"


def log(message: str) -> None:
    """One line of progress."""
    print(f"[demo] {message}", flush=True)


def prepare_config(demo: Demo, *, fresh: bool) -> None:
    """Write configuration.yaml, link the integration, pre-set onboarding."""
    state_file = demo.config / "demo.json"
    if state_file.exists() and not fresh:
        demo.epoch = datetime.fromisoformat(
            json.loads(state_file.read_text(encoding="utf-8"))["epoch"]
        )
        if datetime.now(UTC) - demo.epoch > timedelta(days=HISTORY_DAYS):
            log(
                f"the demo in {demo.config} is older than {HISTORY_DAYS} days: new start"
            )
            fresh = True
    if fresh or not state_file.exists():
        if demo.config.exists():
            shutil.rmtree(demo.config)
        demo.epoch = local_midnight(datetime.now(UTC))
    (demo.config / ".storage").mkdir(parents=True, exist_ok=True)
    stored = write_http_settings(demo)
    http_yaml = "" if stored else HTTP_YAML.format(port=demo.port)
    (demo.config / "configuration.yaml").write_text(
        CONFIGURATION.format(port=demo.port, http=http_yaml), encoding="utf-8"
    )
    components = demo.config / "custom_components"
    components.mkdir(exist_ok=True)
    link = components / "emucs"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(REPO / "custom_components" / "emucs", target_is_directory=True)
    state_file.write_text(
        json.dumps({"epoch": demo.epoch.isoformat()}), encoding="utf-8"
    )
    onboarding = demo.config / ".storage" / "onboarding"
    if not onboarding.exists():
        # The user step is done through the API (it creates the owner, the person
        # and the areas); the others would set up internet integrations (met,
        # radio_browser…) and ask about analytics, so they are marked done here.
        onboarding.write_text(
            json.dumps(
                {
                    "version": 4,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": ["core_config", "analytics", "integration"]},
                }
            ),
            encoding="utf-8",
        )


def write_http_settings(demo: Demo) -> bool:
    """Store the HTTP server's settings where the release keeps them; False: use YAML.

    On releases before the HTTP settings store (2025.4 among them) the ``http:`` YAML
    block is the way. With it (2026.10, 2026.11) Home Assistant keeps these settings in
    its storage (``.storage/http``: a confirmed "stable" slot and a
    "pending" one on trial): YAML is migrated once into the pending slot, with a repair
    saying YAML stops working in 2027.2, and a pending setting that nobody confirms
    (``http/config/promote``) within 5 minutes is reverted with a restart (``hass``
    exits with 100; the reverted settings listen on every address on port 8123). The
    websocket command the UI uses, ``http/config/configure``, also goes through that
    trial and a restart, and needs a Home Assistant already running on those defaults,
    reachable from the network. The demo prepares its configuration directory before
    the first start anyway (configuration.yaml, onboarding), so it writes the state
    that flow ends in: its settings as the confirmed stable slot, nothing pending, the
    YAML migration done. Built by the release's own storage schema and written in the
    release's storage version; ``HomeAssistant.check_http_settings`` then asks
    ``http/config`` whether Home Assistant runs on them.
    """
    store = demo.config / ".storage" / "http"
    try:
        from homeassistant.components.http import config as http  # noqa: PLC0415
    except ImportError:
        http = None
    if http is None or not hasattr(http, "KEY_YAML_MIGRATION_DONE"):
        # The release before the store: it takes YAML, and writes .storage/http (version
        # 1) itself. A newer file there, from a newer release, would not load.
        if (
            store.exists()
            and json.loads(store.read_text(encoding="utf-8")).get("version", 1) > 1
        ):
            store.unlink()
        return False
    settings = dict(
        http.HTTP_STORAGE_SCHEMA(
            {http.CONF_SERVER_HOST: ["127.0.0.1"], http.CONF_SERVER_PORT: demo.port}
        )
    )
    if hasattr(http, "HTTP_CONFIG_CREATED_AT"):
        settings |= {
            http.HTTP_CONFIG_CREATED_AT: datetime.now(UTC).isoformat(),
            http.HTTP_CONFIG_ERROR: None,
            http.HTTP_CONFIG_ERROR_MESSAGE: None,
        }
    store.write_text(
        json.dumps(
            {
                "version": http.STORAGE_VERSION,
                "minor_version": http.STORAGE_MINOR_VERSION,
                "key": http.STORAGE_KEY,
                "data": {
                    http.KEY_STABLE: settings,
                    http.KEY_PENDING: None,
                    http.KEY_YAML_MIGRATION_DONE: True,
                },
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    store.chmod(0o600)  # Home Assistant keeps it private
    return True


def integration_requirements() -> list[str]:
    """Return what Home Assistant would install for the integrations the demo loads.

    ``hass --skip-pip`` installs nothing, so these must be in the environment. Home
    Assistant sets up the configured integrations, ours, and those it always sets up
    (bootstrap's core and default integrations: on 2026.11 a missing ``hassil`` breaks
    even the frontend's list of actions); for each it installs the requirements of the
    integration, of its dependencies and after-dependencies, and of the discovery
    integrations its manifest uses (HA 2026.x: usb's after-dependency hassio needs
    aiohasupervisor). Read from the installed release's manifests, and from ours.
    """
    from homeassistant import bootstrap  # noqa: PLC0415
    from homeassistant.requirements import DISCOVERY_INTEGRATIONS  # noqa: PLC0415

    def manifest(domain: str) -> dict[str, Any]:
        path = HA_COMPONENTS / domain / "manifest.json"
        if domain == "emucs":
            path = REPO / "custom_components" / "emucs" / "manifest.json"
        if not path.exists():
            return {}
        content: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return content

    requirements: dict[str, None] = {}
    todo = ["emucs", *DOMAINS, *sorted(bootstrap.CORE_INTEGRATIONS)]
    todo += sorted(bootstrap.DEFAULT_INTEGRATIONS)
    seen: set[str] = set()
    while todo:
        if (domain := todo.pop(0)) in seen:
            continue
        seen.add(domain)
        found = manifest(domain)
        requirements |= dict.fromkeys(found.get("requirements", []))
        todo += found.get("dependencies", []) + found.get("after_dependencies", [])
        todo += [
            check
            for check, keys in DISCOVERY_INTEGRATIONS.items()
            if any(key in found for key in keys)
        ]
    return list(requirements)


def check_requirements() -> None:
    """Fail before starting Home Assistant when a requirement is not installed."""
    missing = [req for req in integration_requirements() if not is_installed(req)]
    if missing:
        raise RuntimeError(
            f"Home Assistant {HA_VERSION} runs with --skip-pip and"
            f" these requirements of the demo's integrations are not installed: "
            f"{' '.join(missing)} (scripts/demo installs them; or pip install"
            f" -c {HA_COMPONENTS.parent / 'package_constraints.txt'} {' '.join(missing)})"
        )


def local_midnight(instant: datetime) -> datetime:
    """Start of the Belgian day of ``instant``, in UTC."""
    from custom_components.emucs.protocol.p1_sim import belgian_offset, belgian_utc  # noqa: PLC0415

    local = instant + belgian_offset(instant)
    return belgian_utc(
        local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    )


def check_ports_free(demo: Demo) -> None:
    """Fail early when a port is taken (Home Assistant would only log it)."""
    ports = [demo.port, demo.meter_port, demo.s1_port, demo.extra_meter_port]
    for port in ports:
        if not port:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as err:
                raise RuntimeError(
                    f"port {port} is in use ({err.strerror}): is a demo running already?"
                ) from None


def start(demo: Demo, name: str, argv: list[str], logfile: Path) -> None:
    """Start a child in its own session (Ctrl-C reaches only this script)."""
    out = logfile.open("ab")
    proc = subprocess.Popen(  # noqa: S603 - our own argv
        argv,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    demo.processes.append((name, proc))


def start_simulator(demo: Demo, name: str, port: int, *extra: str) -> None:
    """Start a simulated meter on ``port``; wait until it listens."""
    logfile = demo.config / f"{name}.log"
    logfile.write_bytes(b"")
    argv = [
        sys.executable,
        "-m",
        "custom_components.emucs",
        "simulate",
        "--tcp",
        f"127.0.0.1:{port}",
        "--seed",
        str(demo.seed),
        *extra,
    ]
    start(demo, name, argv, logfile)
    deadline = time.monotonic() + 60
    while b"P1 on tcp://" not in logfile.read_bytes():
        check_running(demo)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start, see {logfile}")
        time.sleep(0.2)


def check_running(demo: Demo) -> None:
    """Fail when a child has exited."""
    for name, proc in demo.processes:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{name} exited with status {proc.returncode}, see {demo.config / name}.log"
            )


def stop_all(demo: Demo) -> None:
    """Stop Home Assistant first (it closes its database), then the meters."""
    for name, proc in reversed(demo.processes):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in {STOP_TIMEOUT:g} s: killed")
                proc.kill()
                proc.wait()
    demo.processes.clear()


class CommandError(RuntimeError):
    """A websocket command that Home Assistant answered with an error."""

    def __init__(self, command: str, code: str, message: str) -> None:
        """Keep the error's code: ``unknown_command`` tells what a release has."""
        super().__init__(f"{command}: {code}: {message}")
        self.code = code


class HomeAssistant:
    """The REST and websocket APIs of the demo's Home Assistant."""

    def __init__(self, demo: Demo, session: aiohttp.ClientSession) -> None:
        """Talk to ``demo``'s Home Assistant."""
        self.demo = demo
        self.session = session
        self.token = ""
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._id = 0

    async def wait_started(self) -> None:
        """Wait until the HTTP server answers."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            check_running(self.demo)
            with suppress(aiohttp.ClientError):
                # No authentication needed, so nothing lands in the ban log.
                async with self.session.get(
                    f"{self.demo.base}/manifest.json"
                ) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "Home Assistant did not start, see home-assistant.log"
                )
            await asyncio.sleep(1)

    async def login(self) -> None:
        """Create the owner on the first run, else log in; keep an access token."""
        base, client_id = self.demo.base, self.demo.client_id
        async with self.session.get(f"{base}/api/onboarding") as response:
            steps = await response.json() if response.status == 200 else []
        if any(step["step"] == "user" and not step["done"] for step in steps):
            log(f"onboarding: creating the owner '{USERNAME}'")
            code = (
                await self._post(
                    "/api/onboarding/users",
                    {
                        "client_id": client_id,
                        "name": "Demo",
                        "username": USERNAME,
                        "password": PASSWORD,
                        "language": "en",
                    },
                )
            )["auth_code"]
        else:
            flow = await self._post(
                "/auth/login_flow",
                {
                    "client_id": client_id,
                    "handler": ["homeassistant", None],
                    "redirect_uri": client_id,
                },
            )
            result = await self._post(
                f"/auth/login_flow/{flow['flow_id']}",
                {"client_id": client_id, "username": USERNAME, "password": PASSWORD},
            )
            if result.get("type") != "create_entry":
                raise RuntimeError(f"cannot log in as {USERNAME}: {result}")
            code = result["result"]
        async with self.session.post(
            f"{base}/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": client_id,
            },
        ) as response:
            response.raise_for_status()
            self.token = (await response.json())["access_token"]

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.post(
            f"{self.demo.base}{path}", json=payload, headers=headers
        ) as response:
            body: dict[str, Any] = await response.json()
            if response.status >= 400:
                raise RuntimeError(f"POST {path}: {response.status} {body}")
            return body

    async def ws(self, command: str, **payload: Any) -> Any:
        """Send one websocket command and return its result."""
        if self._ws is None:
            self._ws = await self.session.ws_connect(f"{self.demo.base}/api/websocket")
            await self._ws.receive_json()  # auth_required
            await self._ws.send_json({"type": "auth", "access_token": self.token})
            if (reply := await self._ws.receive_json())["type"] != "auth_ok":
                raise RuntimeError(f"websocket: {reply}")
        self._id += 1
        await self._ws.send_json({"id": self._id, "type": command, **payload})
        while True:
            reply = await self._ws.receive_json()
            if reply.get("id") == self._id:
                break
        if not reply.get("success"):
            error = reply.get("error") or {}
            raise CommandError(command, error.get("code", ""), error.get("message", ""))
        return reply.get("result")

    async def ws_if_known(self, command: str, **payload: Any) -> tuple[bool, Any]:
        """Send a command this release may not have: (False, None) when it does not."""
        try:
            return True, await self.ws(command, **payload)
        except CommandError as err:
            if err.code == "unknown_command":
                return False, None
            raise

    async def errors(self) -> str:
        """Home Assistant's logged errors (as in Settings → System → Logs), one a line."""
        try:
            entries = await self.ws("system_log/list")
        except (RuntimeError, aiohttp.ClientError) as err:
            return f"  (the error log cannot be read: {err})"
        return "\n".join(
            f"  {entry['level']} {entry['name']}: {' / '.join(entry['message'])}"
            for entry in entries
            if entry["level"] in {"ERROR", "CRITICAL"}
        )

    async def check_http_settings(self) -> None:
        """Fail unless HA runs on the demo's stored HTTP settings, not on trial.

        Releases without ``http/config`` (2025.4) run on the YAML.
        """
        known, state = await self.ws_if_known("http/config")
        if not known:
            return
        stable = state["stable"]
        if (
            state["active_config_type"] != "stable"
            or state["pending"] is not None
            or state["revert_at"] is not None
            or stable.get("server_host") != ["127.0.0.1"]
            or stable.get("server_port") != self.demo.port
        ):
            raise RuntimeError(
                f"Home Assistant's HTTP settings are not the demo's: {state}"
            )
        issues = (await self.ws("repairs/list_issues"))["issues"]
        if http_issues := [i["issue_id"] for i in issues if i["domain"] == "http"]:
            raise RuntimeError(f"Home Assistant raised HTTP repairs: {http_issues}")

    async def save_dashboard(self, config: dict[str, Any]) -> str:
        """Save the demo's dashboard as the one Home Assistant opens; return its path.

        On releases without frontend system data (2025.4) that is the default
        dashboard (``/lovelace``). With it (2026.10, 2026.11) the frontend opens the
        user's, else the system's ``default_panel`` of the "core" frontend data, else
        its own overview (``home``), and a fresh configuration has no default dashboard
        any more (``/lovelace`` redirects). There the demo's dashboard is a dashboard of its own, made everyone's default
        as Settings → Dashboards → "Set as default" does (``frontend/set_system_data``).
        """
        known, core = await self.ws_if_known("frontend/get_system_data", key="core")
        if not known:
            await self.ws("lovelace/config/save", config=config, url_path=None)
            return "lovelace"
        dashboards = await self.ws("lovelace/dashboards/list")
        if not any(item["url_path"] == DASHBOARD for item in dashboards):
            await self.ws(
                "lovelace/dashboards/create",
                url_path=DASHBOARD,
                title=config["title"],
                icon="mdi:meter-electric",
                show_in_sidebar=True,
                require_admin=False,
            )
        await self.ws("lovelace/config/save", config=config, url_path=DASHBOARD)
        await self.ws(
            "frontend/set_system_data",
            key="core",
            value={**(core["value"] or {}), "default_panel": DASHBOARD},
        )
        return DASHBOARD

    async def add_meter(self) -> None:
        """Add the meter through the config flow, as the UI does.

        When the meter is there already the flow ends as "already configured",
        after updating the entry's host and port, as it would for a user.
        """
        step = await self._post(
            "/api/config/config_entries/flow",
            {"handler": "emucs", "show_advanced_options": False},
        )
        flow = f"/api/config/config_entries/flow/{step['flow_id']}"
        step = await self._post(flow, {"next_step_id": "network"})
        step = await self._post(
            flow, {"host": "127.0.0.1", "port": self.demo.meter_port}
        )
        if step.get("reason") == "already_configured":
            return
        log(f"added the meter: network, 127.0.0.1:{self.demo.meter_port}")
        if step.get("step_id") != "confirm":
            raise RuntimeError(f"the meter was not found: {step}")
        s1 = self.demo.s1_port
        step = await self._post(
            flow, {"s1_port": f"socket://127.0.0.1:{s1}"} if s1 else {}
        )
        if step.get("type") != "create_entry":
            raise RuntimeError(f"the meter was not added: {step}")

    async def entity_ids(self, keys: list[str]) -> dict[str, str]:
        """Entity IDs by unique ID suffix, waiting until all ``keys`` exist."""
        deadline = time.monotonic() + 120
        while True:
            registry = await self.ws("config/entity_registry/list")
            found = {
                entry["unique_id"].removeprefix(f"{METER_ID}_"): entry["entity_id"]
                for entry in registry
                if entry["platform"] == "emucs"
                and entry["unique_id"].startswith(f"{METER_ID}_")
                and entry["disabled_by"] is None
            }
            if all(key in found for key in keys):
                return found
            if time.monotonic() > deadline:
                missing = [key for key in keys if key not in found]
                raise RuntimeError(f"entities never appeared: {missing}")
            await asyncio.sleep(2)


STATISTICS = {
    "energy_import_tariff_1": "kWh",
    "energy_import_tariff_2": "kWh",
    "energy_export_tariff_1": "kWh",
    "energy_export_tariff_2": "kWh",
    f"{GAS_ID}_gas": "m³",
    f"{WATER_ID}_water": "m³",
}


def hourly_readings(demo: Demo) -> list[tuple[datetime, dict[str, float]]]:
    """Return what the meter's registers read at every full hour since the epoch.

    The simulator is deterministic: the same seed and start give the same registers
    as the running simulator, which fast-forwarded from the epoch too.
    """
    from custom_components.emucs.protocol.p1_sim import P1Simulator  # noqa: PLC0415

    sim = P1Simulator(start=demo.epoch, seed=demo.seed)
    now = datetime.now(UTC)

    def reading() -> tuple[datetime, dict[str, float]]:
        keys = [
            f"energy_{way}_tariff_{k}" for way in ("import", "export") for k in (1, 2)
        ]
        values = {
            key: wh / 1000 for key, wh in zip(keys, sim.registers_wh, strict=True)
        }
        values[f"{GAS_ID}_gas"] = int(sim.gas_ml // 1000) / 1000
        values[f"{WATER_ID}_water"] = int(sim.water_ml // 1000) / 1000
        return sim.time, values

    readings = [reading()]
    while sim.time + timedelta(hours=1) <= now:
        for _ in range(3600):
            sim.step(build=False)
        readings.append(reading())
    return readings


async def import_history(
    api: HomeAssistant,
    ids: dict[str, str],
    readings: list[tuple[datetime, dict[str, float]]],
) -> None:
    """Hourly statistics since the epoch, so the Energy dashboard has a past today.

    Home Assistant continues each sum from the last imported hour, whose state is
    the register the live meter had then.
    """
    first = readings[0][1]
    for key, unit in STATISTICS.items():
        stats = [
            {
                "start": start.isoformat(),
                "state": end_values[key],
                "sum": round(end_values[key] - first[key], 3),
            }
            for (start, _), (_, end_values) in itertools.pairwise(readings)
        ]
        if stats:
            metadata: dict[str, Any] = {
                "has_sum": True,
                "name": None,
                "source": "recorder",
                "statistic_id": ids[key],
                "unit_of_measurement": unit,
            }
            if HA_RELEASE >= (2025, 11):
                # has_mean is deprecated there; older releases reject these keys.
                metadata["mean_type"] = 0  # StatisticMeanType.NONE
                metadata["unit_class"] = "energy" if unit == "kWh" else "volume"
            else:
                metadata["has_mean"] = False
            await api.ws("recorder/import_statistics", metadata=metadata, stats=stats)


ROW_NAMES = {
    "power_import": "Power import",
    "power_export": "Power export",
    "power_net": "Net power",
    "average_demand": "Quarter-hour demand",
    "peak_demand": "Peak this month",
    "peak_demand_time": "Peak at",
    "tariff": "Tariff",
    "breaker_state": "Breaker",
    "energy_import_tariff_1": "Import tariff 1",
    "energy_import_tariff_2": "Import tariff 2",
    "energy_export_tariff_1": "Export tariff 1",
    "energy_export_tariff_2": "Export tariff 2",
    f"{GAS_ID}_gas": "Gas",
    f"{WATER_ID}_water": "Water",
    "voltage_l1": "Voltage L1",
    "voltage_l2": "Voltage L2",
    "voltage_l3": "Voltage L3",
    "current_l1": "Current L1",
    "current_l2": "Current L2",
    "current_l3": "Current L3",
    "s1_frequency": "Frequency",
    "s1_frame_rate": "Frames per second",
}


def grid_sources(ids: dict[str, str]) -> list[dict[str, Any]]:
    """Return the grid of the energy prefs: import and export per tariff.

    HA 2026.4 replaced the grid's ``flow_from``/``flow_to`` lists with one source
    per import/export pair; older releases know only the lists.
    """
    if HA_RELEASE >= (2026, 4):
        return [
            {
                "type": "grid",
                "stat_energy_from": ids[f"energy_import_tariff_{tariff}"],
                "stat_energy_to": ids[f"energy_export_tariff_{tariff}"],
                "stat_cost": None,
                "entity_energy_price": None,
                "number_energy_price": PRICE_IMPORT[tariff],
                "stat_compensation": None,
                "entity_energy_price_export": None,
                "number_energy_price_export": PRICE_EXPORT[tariff],
                "cost_adjustment_day": 0,
            }
            for tariff in PRICE_IMPORT
        ]
    return [
        {
            "type": "grid",
            "flow_from": [
                {
                    "stat_energy_from": ids[f"energy_import_tariff_{tariff}"],
                    "stat_cost": None,
                    "entity_energy_price": None,
                    "number_energy_price": price,
                }
                for tariff, price in PRICE_IMPORT.items()
            ],
            "flow_to": [
                {
                    "stat_energy_to": ids[f"energy_export_tariff_{tariff}"],
                    "stat_compensation": None,
                    "entity_energy_price": None,
                    "number_energy_price": price,
                }
                for tariff, price in PRICE_EXPORT.items()
            ],
            "cost_adjustment_day": 0,
        }
    ]


def energy_prefs(ids: dict[str, str]) -> dict[str, Any]:
    """Energy dashboard: grid per tariff with prices, gas and water."""
    return {
        "energy_sources": [
            *grid_sources(ids),
            {
                "type": "gas",
                "stat_energy_from": ids[f"{GAS_ID}_gas"],
                "stat_cost": None,
                "entity_energy_price": None,
                "number_energy_price": PRICE_GAS,
            },
            {
                "type": "water",
                "stat_energy_from": ids[f"{WATER_ID}_water"],
                "stat_cost": None,
                "entity_energy_price": None,
                "number_energy_price": PRICE_WATER,
            },
        ],
        "device_consumption": [],
    }


def dashboard(ids: dict[str, str]) -> dict[str, Any]:
    """Return the overview dashboard: the meter's live values, registers and phases."""

    def rows(*keys: str) -> list[dict[str, str]]:
        return [
            {"entity": ids[key], "name": ROW_NAMES[key]} for key in keys if key in ids
        ]

    cards: list[dict[str, Any]] = [
        {
            "type": "gauge",
            "entity": ids["average_demand"],
            "name": "Quarter-hour demand",
            "min": 0,
            "max": 8,
            "needle": True,
            "severity": {"green": 0, "yellow": 2.5, "red": 5},
        },
        {
            "type": "entities",
            "title": "Now",
            "entities": rows(
                "power_import",
                "power_export",
                "power_net",
                "average_demand",
                "peak_demand",
                "peak_demand_time",
                "tariff",
                "breaker_state",
            ),
        },
        {
            "type": "history-graph",
            "title": "Power, last hour",
            "hours_to_show": 1,
            "entities": rows("power_import", "power_export", "average_demand"),
        },
        {
            "type": "entities",
            "title": "Registers",
            "entities": rows(
                "energy_import_tariff_1",
                "energy_import_tariff_2",
                "energy_export_tariff_1",
                "energy_export_tariff_2",
                f"{GAS_ID}_gas",
                f"{WATER_ID}_water",
            ),
        },
        {
            "type": "entities",
            "title": "Phases",
            "entities": rows(
                "voltage_l1",
                "voltage_l2",
                "voltage_l3",
                "current_l1",
                "current_l2",
                "current_l3",
            ),
        },
    ]
    if "s1_waveform" in ids:
        cards.append(
            {
                "type": "picture-entity",
                "entity": ids["s1_waveform"],
                "name": "S1 waveform",
                "show_state": False,
            }
        )
        cards.append(
            {
                "type": "entities",
                "title": "S1",
                "entities": rows("s1_frequency", "s1_frame_rate"),
            }
        )
    return {
        "title": "eMUCS demo",
        "views": [{"title": "Meter", "path": "meter", "cards": cards}],
    }


def start_hass(demo: Demo) -> None:
    """Start Home Assistant (again, after it exited to restart)."""
    demo.processes = [(name, proc) for name, proc in demo.processes if name != "hass"]
    start(
        demo,
        "hass",
        [
            str(Path(sys.executable).with_name("hass")),
            "-c",
            str(demo.config),
            "--skip-pip",
        ],
        demo.config / "hass.log",
    )


def restart_hass_if_asked(demo: Demo) -> None:
    """Start Home Assistant again when it exited to restart (Settings → Restart).

    ``hass`` leaves restarting to whatever started it (exit status 100).
    """
    for name, proc in demo.processes:
        if name == "hass" and proc.poll() == RESTART_EXIT_CODE:
            log("Home Assistant exited to restart: starting it again")
            start_hass(demo)
            return


async def set_up(demo: Demo) -> None:
    """Start Home Assistant and configure it like a user would."""
    check_requirements()
    (demo.config / "hass.log").write_bytes(b"")
    start_hass(demo)
    log(
        f"starting Home Assistant {HA_VERSION}"
        f" (log: {demo.config / 'home-assistant.log'})"
    )
    readings = asyncio.get_running_loop().run_in_executor(None, hourly_readings, demo)
    async with aiohttp.ClientSession() as session:
        api = HomeAssistant(demo, session)
        await api.wait_started()
        await api.login()
        try:
            await api.add_meter()
        except RuntimeError as err:
            # A 400 from the config flow API says little: the reason is in HA's log.
            raise RuntimeError(
                f"{err}\nHome Assistant's errors:\n{await api.errors()}"
            ) from None
        await api.check_http_settings()
        # S1 entities appear with the first S1 summary, a few seconds in.
        s1 = ["s1_frequency", "s1_waveform"] if demo.s1_port else []
        ids = await api.entity_ids([*STATISTICS, "average_demand", *s1])
        await import_history(api, ids, await readings)
        await api.ws("energy/save_prefs", **energy_prefs(ids))
        path = await api.save_dashboard(dashboard(ids))
        demo.dashboard = f"{demo.base}/{path}/{dashboard(ids)['views'][0]['path']}"
        if api._ws is not None:  # noqa: SLF001 - our own class
            await api._ws.close()  # noqa: SLF001


@contextmanager
def stopped_on_signals() -> Iterator[asyncio.Event]:
    """Yield an event set by SIGINT or SIGTERM, for the wait at the end."""
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, event.set)
    try:
        yield event
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def run(demo: Demo) -> int:
    """Start, set up, print the login, wait for Ctrl-C; stop everything."""
    with stopped_on_signals() as stop:
        try:
            check_ports_free(demo)
            s1 = ["--s1-tcp", f"127.0.0.1:{demo.s1_port}"] if demo.s1_port else []
            # From the epoch to now in a few seconds: the registers then continue
            # the history imported into Home Assistant.
            start_simulator(
                demo,
                "meter",
                demo.meter_port,
                "--start",
                demo.epoch.isoformat(),
                "--catch-up",
                *s1,
            )
            if demo.extra_meter_port:
                start_simulator(
                    demo,
                    "extra-meter",
                    demo.extra_meter_port,
                    "--id",
                    EXTRA_METER_ID,
                    "--wiring",
                    "single_phase",
                )
            setup = asyncio.ensure_future(set_up(demo))
            waiter = asyncio.ensure_future(stop.wait())
            await asyncio.wait({setup, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if not setup.done():
                setup.cancel()
                return 130
            waiter.cancel()
            setup.result()
            print(
                f"\nDemo ready: {demo.base} (Home Assistant {HA_VERSION})\n"
                f"  dashboard {demo.dashboard}\n"
                f"  login     {USERNAME} / {PASSWORD}\n"
                f"  meter     {METER_ID} on tcp 127.0.0.1:{demo.meter_port}"
                + (f", S1 on 127.0.0.1:{demo.s1_port}" if demo.s1_port else "")
                + "\n"
                + (
                    f"  unused    {EXTRA_METER_ID} on tcp 127.0.0.1:{demo.extra_meter_port}"
                    " (add it: Settings → Devices & services → Add integration → eMUCS)\n"
                    if demo.extra_meter_port
                    else ""
                )
                + f"  config    {demo.config}\n"
                "Ctrl-C stops it.",
                flush=True,
            )
            while not stop.is_set():
                restart_hass_if_asked(demo)
                check_running(demo)
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 2.0)
        except RuntimeError as err:
            log(f"error: {err}")
            return 1
        else:
            log("stopping")
            return 0
        finally:
            await asyncio.get_running_loop().run_in_executor(None, stop_all, demo)


def main() -> int:
    """Parse the arguments and run the demo."""
    parser = argparse.ArgumentParser(
        prog="scripts/demo", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--port", type=int, default=8123, help="Home Assistant's port")
    parser.add_argument(
        "--meter-port", type=int, default=8088, help="the meter's P1 TCP port"
    )
    parser.add_argument(
        "--s1-port", type=int, default=8089, help="the meter's S1 TCP port (0: no S1)"
    )
    parser.add_argument(
        "--extra-meter-port",
        type=int,
        help="also start a second meter on this port, not added to Home Assistant",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=REPO / ".demo",
        help="configuration directory (default .demo/)",
    )
    parser.add_argument("--fresh", action="store_true", help="start from scratch")
    parser.add_argument("--seed", type=int, default=0, help="simulator seed")
    parser.add_argument(
        "--print-requirements",
        action="store_true",
        help="print what the demo's integrations require on this release, and exit",
    )
    args = parser.parse_args()
    if args.print_requirements:
        print("\n".join(integration_requirements()))
        return 0
    demo = Demo(
        config=args.config.resolve(),
        port=args.port,
        meter_port=args.meter_port,
        s1_port=args.s1_port or None,
        extra_meter_port=args.extra_meter_port,
        seed=args.seed,
    )
    prepare_config(demo, fresh=args.fresh)
    os.environ.setdefault("PYTHONPATH", str(REPO))
    return asyncio.run(run(demo))


if __name__ == "__main__":
    sys.exit(main())
