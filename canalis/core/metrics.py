"""Folding `metric.logged` rows (`MetricRow`s of the ledger) into the shape SDK v1's
`get_metrics()` returns."""
from __future__ import annotations


def fold(rows) -> dict:
    """scalar logged once -> value; logged again -> list; list -> list; row -> {col: [..]};
    table -> {col: [..]}; image -> {"image": digest}."""
    scalars: dict[str, list] = {}
    out: dict = {}
    for r in rows:
        name, kind, value = r.name, r.kind, r.value
        if kind == "scalar":
            scalars.setdefault(name, []).append(value)
            out[name] = None
        elif kind == "list":
            out[name] = list(value)
        elif kind == "row":
            table = out.setdefault(name, {})
            for col, v in value.items():
                table.setdefault(col, []).append(v)
        elif kind == "table":
            out[name] = {col: list(vs) for col, vs in value.items()}
        else:
            out[name] = value
    for name, values in scalars.items():
        out[name] = values[0] if len(values) == 1 else values
    return out
