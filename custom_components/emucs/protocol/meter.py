"""What a telegram says about the meter and its submeters: model names, firmware."""

from __future__ import annotations

from .obis import MEDIUM_MODELS, VOLTAGE_L3
from .p1 import MBusDevice, Telegram


def is_sagemcom(telegram: Telegram) -> bool:
    """Whether the meter is a Sagemcom (its identifier holds ``SAG``)."""
    return "SAG" in (telegram.equipment_id or "")


def meter_manufacturer(telegram: Telegram) -> str:
    """Sagemcom by the identifier, else the header's three-letter maker code."""
    return "Sagemcom" if is_sagemcom(telegram) else telegram.manufacturer


def meter_model(telegram: Telegram) -> str:
    """Sagemcom S211 (one phase) or T211 (three phases), else what the header says."""
    three_phase = telegram.value(VOLTAGE_L3) is not None
    if is_sagemcom(telegram):
        return "T211" if three_phase else "S211"
    return f"{'3' if three_phase else '1'}-phase meter ({telegram.header})"


def meter_sw_version(telegram: Telegram) -> str | None:
    """``DSMR 5.0.2 / eMUCS 2.1`` from the version object."""
    if telegram.dsmr_version is None:
        return telegram.version
    return f"DSMR {telegram.dsmr_version} / eMUCS {telegram.emucs_version}"


def submeter_model(device: MBusDevice) -> str:
    """``Gas meter``, ``Water meter``…, else the M-Bus device type."""
    return MEDIUM_MODELS.get(
        device.medium or "", f"M-Bus device type {device.device_type}"
    )


def submeter_key(device: MBusDevice) -> str:
    """Stable part of a submeter's identifiers: its serial, else its channel."""
    return device.equipment_id or f"channel_{device.channel}"
