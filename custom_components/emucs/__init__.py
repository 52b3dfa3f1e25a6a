"""The eMUCS integration: Belgian digital electricity meters (P1 and S1 ports).

This package imports nothing from Home Assistant, so that the sans-IO core
(``protocol``) and the command line (``python -m custom_components.emucs``) run
without it. Home Assistant's entry points live in ``integration`` and are looked
up here on first use (PEP 562), when Home Assistant loads the integration.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_ENTRY_POINTS = frozenset(
    {
        "async_setup_entry",
        "async_unload_entry",
        "async_remove_entry",
        "async_remove_config_entry_device",
    }
)


def __getattr__(name: str) -> Any:
    """Return Home Assistant's entry points from ``integration``."""
    if name in _ENTRY_POINTS:
        return getattr(import_module(f"{__name__}.integration"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
