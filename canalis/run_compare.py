"""Runs side by side (`canalis compare RUN RUN [RUN...]`): parameters, metrics, step states,
git commits and durations, one row per thing compared, one value per run, and whether the
values differ (the submit time always does and is not marked; durations are marked when they
are at least a second and half again apart).

A metric logged as a series is shown as its last value with min and max (`run_list.metric_value`);
a run that has no value for a row shows None. Metrics are those the run answers for: a reused
step answers with the metrics of the step run it reused (`reports.run_metrics`).
"""
from __future__ import annotations

from canalis import reports
from canalis.run_list import metric_value

SECTIONS = ("run", "parameter", "metric", "step", "duration")


def _git(g: dict | None):
    if not g:
        return None
    return (g.get("commit") or "")[:12] + (" (dirty)" if g.get("dirty") else "")


def _step_state(s: dict) -> str:
    if s["reused"]:
        return f"Reused from {s['reused_run_id']}"
    return str(s["status"])


def _metric_rows(folded: dict) -> dict[str, object]:
    out = {name: metric_value(v) for name, v in folded["run"].items()}
    for step, values in folded["steps"].items():
        out.update({f"{step}/{name}": metric_value(v) for name, v in values.items()})
    return out


def _notable(seconds: list) -> bool:
    """Durations differ when one is missing, or they are at least a second and half again apart:
    no two runs take exactly as long, and a row marked for that alone says nothing."""
    if any(v is None for v in seconds):
        return any(v is not None for v in seconds)
    lo, hi = min(seconds), max(seconds)
    return hi - lo >= 1.0 and hi >= 1.5 * lo


def _ordered_union(lists) -> list:
    seen: dict = {}
    for names in lists:
        for n in names:
            seen.setdefault(n, None)
    return list(seen)


def compare(ledger, run_ids: list[str]) -> dict:
    """{"runs": [run ids], "rows": [{"section", "name", "values": [one per run], "differs"}]}."""
    summaries = [reports.run_summary(ledger, r) for r in run_ids]
    metrics = [_metric_rows(reports.run_metrics(ledger, r)) for r in run_ids]
    rows = []

    def add(section, name, values):
        differs = _notable if section == "duration" else (lambda vs: any(v != vs[0] for v in vs[1:]))
        rows.append({"section": section, "name": name, "values": values,
                     "differs": name != "submitted at" and differs(values)})

    add("run", "experiment", [s["experiment"] for s in summaries])
    add("run", "status", [str(s["status"]) for s in summaries])
    add("run", "git commit", [_git(s["git"]) for s in summaries])
    add("run", "submitted at", [s["submitted_at"] for s in summaries])
    add("duration", "run", [s["duration_s"] for s in summaries])
    for name in _ordered_union(s["parameters"] for s in summaries):
        add("parameter", name, [s["parameters"].get(name) for s in summaries])
    for name in _ordered_union(metrics):
        add("metric", name, [m.get(name) for m in metrics])
    steps = [{x["step"]: x for x in s["steps"]} for s in summaries]
    names = _ordered_union(steps)
    for name in names:
        add("step", name, [_step_state(st[name]) if name in st else None for st in steps])
    for name in names:
        add("duration", name, [st[name]["duration_s"] if name in st else None for st in steps])
    order = {s: i for i, s in enumerate(SECTIONS)}
    rows.sort(key=lambda r: order[r["section"]])  # stable: the order within a section is kept
    return {"runs": list(run_ids), "rows": rows}


__all__ = ["compare"]
