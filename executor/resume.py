"""Finishing a run whose executor died (SIGKILL, power loss).

Run state is what the ledger says. Steps the run completed or reused keep their results;
a step that started and never ended is recorded as `step.abandoned` and runs again;
steps never reached run as usual (and may be reused by key like any other).

A run that ended `Failed` with `resumable: true` (its steps failed only for reasons outside
their code: no space left on device, a process killed from outside; executor/nospace.py)
is resumed the same way: its failed and skipped steps run again.

The resume is recorded as `run.resume_requested`, with the options it runs under: those
recorded at submit (`regenerate_outputs`, `continue_on_step_failure`), and
`regenerate_outputs` also when the resume (or an earlier resume of the run) asked for it.
"""
from __future__ import annotations

import getpass
import os
import socket
from typing import NamedTuple

from canalis.executor.errors import ExecutorError, PlanError
from canalis.executor.plan import Plan
from canalis.executor.orphans import executor_alive, stop_leftover_steps
from canalis.ledger import events as ev
from canalis.ledger.status import StepStatus

FINISHED = ("run.completed", "run.failed", "run.canceled")


class RunNotResumable(ExecutorError):
    pass


class Progress(NamedTuple):
    """What the ledger says of a run so far: its run.submitted payload, its last end (unless a
    resume followed it), the steps started and not ended (step_run_id -> step.started payload),
    the steps done (name -> (status, outputs)), and its effective options: those recorded at
    submit, with `regenerate_outputs` also when a resume asked for it."""

    submitted: dict | None
    ended: object | None
    started: dict
    done: dict
    options: dict  # {"regenerate_outputs": bool, "continue_on_step_failure": bool}


def recorded_progress(ledger, run_id: str) -> Progress:
    """Reads only: the executor of a resumed run takes its done steps and options from here."""
    submitted = None
    regenerate = False
    ended = None  # the run's last end, unless a resume followed it
    started: dict[str, dict] = {}
    done: dict[str, tuple[StepStatus, dict]] = {}
    for rec in ledger.events(stream=f"run:{run_id}"):
        p = rec.payload
        if rec.type == "run.submitted":
            submitted = p
            regenerate = regenerate or bool((p.get("plan") or {}).get("options", {}).get("regenerate_outputs"))
        elif rec.type == "run.resume_requested":
            regenerate = regenerate or bool(p.get("regenerate_outputs"))
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
    recorded = ((submitted or {}).get("plan") or {}).get("options") or {}
    options = {"regenerate_outputs": regenerate,
               "continue_on_step_failure": bool(recorded.get("continue_on_step_failure"))}
    return Progress(submitted, ended, started, done, options)


def prepare_resume(ledger, run_id: str, force: bool = False, regenerate_outputs: bool = False) -> Plan:
    """Check that the run can be resumed, then record the request (`run.resume_requested`, with
    `regenerate_outputs`) and the steps its dead executor left unfinished (`step.abandoned`), in
    one append. Returns the recorded plan (checked as a submit checks it)."""
    submitted, ended, started, _done, options = recorded_progress(ledger, run_id)
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
    plan = Plan.from_dict(submitted["plan"])
    try:  # a plan read back from the ledger gets the checks a submit gives, before anything is recorded
        plan.check_paths()
    except PlanError as e:
        raise PlanError(f"run {run_id}: {e}") from None
    stopped = set(stop_leftover_steps(row.host if row else None, [(sid, p.get("pid")) for sid, p in started.items()]))
    abandoned = [
        ev.StepAbandoned(run_id=run_id, step_run_id=sid, step_name=p["step_name"],
                         reason="the executor stopped before the step ended; it runs again on resume"
                         + ("; its process, still running, was stopped" if p.get("pid") in stopped else ""))
        for sid, p in started.items()
    ]
    request = ev.RunResumeRequested(run_id=run_id, regenerate_outputs=bool(regenerate_outputs or
                                                                          options["regenerate_outputs"]),
                                    host=socket.gethostname(), pid=os.getpid(), user=getpass.getuser())
    ledger.append_many([request, *abandoned])
    return plan
