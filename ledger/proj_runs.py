"""Projection `runs`: one row per run, its status and what it was submitted with.

Status (`RunStatus`, ledger/status.py): Queued after run.submitted; Running after
run.started or the first step event; Completed / Failed / Canceled after the matching run
event (a resumed run.started makes it Running again). The derived `Orphaned` is never
written here (executor/orphans.py). The plan is not copied here: it stays in the
run.submitted event (`Ledger.run_plan`).
"""
from __future__ import annotations

from canalis.ledger.status import RunStatus
from canalis.ledger.tables import TableSpec

TABLE = TableSpec(
    "runs",
    (
        ("run_id", "text"), ("experiment", "text"), ("kind", "text"), ("status", "text"),
        ("submitted_at", "text"), ("started_at", "text"), ("finished_at", "text"), ("duration_s", "float"),
        ("parameters", "json"), ("tags", "json"), ("git", "json"), ("host", "text"),
        ("pid", "int"), ("user", "text"), ("description", "text"), ("parent_run_id", "text"),
        ("error", "text"), ("failed_steps", "json"), ("submitted_seq", "int"), ("trigger", "json"),
    ),
    pk=("run_id",),
    # (experiment, submitted_seq): an experiment's latest run (a re-submit's reuse candidates) is
    # found without reading its other runs
    indexes=(("experiment", "submitted_seq"), ("submitted_seq",)),
)
TABLES = {TABLE.name: TABLE}
TYPES = frozenset({
    "run.submitted", "run.started", "run.completed", "run.failed", "run.canceled", "run.tagged",
    "step.started", "step.reused", "step.completed", "step.failed", "step.skipped", "step.abandoned",
})


def _row(rec, tables):
    rid = rec.payload["run_id"]
    return tables.get("runs", rid) or TABLE.blank(run_id=rid, status=RunStatus.Queued, tags={}, parameters={})


def apply(rec, tables) -> None:
    p, t = rec.payload, rec.type
    if t == "run.tagged" and p.get("step_run_id"):
        return
    row = _row(rec, tables)
    if t == "run.submitted":
        row.update(
            experiment=p["experiment"], kind=p["kind"], submitted_at=rec.time, parameters=p["parameters"],
            tags={**p["tags"], **(row["tags"] or {})}, git=p["git"], host=p["host"], pid=p["pid"],
            user=p["user"], description=p["description"], parent_run_id=p["parent_run_id"], submitted_seq=rec.seq,
            trigger=p["trigger"],
        )
    elif t == "run.started":
        row.update(status=RunStatus.Running, finished_at=None, error=None, duration_s=None, host=p["host"], pid=p["pid"])
        row["started_at"] = row["started_at"] or rec.time
    elif t.startswith("step."):
        if row["status"] != RunStatus.Queued:
            return  # a step event changes the run only when it is the first sign of work
        row.update(status=RunStatus.Running, started_at=row["started_at"] or rec.time)
    elif t == "run.completed":
        row.update(status=RunStatus.Completed, finished_at=rec.time, duration_s=p["duration_s"], error=None)
    elif t == "run.failed":
        row.update(status=RunStatus.Failed, finished_at=rec.time, error=p["error"], failed_steps=p["failed_steps"])
    elif t == "run.canceled":
        row.update(status=RunStatus.Canceled, finished_at=rec.time, error=p["reason"])
    elif t == "run.tagged":
        row["tags"] = {**(row["tags"] or {}), **p["tags"]}
    tables.put("runs", row)
