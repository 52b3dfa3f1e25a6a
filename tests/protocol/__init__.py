"""Tests of the sans-IO protocol core (custom_components/emucs/protocol)."""
