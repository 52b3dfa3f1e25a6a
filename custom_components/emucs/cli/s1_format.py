"""S1 output: a readable table per window, or the JSON line of the contract."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .text import plural

if TYPE_CHECKING:
    from custom_components.emucs.protocol.s1_analytics import S1Summary

__all__ = ["format_s1_table", "json_line"]


def json_line(summary: S1Summary) -> str:
    """Return the window's JSON object on one line (strict: no NaN or Infinity)."""
    data = summary.to_dict()
    data["events"] = [event.to_dict() for event in summary.events]
    return json.dumps(data, ensure_ascii=False, allow_nan=False) + "\n"


def format_s1_table(summary: S1Summary) -> str:
    """Return one S1 window as a readable table (ends with a blank line)."""
    end = summary.start_s + summary.duration_s
    if not summary.polyphase:
        wiring = "single-phase"
    elif summary.four_wire:
        wiring = "3-phase 4-wire"
    else:
        wiring = "3-phase 3-wire (Aron: L1 = U12, L3 = U32)"
    sampling = summary.sampling.replace("_", " ")
    frequency = _number(summary.frequency_hz, ".3f", " Hz")
    counts = (
        f"{plural(summary.frames, 'frame')}, "
        f"{plural(summary.crc_errors, 'CRC error')}, {summary.missed_frames} missed"
    )
    lines = [
        f"S1 {summary.start_s:.3f}-{end:.3f} s  meter {summary.meter_id}  {wiring}",
        f"  {summary.sample_rate_hz:.2f} samples/s ({sampling}), {frequency}; {counts}",
    ]
    rows: list[tuple[str, ...]] = [
        ("", "U V", "I A", "P W", "S VA", "N var", "PF", "THD U %", "THD I %")
    ]
    rows.extend(
        (
            name,
            _number(p.voltage_rms, ".2f"),
            _number(p.current_rms, ".3f"),
            _number(p.active_power, ".1f"),
            _number(p.apparent_power, ".1f"),
            _number(p.reactive_power, ".1f"),
            _number(p.power_factor, ".3f"),
            _number(p.thd_voltage, ".2f"),
            _number(p.thd_current, ".2f"),
        )
        for name, p in summary.phases.items()
    )
    if (total := summary.total) is not None:
        rows.append(
            (
                "Total",
                "",
                "",
                _number(total.active_power, ".1f"),
                _number(total.apparent_power, ".1f"),
                _number(total.reactive_power, ".1f"),
                _number(total.power_factor, ".3f"),
                "",
                "",
            )
        )
    if summary.neutral_current_rms is not None and summary.phases:
        rows.append(
            ("Neutral", "", _number(summary.neutral_current_rms, ".3f"), *[""] * 6)
        )
    if len(rows) == 1:
        lines.append("  too few samples for values")
    else:
        widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
        lines.extend(
            "  "
            + "  ".join(
                cell.ljust(width) if k == 0 else cell.rjust(width)
                for k, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            for row in rows
        )
    lines.extend(
        f"  {event.kind} {event.phase} at {event.start_s:.3f} s for {event.duration_s:.3f} s: "
        f"{event.depth_percent:.1f} % ({event.extreme_voltage:.1f} V)"
        for event in summary.events
    )
    return "\n".join(lines) + "\n\n"


def _number(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"
