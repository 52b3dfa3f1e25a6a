"""Draw the S1 waveform (last cycles of V and I per element) as a small SVG."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from .protocol.s1_pipeline import Waveform

WIDTH = 640
PANEL = 150
MARGIN = 8
# Voltage solid, current dashed; one hue per phase (brown, black, grey is the
# Belgian wiring convention, too dark on a dark dashboard: use brighter hues).
COLORS = {"L1": "#c0722a", "L2": "#3b82f6", "L3": "#8b8b8b"}


def _scale(rows: Sequence[Sequence[float]], floor: float) -> float:
    """Return a symmetric axis limit: the peak with 10 % head room, at least ``floor``."""
    peak = max((abs(x) for row in rows for x in row), default=0.0)
    return max(peak * 1.1, floor)


def _points(values: Sequence[float], limit: float, top: float) -> str:
    step = (WIDTH - 2 * MARGIN) / max(len(values) - 1, 1)
    middle = top + PANEL / 2
    half = PANEL / 2 - MARGIN
    return " ".join(
        f"{MARGIN + k * step:.1f},{middle - v / limit * half:.1f}"
        for k, v in enumerate(values)
    )


def render_svg(waveform: Waveform) -> bytes:
    """Return the SVG document: one panel per element, V and I on their own scales."""
    v_limit = _scale(waveform.voltage, 50.0)
    i_limit = _scale(waveform.current, 1.0)
    height = PANEL * len(waveform.phases)
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
            f'height="{height}" viewBox="0 0 {WIDTH} {height}" '
            'font-family="sans-serif" font-size="12">'
        ),
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]
    for n, phase in enumerate(waveform.phases):
        top = n * PANEL
        color = COLORS.get(phase, "#000000")
        middle = top + PANEL / 2
        parts.append(
            f'<line x1="{MARGIN}" y1="{middle}" x2="{WIDTH - MARGIN}" y2="{middle}" '
            'stroke="#d0d0d0"/>'
        )
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" '
            f'points="{_points(waveform.voltage[n], v_limit, top)}"/>'
        )
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="1.5" '
            f'stroke-dasharray="5 3" '
            f'points="{_points(waveform.current[n], i_limit, top)}"/>'
        )
        label = escape(f"{phase}  V ±{v_limit:.0f} V  I ±{i_limit:.1f} A (dashed)")
        parts.append(
            f'<text x="{MARGIN + 4}" y="{top + 16}" fill="#333">{label}</text>'
        )
    parts.append(
        f'<text x="{WIDTH - MARGIN - 4}" y="{height - 6}" fill="#666" '
        f'text-anchor="end">{waveform.frequency_hz:.2f} Hz, '
        f"{waveform.sample_rate_hz:.0f} samples/s</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts).encode()
