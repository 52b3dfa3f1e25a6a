"""What a user clicks through, in a real browser against the demo's Home Assistant.

Log in, add the second simulated meter through the UI config flow (network, host and
port), watch a value of its device page change, open the Energy dashboard. Each step
leaves a screenshot in ``e2e-screenshots/`` (the path is printed at the end).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import json
from pathlib import Path
import re
import time
from typing import Any
import urllib.parse
import urllib.request

import pytest

from .conftest import SCREENSHOTS, RunningDemo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXTRA_METER_ID = "1SAG3105999999"
TIMEOUT_MS = 60_000
DEEP_TEXT = """element => {
    const text = node => (node.shadowRoot ? text(node.shadowRoot) : "")
        + [...node.childNodes].map(
            child => child.nodeType === Node.TEXT_NODE ? child.textContent : text(child)
        ).join(" ");
    return text(element);
}"""


def _post(url: str, data: dict[str, Any], *, form: bool = False) -> Any:
    body = urllib.parse.urlencode(data).encode() if form else json.dumps(data).encode()
    request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 URL
        url,
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded"
            if form
            else "application/json"
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


class Api:
    """Home Assistant's REST API, logged in as the demo user."""

    def __init__(self, demo: RunningDemo) -> None:
        """Log in through the login flow, as the frontend does."""
        self.base = demo.base
        client_id = f"{demo.base}/"
        flow = _post(
            f"{demo.base}/auth/login_flow",
            {
                "client_id": client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": client_id,
            },
        )
        result = _post(
            f"{demo.base}/auth/login_flow/{flow['flow_id']}",
            {
                "client_id": client_id,
                "username": demo.username,
                "password": demo.password,
            },
        )
        tokens = _post(
            f"{demo.base}/auth/token",
            {
                "grant_type": "authorization_code",
                "code": result["result"],
                "client_id": client_id,
            },
            form=True,
        )
        self.token = tokens["access_token"]

    def template(self, template: str) -> str:
        """Render a template (the only REST way to ask the device registry)."""
        request = urllib.request.Request(  # noqa: S310
            f"{self.base}/api/template",
            data=json.dumps({"template": template}).encode(),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.read().decode().strip()

    def get(self, path: str) -> Any:
        """GET a JSON resource."""
        request = urllib.request.Request(  # noqa: S310
            f"{self.base}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.load(response)


def shot(page: Any, name: str) -> None:
    """Save a screenshot for review."""
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_add_meter_watch_it_and_open_energy(demo: RunningDemo, chromium: Path) -> None:
    """The whole path of a new user, in order (one test: each step needs the last).

    Playwright's synchronous API runs its own event loop, so it runs in a thread of
    its own, away from pytest-asyncio's.
    """
    with ThreadPoolExecutor(1) as pool:
        pool.submit(walk_through, demo, chromium).result()


def walk_through(demo: RunningDemo, chromium: Path) -> None:
    """Log in, add the meter, watch its device page, open the Energy dashboard."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(demo.base)
            page.locator("input[name=username]").fill(demo.username)
            page.locator("input[name=password]").fill(demo.password)
            page.keyboard.press("Enter")
            # Home Assistant opens the demo's dashboard (/lovelace/meter on 2025.4, a
            # dashboard of its own made the default on 2026.10 and 2026.11).
            page.wait_for_url(lambda url: url.startswith(demo.dashboard))
            page.get_by_text("Quarter-hour demand").first.wait_for()
            shot(page, "01-overview")
            add_meter(page, demo)
            watch_device(page, demo)
            open_energy(page, demo)
        finally:
            browser.close()


def form_field(page: Any, label: str, index: int) -> Any:
    """Return the input of a config flow field, found by its label or else its position.

    HA 2026.11's frontend draws the label inside the field's shadow DOM without
    naming the input, so there the field is the form's ``index``th input.
    """
    return page.get_by_label(label).or_(page.locator("ha-form input").nth(index)).first


def add_meter(page: Any, demo: RunningDemo) -> None:
    """Add the second meter through the UI config flow: network, host and port."""
    from playwright.sync_api import expect

    # Add the second meter through the UI config flow.
    page.goto(f"{demo.base}/config/integrations/dashboard")
    page.get_by_role("button", name="Add integration").click()
    # A labelled field on 2025.4, a field with only that placeholder on 2026.11.
    search = "Search for a brand name"
    page.get_by_label(search).or_(page.get_by_placeholder(search)).first.fill("eMUCS")
    page.locator("ha-integration-list-item").get_by_text(
        "eMUCS Belgian digital meter"
    ).click()
    page.get_by_text("Network: Wi-Fi or Ethernet P1 dongle, ser2net").click()
    form_field(page, "Host", 0).fill("127.0.0.1")
    form_field(page, "Port", 1).fill(str(demo.extra_meter_port))
    shot(page, "02-config-flow-network")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Meter found")).to_be_visible()
    expect(page.get_by_text(EXTRA_METER_ID).first).to_be_visible()
    shot(page, "03-config-flow-confirm")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Success")).to_be_visible()
    shot(page, "04-config-flow-success")
    page.get_by_role("button", name="Finish").click()

    entries = Api(demo).get("/api/config/config_entries/entry?domain=emucs")
    assert sorted(entry["title"] for entry in entries) == [
        f"S211 {EXTRA_METER_ID}",
        "T211 1SAG3105040611",
    ]


def watch_device(page: Any, demo: RunningDemo) -> None:
    """Check that the new meter's device page shows live values: the voltage changes."""
    from playwright.sync_api import expect

    api = Api(demo)
    device_id = api.template(
        "{{ integration_entities('emucs') | map('device_id') | unique"
        f" | select('is_device_attr', 'serial_number', '{EXTRA_METER_ID}') | first }}}}"
    )
    assert device_id
    page.goto(f"{demo.base}/config/devices/device/{device_id}")
    expect(page.get_by_text("Voltage phase 1")).to_be_visible()
    shot(page, "05-device")
    voltage = page.locator("hui-sensor-entity-row", has_text="Voltage phase 1")

    def shown() -> str:
        # The row draws its text inside nested shadow roots.
        text: str = voltage.evaluate(DEEP_TEXT)
        return " ".join(text.split())

    first = shown()
    assert re.search(r"Voltage phase 1 \d{3}\.\d V", first), first
    deadline = time.monotonic() + 60
    while shown() == first:
        assert time.monotonic() < deadline, f"the voltage stayed at {first}"
        page.wait_for_timeout(500)
    shot(page, "06-device-later")


def open_energy(page: Any, demo: RunningDemo) -> None:
    """Open the Energy dashboard of the demo's meter: grid, gas and water."""
    from playwright.sync_api import expect

    page.goto(f"{demo.base}/energy")
    expect(page.get_by_text("Energy distribution")).to_be_visible()
    # The electricity usage card: titled "Electricity usage" on 2025.4, "Electricity" on
    # 2026.11 (which also has an "Electricity" tab), so found by its element.
    expect(page.locator("hui-energy-usage-graph-card").first).to_be_visible()
    page.wait_for_timeout(3000)  # let the charts draw
    shot(page, "07-energy")
