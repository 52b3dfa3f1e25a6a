"""The manifest as hassfest and HACS check it, and in step with the test pins."""

from __future__ import annotations

import json
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).parents[2]
MANIFEST = json.loads(
    (ROOT / "custom_components" / "emucs" / "manifest.json").read_text()
)


def test_keys_in_hassfest_order() -> None:
    """Hassfest: domain, name, then the other keys alphabetically."""
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_requirements_pinned_like_the_tests() -> None:
    """What HA installs for users is exactly what the tests ran with."""
    tested = {
        (req := Requirement(line.split("#")[0].strip())).name: req.specifier
        for line in (ROOT / "requirements_test.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    }
    for line in MANIFEST["requirements"]:
        req = Requirement(line)
        assert str(req.specifier).startswith("=="), f"{line} is not pinned"
        assert tested[req.name] == req.specifier


def test_usb_matchers_need_a_p1_description() -> None:
    """A bare FTDI/CP210x/CH340 chip must not announce every Zigbee stick as a meter."""
    for matcher in MANIFEST["usb"]:
        assert "p1" in matcher["description"].lower()
