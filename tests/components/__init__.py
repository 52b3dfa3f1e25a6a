"""Tests of the Home Assistant integration, end to end through real ports."""
