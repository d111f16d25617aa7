"""What the CLI (and later the server) show about runs, built from the ledger in one place."""
from __future__ import annotations

from canalis.core import metrics as _metrics
from canalis.ledger.rows import StepRunRow
from canalis.ledger.status import RunStatus, StepStatus
from canalis.run_refs import RunNotFound, resolve_run  # noqa: F401  (where the commands found them)


def effective_status(row):
    """executor/orphans.py's `effective_status`, imported only for a run the ledger does not
    show ended (an ended run has no executor process to look at)."""
    if row.status in RunStatus.terminal():
        return row.status
    from canalis.executor.orphans import effective_status as effective

    return effective(row)


def _log(row: StepRunRow, stream: str) -> str | None:
    if stream not in ("stdout", "stderr"):
        raise ValueError(f"a step run's logs are stdout and stderr, not {stream!r}")
    return row.stdout if stream == "stdout" else row.stderr


def log_digest(ledger, row: StepRunRow, stream: str) -> str | None:
    """The stored stdout/stderr of a step run; a reused step shows the log of the run it reused."""
    digest = _log(row, stream)
    if digest is None and row.reused_from:
        origin = ledger.step_run(row.reused_from)
        digest = _log(origin, stream) if origin is not None else None
    return digest


def step_summary(row: StepRunRow) -> dict:
    return {
        "step": row.step_name,
        "step_run_id": row.step_run_id,
        "status": row.status,
        "reused": row.status == StepStatus.Reused,
        "reused_from": row.reused_from,
        "reused_run_id": row.reused_run_id,
        "duration_s": row.duration_s,
        "reuse_key": row.reuse_key,
        "outputs": row.outputs or {},
        "exit_code": row.exit_code,
        "error": row.error or row.reason,
        "worker": row.worker,
    }


def _elapsed(since: str | None, now: float) -> float | None:
    from datetime import datetime

    if not since:
        return None
    return round(max(0.0, now - datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()), 3)


def run_duration(row) -> float | None:
    """Seconds the run took: recorded for a completed run; for one that failed or was canceled,
    from when it started to when it ended. None while it has not ended."""
    if row.duration_s is not None or not (row.finished_at and (row.started_at or row.submitted_at)):
        return row.duration_s
    from datetime import datetime  # a completed run has its duration recorded

    start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (row.started_at or row.submitted_at,
                                                                               row.finished_at))
    return round(max(0.0, (end - start).total_seconds()), 6)


def run_summary(ledger, run_id: str) -> dict:
    import time

    from canalis.step_states import cancel_request

    row = ledger.run(run_id)
    if row is None:
        raise RunNotFound(f"no run {run_id!r}")
    now = time.time()
    step_rows = ledger.step_runs(run_id)
    steps = [step_summary(s) for s in step_rows]
    for s, r in zip(steps, step_rows):
        s["elapsed_s"] = _elapsed(r.started_at, now) if r.status == StepStatus.Running else None
    status = effective_status(row)
    return {
        "run_id": run_id,
        "experiment": row.experiment,
        "kind": row.kind,
        "status": status,
        "submitted_at": row.submitted_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "duration_s": run_duration(row),
        "elapsed_s": (_elapsed(row.started_at or row.submitted_at, now)
                      if status in (RunStatus.Queued, RunStatus.Running) else None),
        "canceled": cancel_request(ledger, run_id) if status == RunStatus.Canceled else None,
        "parameters": row.parameters or {},
        "tags": row.tags or {},
        "git": row.git,
        "error": row.error,
        "steps": steps,
        "registered": registered_by_run(ledger, run_id, step_rows),
        "counts": {
            "ran": sum(1 for s in steps if s["status"] in StepStatus.ran()),
            "reused": sum(1 for s in steps if s["reused"]),
            "failed": sum(1 for s in steps if s["status"] == StepStatus.Failed),
            "skipped": sum(1 for s in steps if s["status"] == StepStatus.Skipped),
        },
    }


def _answering(step_rows) -> dict[str, StepRunRow]:
    """step run id -> the step run of this run that answers for it: itself, or the step run
    that reused it."""
    out = {s.step_run_id: s for s in step_rows}
    out.update({s.reused_from: s for s in step_rows if s.reused_from})
    return out


def run_metrics(ledger, run_id: str) -> dict:
    """{"run": {...run-level metrics...}, "steps": {step name: {...}}, "reused_from": {step name:
    {"run_id", "step_run_id"}}}: what the run answers for, a reused step with the metrics of the
    step run it reused (named in `reused_from`)."""
    rows = ledger.run_metrics(run_id)
    step_rows = ledger.step_runs(run_id)
    answering = _answering(step_rows)
    by_step: dict[str, list] = {}
    for r in rows:
        if r.step_run_id:
            s = answering.get(r.step_run_id)
            by_step.setdefault(s.step_name if s else r.step_run_id, []).append(r)
    return {
        "run": _metrics.fold([r for r in rows if not r.step_run_id]),
        "steps": {name: _metrics.fold(rs) for name, rs in by_step.items()},
        "reused_from": {s.step_name: {"run_id": s.reused_run_id, "step_run_id": s.reused_from}
                        for s in step_rows if s.reused_from},
    }


def metric_table(ledger, run_id: str) -> list[tuple]:
    """(step or "(run)", name, value, run it was logged in when that is another run) rows of
    what the run answers for: `canalis metrics` as a table."""
    rows = ledger.run_metrics(run_id)
    answering = _answering(ledger.step_runs(run_id))
    groups: dict[str, list] = {"(run)": []}
    for r in rows:
        s = answering.get(r.step_run_id) if r.step_run_id else None
        groups.setdefault((s.step_name if s else r.step_run_id) if r.step_run_id else "(run)", []).append(r)
    out = []
    for label, rs in groups.items():
        for name, value in _metrics.fold(rs).items():
            origins = sorted({r.run_id for r in rs if r.name == name} - {run_id})
            out.append((label, name, value, ", ".join(origins) or None))
    return out


def registered_by_run(ledger, run_id: str, step_rows=None) -> list[dict]:
    """The models and dataset versions a run answers for: registered by its steps or from it,
    and those registered by step runs it reused (`reused_from` names the step run that did)."""
    answering = _answering(step_rows if step_rows is not None else ledger.step_runs(run_id))
    out = []
    for kind, table in (("model", "models"), ("dataset", "datasets")):
        for r in ledger.registered_by_run(table, run_id):
            lineage = r.lineage or {}
            by = answering.get(lineage.get("step_run_id"))
            reused = by is not None and by.reused_from == lineage.get("step_run_id")
            out.append({"kind": kind, "name": r.name, "version": r.version, "digest": r.digest,
                        "step": by.step_name if by else None, "registered_in": lineage.get("run_id"),
                        "reused_from": lineage.get("step_run_id") if reused else None})
    return out
