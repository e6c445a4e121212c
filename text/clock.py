"""Clock times: parsed from the formats transcripts use, printed as HH:MM:SS in citations."""
from __future__ import annotations


def parse_clock(value: str) -> float:
    """'HH:MM:SS(.mmm)', 'H:MM:SS', 'MM:SS(.mmm)' or ',' decimal (SRT) to seconds."""
    parts = value.strip().replace(",", ".").split(":")
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"not a clock time: {value!r}")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def format_clock(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
