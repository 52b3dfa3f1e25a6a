"""Monthly peaks (1-0:1.6.0 and the 0-0:98.1.0 history) as long-term statistics.

One external statistic per meter, ``emucs:<serial>_monthly_peak`` in kW, holds one
hourly row per month, at midnight on the first of the month (Belgian time). Rows are
keyed by month start, not by peak time: the running month's row is updated in place
whenever its peak rises (a row at the peak time would move and leave the old one
behind), months without data still have a place, and a month's row is the same
whether it came from 1-0:1.6.0 or, after the month ended, from the history. The
recorder updates a row that exists for the same start, so importing the same months
again (each start-up, each new peak, each month) never adds duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import async_add_external_statistics
from homeassistant.const import UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import slugify
from homeassistant.util.unit_conversion import PowerConverter

from .capacity import MonthPeak, month_start
from .const import DOMAIN

# Home Assistant 2025.10 added ``unit_class`` to the metadata (required from 2026.11);
# earlier versions store the metadata as given and reject unknown keys.
_HAS_UNIT_CLASS = "unit_class" in (
    StatisticMetaData.__required_keys__ | StatisticMetaData.__optional_keys__
)


def statistic_id(serial: str) -> str:
    """Return the statistic ID of a meter's monthly peaks."""
    return f"{DOMAIN}:{slugify(serial)}_monthly_peak"


def metadata(serial: str) -> StatisticMetaData:
    """Return the statistic's metadata: a mean in kW, no sum."""
    # ``has_mean`` is deprecated since 2025.4 (removed in 2026.4): ``mean_type`` only.
    meta: dict[str, Any] = {
        "mean_type": StatisticMeanType.ARITHMETIC,
        "has_sum": False,
        "name": f"Monthly peak demand {serial}",
        "source": DOMAIN,
        "statistic_id": statistic_id(serial),
        "unit_of_measurement": UnitOfPower.KILO_WATT,
    }
    if _HAS_UNIT_CLASS:
        meta["unit_class"] = PowerConverter.UNIT_CLASS
    return cast("StatisticMetaData", meta)


@callback
def async_import_monthly_peaks(
    hass: HomeAssistant, serial: str, months: Sequence[MonthPeak]
) -> None:
    """Queue the months with data for import; a no-op without the recorder."""
    if "recorder" not in hass.config.components:
        return
    rows = [
        StatisticData(
            start=month_start(month.year, month.month),
            mean=month.peak_kw,
            min=month.peak_kw,
            max=month.peak_kw,
        )
        for month in months
        if month.peak_kw is not None
    ]
    if rows:
        async_add_external_statistics(hass, metadata(serial), rows)
