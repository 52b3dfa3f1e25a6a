"""Exceptions raised by the eMUCS protocol core."""

from __future__ import annotations


class EmucsError(Exception):
    """Base class of every error raised by this package."""


class P1DecodeError(EmucsError):
    """A byte string is not a decodable P1 telegram (structure or CRC)."""
