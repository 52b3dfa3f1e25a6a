"""Tests for the eMUCS integration."""
