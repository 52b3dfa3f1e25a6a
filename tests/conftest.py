"""Fixtures shared by the eMUCS tests."""

from __future__ import annotations

import os

from hypothesis import settings
import pytest

# Import our package now, before the first `hass` fixture mounts PHACC's
# testing_config directory, which has a custom_components package of its own:
# whichever is imported first is where Home Assistant looks for integrations.
import custom_components  # noqa: F401

# Hypothesis: reproducible runs in CI (no database lottery, failures print a
# blob to replay with @reproduce_failure), random exploration locally. No
# deadline anywhere: timing on shared CI runners is not what we test.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/emucs in every test."""
