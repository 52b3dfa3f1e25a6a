"""Helpers shared by the protocol tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
import itertools

SUMMER = timezone(timedelta(hours=2))
WINTER = timezone(timedelta(hours=1))


def ts(text: str) -> datetime:
    """'YYYY-MM-DD hh:mm:ss S|W' to an aware datetime (S = +02:00, W = +01:00)."""
    stamp, flag = text.rsplit(" ", 1)
    zone = {"S": SUMMER, "W": WINTER}[flag]
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut ``data`` at the given points (taken modulo its length + 1)."""
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]
