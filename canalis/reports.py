"""What the CLI (and later the server) show about runs, built from the ledger in one place."""
from __future__ import annotations

from canalis.core import metrics as _metrics
from canalis.errors import CanalisError
from canalis.executor.orphans import effective_status
from canalis.ledger.rows import StepRunRow
from canalis.ledger.status import StepStatus


class RunNotFound(CanalisError):
    pass


def resolve_run(ledger, ref: str) -> str:
    """A run id from a full id, a unique prefix, or `latest`."""
    if ref == "latest":
        runs = ledger.runs(limit=1)
        if not runs:
            raise RunNotFound("no run in this workspace yet; submit one with `canalis submit`")
        return runs[0].run_id
    if ledger.run(ref) is not None:
        return ref
    matches = [r.run_id for r in ledger.runs() if r.run_id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFound(f"no run {ref!r}; list runs with `canalis runs`")
    raise RunNotFound(f"{ref!r} matches {len(matches)} runs ({', '.join(matches[:5])} ...); give more of the id")


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
        "duration_s": row.duration_s,
        "reuse_key": row.reuse_key,
        "outputs": row.outputs or {},
        "exit_code": row.exit_code,
        "error": row.error or row.reason,
    }


def run_summary(ledger, run_id: str) -> dict:
    row = ledger.run(run_id)
    if row is None:
        raise RunNotFound(f"no run {run_id!r}")
    steps = [step_summary(s) for s in ledger.step_runs(run_id)]
    return {
        "run_id": run_id,
        "experiment": row.experiment,
        "kind": row.kind,
        "status": effective_status(row),
        "submitted_at": row.submitted_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "duration_s": row.duration_s,
        "parameters": row.parameters or {},
        "tags": row.tags or {},
        "git": row.git,
        "error": row.error,
        "steps": steps,
        "counts": {
            "ran": sum(1 for s in steps if s["status"] in StepStatus.ran()),
            "reused": sum(1 for s in steps if s["reused"]),
            "failed": sum(1 for s in steps if s["status"] == StepStatus.Failed),
            "skipped": sum(1 for s in steps if s["status"] == StepStatus.Skipped),
        },
    }


def run_list(ledger, experiment=None) -> list[dict]:
    out = []
    for row in ledger.runs(experiment=experiment):
        steps = ledger.step_runs(row.run_id)
        out.append({
            "run_id": row.run_id, "experiment": row.experiment, "status": effective_status(row),
            "submitted_at": row.submitted_at, "duration_s": row.duration_s,
            "steps": len(steps), "reused": sum(1 for s in steps if s.status == StepStatus.Reused),
        })
    return out


def run_metrics(ledger, run_id: str) -> dict:
    """{"run": {...run-level metrics...}, "steps": {step name: {...}}}"""
    rows = ledger.metrics(run_id=run_id)
    names = {s.step_run_id: s.step_name for s in ledger.step_runs(run_id)}
    by_step: dict[str, list] = {}
    for r in rows:
        if r.step_run_id:
            by_step.setdefault(names.get(r.step_run_id, r.step_run_id), []).append(r)
    return {
        "run": _metrics.fold([r for r in rows if not r.step_run_id]),
        "steps": {name: _metrics.fold(rs) for name, rs in by_step.items()},
    }
