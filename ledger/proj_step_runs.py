"""Projection `step_runs`: one row per step run, in plan order (the seq of its first event).

Status (`StepStatus`, ledger/status.py): Running (step.started), Completed, Failed, Reused,
Skipped, Canceled, Abandoned. A new step.started for the same step_run_id (a retry) resets
the outcome and keeps the order. `worker` is the Dask worker of the latest attempt
(step.placed), null for a step run on this machine. The step run's id, its reuse key and
the step run it reused, its times and its outputs are stored compactly (tables.py: "uuid",
"digest", "time", "digests"); reads give the text (queries.REUSED_FROM_TEXT in SQL).
"""
from __future__ import annotations

from canalis.ledger.status import StepStatus
from canalis.ledger.tables import TableSpec

TABLE = TableSpec(
    "step_runs",
    (
        ("step_run_id", "uuid"), ("run_id", "text"), ("step_name", "text"), ("status", "text"),
        ("reuse_key", "digest"), ("reused_from", "uuid"), ("reused_run_id", "text"),
        ("started_at", "time"), ("finished_at", "time"), ("duration_s", "float"), ("outputs", "digests"),
        ("stdout", "text"), ("stderr", "text"), ("exit_code", "int"), ("error", "text"), ("reason", "text"),
        ("inputs", "json"),
        ("attempt", "int"), ("pid", "int"), ("allow_reuse", "bool"), ("tags", "json"),
        ("worker", "text"),
        ("plan_order", "int"), ("last_seq", "int"),
    ),
    pk=("step_run_id",),
    indexes=(("run_id", "plan_order"),),
)
TABLES = {TABLE.name: TABLE}
TYPES = frozenset({
    "step.started", "step.reused", "step.completed", "step.failed", "step.skipped", "step.canceled", "step.abandoned",
    "run.tagged", "step.placed",
})
#: the row each fold reads: by the payload's step_run_id (a batch reads them at once: projections.prefetch)
READS = {"step_runs": "step_run_id"}
_OUTCOME = dict.fromkeys(
    ("finished_at", "duration_s", "stdout", "stderr", "exit_code", "error", "reason", "reused_from", "reused_run_id")
)


def apply(rec, tables) -> None:
    p, t = rec.payload, rec.type
    sid = p.get("step_run_id")
    if sid is None:  # run.tagged on the run itself
        return
    row = tables.get("step_runs", sid)
    if row is None:
        if t == "run.tagged":
            return  # tags for a step run never seen: nothing to attach them to
        row = TABLE.blank(step_run_id=sid, run_id=p["run_id"], step_name=p["step_name"], plan_order=rec.seq, tags={})
    row["last_seq"] = rec.seq
    if t == "run.tagged":
        row["tags"] = {**(row["tags"] or {}), **p["tags"]}
    elif t == "step.started":
        row.update(_OUTCOME)
        row.update(status=StepStatus.Running, reuse_key=p["reuse_key"], attempt=p["attempt"], pid=p["pid"],
                   started_at=rec.time, outputs=None, inputs=p["inputs"])
    elif t == "step.placed":  # the Dask worker the latest attempt runs on
        row.update(worker=p["worker"], attempt=p["attempt"])
    elif t == "step.reused":
        row.update(status=StepStatus.Reused, reuse_key=p["reuse_key"], reused_from=p["reused_from"],
                   reused_run_id=p["reused_run_id"], outputs=p["outputs"], finished_at=rec.time,
                   started_at=row["started_at"] or rec.time)
    elif t == "step.completed":
        row.update(status=StepStatus.Completed, reuse_key=p["reuse_key"], outputs=p["outputs"], stdout=p["stdout"],
                   stderr=p["stderr"], exit_code=p["exit_code"], duration_s=p["duration_s"],
                   allow_reuse=p["allow_reuse"], finished_at=rec.time, error=None)
    elif t == "step.failed":
        row.update(status=StepStatus.Failed, reuse_key=p["reuse_key"], error=p["error"], exit_code=p["exit_code"],
                   stdout=p["stdout"], stderr=p["stderr"], duration_s=p["duration_s"], finished_at=rec.time)
    elif t == "step.canceled":
        row.update(status=StepStatus.Canceled, reuse_key=p["reuse_key"], reason=p["reason"], exit_code=p["exit_code"],
                   stdout=p["stdout"], stderr=p["stderr"], duration_s=p["duration_s"], finished_at=rec.time)
    elif t == "step.skipped":
        row.update(status=StepStatus.Skipped, reason=p["reason"], finished_at=rec.time)
    elif t == "step.abandoned":
        row.update(status=StepStatus.Abandoned, reason=p["reason"], finished_at=rec.time)
    tables.put("step_runs", row)
