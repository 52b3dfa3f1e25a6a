"""The shipped automation blueprints: valid for Home Assistant, and they do their job."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from homeassistant.components.automation.config import (
    AUTOMATION_BLUEPRINT_SCHEMA,
    async_validate_config_item,
)
from homeassistant.components.blueprint.models import Blueprint, BlueprintInputs
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import async_mock_service

BLUEPRINTS = (
    Path(__file__).parents[2]
    / "custom_components"
    / "emucs"
    / "blueprints"
    / "automation"
)
RISK = "binary_sensor.electricity_meter_peak_at_risk"
FORECAST = "sensor.electricity_meter_quarter_hour_forecast"
HEADROOM = "sensor.electricity_meter_peak_headroom"
CHARGER = "switch.ev_charger"
INPUTS: dict[str, dict[str, Any]] = {
    "peak_at_risk_notify.yaml": {
        "risk_sensor": RISK,
        "forecast_sensor": FORECAST,
        "headroom_sensor": HEADROOM,
        "notify_actions": [
            {
                "action": "notify.notify",
                "data": {
                    "message": "Peak at risk: {{ forecast }} kW, target {{ target }} kW"
                },
            }
        ],
    },
    "peak_pause_switch.yaml": {"risk_sensor": RISK, "target_switch": CHARGER},
}


async def settle() -> None:
    """Let the automation run as far as it can.

    ``async_block_till_done`` would wait for the run itself, which waits for the
    next quarter.
    """
    for _ in range(50):
        await asyncio.sleep(0)


def automation(name: str) -> dict[str, Any]:
    """Return the automation a user gets from blueprint ``name`` with ``INPUTS``."""
    blueprint = Blueprint(
        load_yaml_dict(BLUEPRINTS / name),
        path=name,
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    inputs = BlueprintInputs(
        blueprint, {"use_blueprint": {"path": name, "input": INPUTS[name]}}
    )
    inputs.validate()
    config: dict[str, Any] = inputs.async_substitute()
    return {"id": name, "alias": name, **config}


def test_every_blueprint_is_tested() -> None:
    """No blueprint ships without inputs here."""
    assert sorted(path.name for path in BLUEPRINTS.glob("*.yaml")) == sorted(INPUTS)


@pytest.mark.parametrize("name", sorted(INPUTS))
async def test_blueprint_is_valid(hass: HomeAssistant, name: str) -> None:
    """Home Assistant's blueprint schema accepts it; the automation validates."""
    assert await async_validate_config_item(hass, name, automation(name)) is not None


async def test_notify_when_at_risk(hass: HomeAssistant) -> None:
    """The notification runs once when the peak becomes at risk, with the values."""
    calls = async_mock_service(hass, "notify", "notify")
    hass.states.async_set(RISK, "off", {"target": 4.2})
    hass.states.async_set(FORECAST, "3.1")
    hass.states.async_set(HEADROOM, "1.5")
    assert await async_setup_component(
        hass, "automation", {"automation": [automation("peak_at_risk_notify.yaml")]}
    )
    hass.states.async_set(FORECAST, "4.05")
    hass.states.async_set(RISK, "on", {"target": 4.2})
    await hass.async_block_till_done()
    assert [call.data["message"] for call in calls] == [
        "Peak at risk: 4.05 kW, target 4.2 kW"
    ]


async def test_pause_switch_for_the_quarter(hass: HomeAssistant) -> None:
    """The charger is paused while a quarter is at risk and resumed after it."""
    turned_off = async_mock_service(hass, "switch", "turn_off")
    turned_on = async_mock_service(hass, "switch", "turn_on")
    quarter = {"quarter_start": "2025-03-12T10:15:00+01:00", "target": 4.2}
    hass.states.async_set(RISK, "off", quarter)
    hass.states.async_set(CHARGER, "on")
    assert await async_setup_component(
        hass, "automation", {"automation": [automation("peak_pause_switch.yaml")]}
    )

    hass.states.async_set(RISK, "on", quarter)
    await settle()
    assert len(turned_off) == 1
    assert turned_off[0].data["entity_id"] == [CHARGER]
    hass.states.async_set(CHARGER, "off")

    # Still the same quarter: the charger stays off.
    hass.states.async_set(RISK, "off", quarter)
    await settle()
    assert not turned_on
    # The next quarter starts at risk too: stay paused.
    hass.states.async_set(RISK, "on", {**quarter, "quarter_start": "10:30"})
    await settle()
    assert not turned_on
    # The one after is not at risk: resume.
    hass.states.async_set(RISK, "off", {**quarter, "quarter_start": "10:45"})
    await settle()
    assert len(turned_on) == 1
    assert len(turned_off) == 1


async def test_pause_leaves_a_switch_that_was_off(hass: HomeAssistant) -> None:
    """A switch that was already off is neither turned off nor on."""
    turned_off = async_mock_service(hass, "switch", "turn_off")
    turned_on = async_mock_service(hass, "switch", "turn_on")
    hass.states.async_set(RISK, "off", {"quarter_start": "10:15"})
    hass.states.async_set(CHARGER, "off")
    assert await async_setup_component(
        hass, "automation", {"automation": [automation("peak_pause_switch.yaml")]}
    )
    hass.states.async_set(RISK, "on", {"quarter_start": "10:15"})
    hass.states.async_set(RISK, "off", {"quarter_start": "10:30"})
    await settle()
    assert not turned_off
    assert not turned_on
