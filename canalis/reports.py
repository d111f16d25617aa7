"""What the CLI (and later the server) show about runs, built from the ledger in one place."""
from __future__ import annotations

from canalis.core import metrics as _metrics
from canalis.errors import CanalisError
from canalis.executor.orphans import effective_status


class RunNotFound(CanalisError):
    pass


def resolve_run(ledger, ref: str) -> str:
    """A run id from a full id, a unique prefix, or `latest`."""
    if ref == "latest":
        runs = ledger.runs(limit=1)
        if not runs:
            raise RunNotFound("no run in this workspace yet; submit one with `canalis submit`")
        return runs[0]["run_id"]
    if ledger.run(ref) is not None:
        return ref
    matches = [r["run_id"] for r in ledger.runs() if r["run_id"].startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFound(f"no run {ref!r}; list runs with `canalis runs`")
    raise RunNotFound(f"{ref!r} matches {len(matches)} runs ({', '.join(matches[:5])} ...); give more of the id")


def log_digest(ledger, row: dict, stream: str) -> str | None:
    """The stored stdout/stderr of a step run; a reused step shows the log of the run it reused."""
    digest = row.get(stream)
    if digest is None and row.get("reused_from"):
        digest = (ledger.step_run(row["reused_from"]) or {}).get(stream)
    return digest


def step_summary(row: dict) -> dict:
    return {
        "step": row["step_name"],
        "step_run_id": row["step_run_id"],
        "status": row["status"],
        "reused": row["status"] == "Reused",
        "reused_from": row.get("reused_from"),
        "duration_s": row.get("duration_s"),
        "reuse_key": row.get("reuse_key"),
        "outputs": row.get("outputs") or {},
        "exit_code": row.get("exit_code"),
        "error": row.get("error") or row.get("reason"),
    }


def run_summary(ledger, run_id: str) -> dict:
    row = ledger.run(run_id)
    if row is None:
        raise RunNotFound(f"no run {run_id!r}")
    steps = [step_summary(s) for s in ledger.step_runs(run_id)]
    return {
        "run_id": run_id,
        "experiment": row["experiment"],
        "kind": row.get("kind"),
        "status": effective_status(row),
        "submitted_at": row.get("submitted_at"),
        "started_at": row.get("started_at"),
        "finished_at": row.get("finished_at"),
        "duration_s": row.get("duration_s"),
        "parameters": row.get("parameters") or {},
        "tags": row.get("tags") or {},
        "git": row.get("git"),
        "error": row.get("error"),
        "steps": steps,
        "counts": {
            "ran": sum(1 for s in steps if s["status"] in ("Completed", "Failed")),
            "reused": sum(1 for s in steps if s["reused"]),
            "failed": sum(1 for s in steps if s["status"] == "Failed"),
            "skipped": sum(1 for s in steps if s["status"] == "Skipped"),
        },
    }


def run_list(ledger, experiment=None) -> list[dict]:
    out = []
    for row in ledger.runs(experiment=experiment):
        steps = ledger.step_runs(row["run_id"])
        out.append({
            "run_id": row["run_id"], "experiment": row["experiment"], "status": effective_status(row),
            "submitted_at": row.get("submitted_at"), "duration_s": row.get("duration_s"),
            "steps": len(steps), "reused": sum(1 for s in steps if s["status"] == "Reused"),
        })
    return out


def run_metrics(ledger, run_id: str) -> dict:
    """{"run": {...run-level metrics...}, "steps": {step name: {...}}}"""
    rows = ledger.metrics(run_id=run_id)
    names = {s["step_run_id"]: s["step_name"] for s in ledger.step_runs(run_id)}
    by_step: dict[str, list] = {}
    for r in rows:
        if r.get("step_run_id"):
            by_step.setdefault(names.get(r["step_run_id"], r["step_run_id"]), []).append(r)
    return {
        "run": _metrics.fold([r for r in rows if not r.get("step_run_id")]),
        "steps": {name: _metrics.fold(rs) for name, rs in by_step.items()},
    }
