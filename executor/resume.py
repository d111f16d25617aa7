"""Finishing a run whose executor died (SIGKILL, power loss).

Run state is what the ledger says. Steps the run completed or reused keep their results;
a step that started and never ended is recorded as `step.abandoned` and runs again;
steps never reached run as usual (and may be reused by key like any other).

A run that ended `Failed` with `resumable: true` (its steps failed only for reasons outside
their code: no space left on device, a process killed from outside; executor/nospace.py)
is resumed the same way: its failed and skipped steps run again.
"""
from __future__ import annotations

import os

from canalis.executor.errors import ExecutorError
from canalis.executor.plan import Plan
from canalis.executor.orphans import executor_alive, stop_leftover_steps
from canalis.ledger import events as ev
from canalis.ledger.status import StepStatus

FINISHED = ("run.completed", "run.failed", "run.canceled")


class RunNotResumable(ExecutorError):
    pass


def recorded_progress(ledger, run_id: str) -> tuple[dict | None, object | None, dict, dict]:
    """(run.submitted payload, the run's last end unless a resume followed it, steps started
    and not ended: step_run_id -> step.started payload, steps done: name -> (status, outputs)).
    Reads only: the executor of a resumed run takes its done steps from here."""
    submitted = None
    ended = None  # the run's last end, unless a resume followed it
    started: dict[str, dict] = {}
    done: dict[str, tuple[StepStatus, dict]] = {}
    for rec in ledger.events(stream=f"run:{run_id}"):
        p = rec.payload
        if rec.type == "run.submitted":
            submitted = p
        elif rec.type in FINISHED:
            ended = rec
        elif rec.type == "run.started" and p.get("resumed"):
            ended = None
        elif rec.type == "step.started":
            started[p["step_run_id"]] = p
        elif rec.type in ("step.completed", "step.reused"):
            started.pop(p["step_run_id"], None)
            status = StepStatus.Completed if rec.type == "step.completed" else StepStatus.Reused
            done[p["step_name"]] = (status, dict(p["outputs"]))
        elif rec.type in ("step.failed", "step.canceled", "step.abandoned"):
            started.pop(p["step_run_id"], None)
    return submitted, ended, started, done


def prepare_resume(ledger, run_id: str, force: bool = False) -> tuple[Plan, dict, dict, dict]:
    """(plan, parameters, done steps, submitted payload); records abandoned steps."""
    submitted, ended, started, done = recorded_progress(ledger, run_id)
    if submitted is None:
        raise RunNotResumable(f"run {run_id!r} has no run.submitted event; it cannot be resumed")
    resumable = ended is not None and ended.type == "run.failed" and ended.payload.get("resumable")
    if ended is not None and not resumable:
        raise RunNotResumable(f"run {run_id!r} has already ended ({ended.type}); submit it again instead")
    row = ledger.run(run_id)
    if row is not None and not resumable and not force and executor_alive(row) and row.pid != os.getpid():
        raise RunNotResumable(
            f"run {run_id!r} may still be executing (process {row.pid} on {row.host}); "
            "wait for it or stop it, or pass --force if you know it is gone"
        )
    stopped = set(stop_leftover_steps(row.host if row else None, [(sid, p.get("pid")) for sid, p in started.items()]))
    abandoned = [
        ev.StepAbandoned(run_id=run_id, step_run_id=sid, step_name=p["step_name"],
                         reason="the executor stopped before the step ended; it runs again on resume"
                         + ("; its process, still running, was stopped" if p.get("pid") in stopped else ""))
        for sid, p in started.items()
    ]
    if abandoned:
        ledger.append_many(abandoned)
    return Plan.from_dict(submitted["plan"]), dict(submitted["parameters"]), done, submitted
