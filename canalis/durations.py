"""Durations as the command line writes them, one way everywhere: a number and a unit
(`90s`, `30m`, `12h`, `7d`, `2w`, also `1.5h`), or a plain number of seconds (`600`)."""
from __future__ import annotations

import re

from canalis.errors import CanalisError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: what `--help` says about a DURATION
HELP = "a number and a unit s, m, h, d or w (90s, 30m, 12h, 7d, 2w), or a plain number of seconds"
_FORM = re.compile(r"^(?P<n>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[smhdw]?)$")


class DurationError(CanalisError, ValueError):
    pass


def parse_duration(text) -> float:
    """Seconds in `text` ('90s', '30m', '12h', '7d', '2w', '600'); DurationError otherwise."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise DurationError(f"{text!r} is negative; a duration is 0 or more")
        return float(text)
    m = _FORM.match(str(text).strip().lower())
    if not m:
        raise DurationError(f"{text!r} is not a duration; write {HELP}")
    return float(m.group("n")) * UNITS[m.group("unit") or "s"]


def format_duration(seconds: float | None) -> str:
    """'0.4 s', '12 s', '3m 05s', '2h 01m', '3d 4h': short, and exact enough for a glance."""
    if seconds is None:
        return "-"
    s = max(0.0, float(seconds))
    if s < 10:
        return f"{s:.1f} s"
    if s < 60:
        return f"{s:.0f} s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m}m {sec:02d}s"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d {h}h"


__all__ = ["DurationError", "HELP", "format_duration", "parse_duration"]
