"""Tests of the command line (custom_components/emucs/cli)."""
