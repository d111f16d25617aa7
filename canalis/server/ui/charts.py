"""Line charts of metric series as SVG coordinates (drawn by the templates, no JavaScript)."""
from __future__ import annotations

import math

WIDTH, HEIGHT, PAD = 380, 170, 50


def numbers(values) -> list[float] | None:
    """The values as floats when every one is a finite number (a chart can be drawn), else None."""
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return None
        out.append(float(v))
    return out if len(out) >= 2 else None


def line_chart(values: list[float]) -> dict:
    """{"points": "x,y x,y ...", "min", "max", "last", "n", ...} for a polyline in a
    WIDTH x HEIGHT box with PAD around the plot."""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    n = len(values)
    xs = [PAD + i * (WIDTH - 2 * PAD) / (n - 1) for i in range(n)]
    ys = [HEIGHT - PAD - (v - lo) * (HEIGHT - 2 * PAD) / span for v in values]
    return {"points": " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys)), "min": lo, "max": hi,
            "last": values[-1], "n": n, "width": WIDTH, "height": HEIGHT, "pad": PAD}


__all__ = ["line_chart", "numbers"]
