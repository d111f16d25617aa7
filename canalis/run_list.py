"""`canalis runs`: which runs to list (experiment, status, time, tags, how many) and what to
show of each (parameters, a chosen metric), built from the ledger in one place."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from canalis.errors import CanalisError
from canalis.executor.orphans import effective_status
from canalis.ledger.status import RunStatus, StepStatus

#: runs listed when no --limit is given
DEFAULT_LIMIT = 20


class RunFilterError(CanalisError):
    pass


@dataclass
class RunFilter:
    """What `canalis runs` lists: all of these hold for every run listed."""

    experiment: str | None = None
    statuses: frozenset = frozenset()  # RunStatus members; empty: any
    since: str | None = None  # ISO time: submitted at or after
    tags: dict = field(default_factory=dict)  # name -> value (None: the tag is set, any value)
    limit: int | None = DEFAULT_LIMIT

    def admits(self, row) -> bool:
        if self.since and (row.submitted_at or "") < self.since:
            return False
        tags = row.tags or {}
        for k, v in self.tags.items():
            if k not in tags or (v is not None and str(tags[k]) != v):
                return False
        return not self.statuses or effective_status(row) in self.statuses


def parse_status(text: str) -> RunStatus:
    for s in RunStatus:
        if s.value.lower() == text.strip().lower():
            return s
    raise RunFilterError(f"{text!r} is not a run status; use one of {', '.join(s.value for s in RunStatus)}")


def parse_tag(text: str) -> tuple[str, str | None]:
    """`k=v` (tag k has value v) or `k` (tag k is set)."""
    name, sep, value = text.partition("=")
    if not name:
        raise RunFilterError(f"{text!r} is not a tag filter; write NAME=VALUE, or NAME for any value")
    return name, (value if sep else None)


def parse_since(text: str, now: float | None = None) -> str:
    """An ISO time from a DURATION ago (`2h`, `7d`) or a date or time (`2026-01-31`,
    `2026-01-31T12:00`, taken as UTC)."""
    from canalis.durations import DurationError, parse_duration

    try:
        seconds = parse_duration(text)
    except DurationError:
        try:
            when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise RunFilterError(f"{text!r} is neither a duration (2h, 7d) nor a date (2026-01-31, "
                                 "2026-01-31T12:00); --since takes either") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    t = (time.time() if now is None else now) - seconds
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def metric_value(value):
    """What a table shows of a metric: a scalar as it is; a series of numbers as its last value
    with min and max (`{"last", "min", "max", "count"}`); anything else as it is."""
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return {"last": value[-1], "min": min(value), "max": max(value), "count": len(value)}
    return value


def chosen_metric(folded: dict, name: str):
    """The value of metric `name` a run answers for: logged on the run, else by one of its steps
    (the last step, in plan order, that logged it). None when no step logged it."""
    if name in folded["run"]:
        return folded["run"][name]
    found = [m[name] for m in folded["steps"].values() if name in m]
    return found[-1] if found else None


def select(ledger, flt: RunFilter) -> tuple[list, int]:
    """(the runs to list, newest first, at most `flt.limit`; how many runs matched in all)."""
    rows = [r for r in ledger.runs(experiment=flt.experiment) if flt.admits(r)]
    return (rows if flt.limit is None else rows[: flt.limit]), len(rows)


def describe(ledger, rows, metric: str | None = None) -> list[dict]:
    """One dict per run: what `canalis runs --json` prints."""
    from canalis import reports

    out = []
    for row in rows:
        steps = ledger.step_runs(row.run_id)
        entry = {
            "run_id": row.run_id, "experiment": row.experiment, "status": effective_status(row),
            "submitted_at": row.submitted_at, "duration_s": reports.run_duration(row),
            "steps": len(steps), "reused": sum(1 for s in steps if s.status == StepStatus.Reused),
            "parameters": row.parameters or {}, "tags": row.tags or {},
        }
        if metric:
            entry["metric"] = {"name": metric, "value": metric_value(chosen_metric(reports.run_metrics(ledger, row.run_id),
                                                                                   metric))}
        out.append(entry)
    return out


__all__ = ["DEFAULT_LIMIT", "RunFilter", "RunFilterError", "chosen_metric", "describe", "metric_value", "parse_since",
           "parse_status", "parse_tag", "select"]
