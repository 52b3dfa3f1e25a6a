"""Constants of the eMUCS integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "emucs"
LOGGER = logging.getLogger(__package__)

CONNECTION_SERIAL: Final = "serial"
CONNECTION_NETWORK: Final = "network"
CONF_SERIAL_PORT: Final = "serial_port"

CONF_S1_PORT: Final = "s1_port"
"""Serial path or pyserial URL of the S1 port; absent or empty = no S1."""

CONF_PUBLISH_INTERVAL: Final = "publish_interval"
"""Seconds over which fast values (power, voltage, current) are averaged; 0 = every telegram."""
DEFAULT_PUBLISH_INTERVAL: Final = 0
CONF_S1_PUBLISH_INTERVAL: Final = "s1_publish_interval"
"""Seconds of S1 analysis averaged into one published value."""
DEFAULT_S1_PUBLISH_INTERVAL: Final = 5
CONF_SILENCE_TIMEOUT: Final = "silence_timeout"
DEFAULT_SILENCE_TIMEOUT: Final = 10
CONF_PEAK_TARGET: Final = "peak_target"
"""kW a quarter should stay under when higher than this month's peak; 0 = none."""
DEFAULT_PEAK_TARGET: Final = 0.0
CONF_PEAK_RISK: Final = "peak_risk"
"""Percent of the target above which the quarter's forecast puts the peak at risk."""
DEFAULT_PEAK_RISK: Final = 90
CONF_CAPACITY_RATE: Final = "capacity_rate"
"""Capacity tariff in EUR per kW per year; 0 = unknown (no cost sensor)."""
DEFAULT_CAPACITY_RATE: Final = 0.0

PROBE_TIMEOUT: Final = 15.0
"""Seconds the config flow waits for a telegram (the meter sends one per second)."""
S1_PROBE_TIMEOUT: Final = 5.0
"""Seconds the config flow waits for an S1 frame (thousands a second)."""
SILENT_REPAIR_AFTER: Final = 300.0
"""Seconds a link may stay open without data before a repair issue is raised."""
CAPACITY_SAVE_DELAY: Final = 30.0
"""Seconds after a quarter start or a new peak before the capacity state is saved."""
CRC_REPAIR_THRESHOLD: Final = 0.2
"""Share of rejected telegrams over the last minutes that raises a repair issue."""

ISSUE_PORT_SILENT: Final = "port_silent"
ISSUE_METER_REPLACED: Final = "meter_replaced"
ISSUE_CRC_ERRORS: Final = "crc_errors"
ISSUE_S1_SILENT: Final = "s1_silent"
