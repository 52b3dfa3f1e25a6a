"""The manifest as hassfest and HACS check it, and in step with Home Assistant's pins."""

from __future__ import annotations

from importlib.metadata import version
import json
from pathlib import Path

import homeassistant
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


def test_requirements_install_beside_home_assistant() -> None:
    """Every requirement is installed and fits the HA release's package constraints.

    So HA installs nothing against its own pins. Our own packages are pinned; a range is only for a package HA pins itself
    (numpy), so that HA's version is the one used on every release.
    """
    constraints = {
        (req := Requirement(line)).name: req.specifier
        for line in (Path(homeassistant.__file__).parent / "package_constraints.txt")
        .read_text()
        .splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    }
    for line in MANIFEST["requirements"]:
        req = Requirement(line)
        assert req.specifier.contains(version(req.name)), f"{line}: not installed"
        pinned = constraints.get(req.name)
        if pinned is None:
            assert str(req.specifier).startswith("=="), f"{line} is not pinned"
            continue
        for pin in pinned:
            assert pin.operator != "==" or req.specifier.contains(pin.version), (
                f"{line} excludes HA's {pin}"
            )


def test_usb_matchers_need_a_p1_description() -> None:
    """A bare FTDI/CP210x/CH340 chip must not announce every Zigbee stick as a meter."""
    for matcher in MANIFEST["usb"]:
        assert "p1" in matcher["description"].lower()
