"""The package without Home Assistant: the protocol core and the CLI stand alone."""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys
import textwrap

ROOT = Path(__file__).parent.parent

# A meta-path finder that fails every import of homeassistant, as if it were absent.
BLOCK_HOMEASSISTANT = textwrap.dedent(
    """
    import sys

    class NoHomeAssistant:
        def find_spec(self, name, path=None, target=None):
            if name == "homeassistant" or name.startswith("homeassistant."):
                raise ModuleNotFoundError(f"blocked: {name}")
            return None

    sys.meta_path.insert(0, NoHomeAssistant())
    """
)


def run_without_homeassistant(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in which homeassistant cannot be imported."""
    return subprocess.run(  # noqa: S603 - our own code with the test interpreter
        [sys.executable, "-c", BLOCK_HOMEASSISTANT + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_protocol_imports_without_homeassistant_or_numpy() -> None:
    """P1 users import neither Home Assistant nor numpy (S1 names load on use)."""
    result = run_without_homeassistant(
        """
        import custom_components.emucs.protocol as protocol
        # The publishing policy is as free of Home Assistant as the protocol.
        import custom_components.emucs.derivation
        assert "numpy" not in sys.modules, "numpy imported eagerly"
        assert protocol.S1BatchDecoder.__name__ == "S1BatchDecoder"
        assert "numpy" in sys.modules
        """
    )
    assert result.returncode == 0, result.stderr


def test_cli_runs_without_homeassistant() -> None:
    """``python -m custom_components.emucs --help`` needs no Home Assistant."""
    result = run_without_homeassistant(
        """
        import runpy
        sys.argv = ["emucs", "--help"]
        try:
            runpy.run_module("custom_components.emucs", run_name="__main__")
        except SystemExit as exit:
            assert exit.code == 0, exit.code
        """
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_entry_points_resolve_lazily() -> None:
    """Home Assistant's entry points are found on the package, others are not."""
    result = run_without_homeassistant(
        """
        import custom_components.emucs as package
        assert not hasattr(package, "async_setup")
        try:
            package.async_setup_entry
        except ModuleNotFoundError as err:
            assert "homeassistant" in str(err)
        else:
            raise AssertionError("entry points should need Home Assistant")
        """
    )
    assert result.returncode == 0, result.stderr
