"""Where each step of a run stands, in the words every view uses (the live view of a submit,
`canalis show`, `show --graph`): queued, running for how long, reused from which run,
completed in how long, failed with what exit code, skipped or canceled and why.

Read from the ledger alone: the steps of the plan recorded in `run.submitted` (in the order
they can run), and for each the last step run recorded for it.
"""
from __future__ import annotations

import time

from canalis.durations import format_duration
from canalis.executor.records import record  # a frozen dataclass that compiles no methods
from canalis.ledger.status import StepStatus

QUEUED = "Queued"
#: the mark and the rich style of each state, as the live view and `show --graph` draw them
MARKS = {QUEUED: "·", StepStatus.Running: "▶", StepStatus.Completed: "✓", StepStatus.Reused: "✓",
         StepStatus.Failed: "✗", StepStatus.Skipped: "–", StepStatus.Canceled: "✗", StepStatus.Abandoned: "?"}
STYLES = {QUEUED: "dim", StepStatus.Running: "bold yellow", StepStatus.Completed: "green", StepStatus.Reused: "cyan",
          StepStatus.Failed: "bold red", StepStatus.Skipped: "dim", StepStatus.Canceled: "red",
          StepStatus.Abandoned: "magenta"}


def _age(iso: str | None, now: float) -> float | None:
    if not iso:
        return None
    from datetime import datetime  # a step that is running, or ended

    return max(0.0, now - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


@record
class StepState:
    """One step of a run as it stands. `status` is a StepStatus, or "Queued" for a planned
    step no step run was recorded for yet."""

    name: str
    status: str
    step_run_id: str | None = None
    seconds: float | None = None  # how long it ran (ended), or has been running
    reused_run_id: str | None = None
    exit_code: int | None = None
    why: str | None = None  # the reason of a skip, cancel or abandon; the error of a failure
    upstream: tuple = ()  # names of the steps it waits for
    inputs: tuple = ()  # (output name, producing step) for each input another step produces

    @property
    def ended(self) -> bool:
        return self.status not in (QUEUED, StepStatus.Running)

    def label(self) -> str:
        """What a view prints after the step's name."""
        s = self.status
        if s == QUEUED:
            return "queued" + (f" (after {', '.join(self.upstream)})" if self.upstream else "")
        if s == StepStatus.Running:
            return f"running {format_duration(self.seconds)}"
        if s == StepStatus.Reused:
            return f"reused from {self.reused_run_id}"
        if s == StepStatus.Completed:
            return f"completed in {format_duration(self.seconds)}"
        if s == StepStatus.Failed:
            code = f" (exit code {self.exit_code})" if self.exit_code is not None else ""
            return f"failed after {format_duration(self.seconds)}{code}"
        first = (self.why or "").splitlines()[0] if self.why else ""
        return f"{str(s).lower()}" + (f": {first}" if first else "")


def plan_steps(ledger, run_id: str):
    """The run's planned steps in the order they can run (StepSpec), or [] when the plan is unknown."""
    from canalis.executor.errors import PlanError
    from canalis.executor.plan import Plan

    doc = ledger.run_plan(run_id)
    if not doc:
        return [], {}
    plan = Plan.from_dict(doc)
    try:
        return plan.order(), plan.upstream()
    except PlanError:  # a recorded plan that cannot be ordered: show it as given
        return plan.steps, {s.name: set() for s in plan.steps}


def step_states(ledger, run_id: str, now: float | None = None, plan=None) -> list[StepState]:
    """Every step of the run: planned steps in run order, each with its last step run. `plan`
    is what `plan_steps` returned for the run, when the caller keeps it between calls."""
    now = time.time() if now is None else now
    specs, upstream = plan if plan is not None else plan_steps(ledger, run_id)
    last = {}
    for row in ledger.step_runs(run_id):
        last[row.step_name] = row
    producers = {o.name: s.name for s in specs for o in s.outputs}
    out = []
    names = [s.name for s in specs] + [n for n in last if n not in {s.name for s in specs}]
    by_name = {s.name: s for s in specs}
    for name in names:
        spec = by_name.get(name)
        ups = tuple(sorted(upstream.get(name, ())))
        inputs = tuple(dict.fromkeys((i.output, producers[i.output]) for i in (spec.inputs if spec else ())
                                     if i.source == "output" and i.output in producers))
        row = last.get(name)
        if row is None:
            out.append(StepState(name, QUEUED, upstream=ups, inputs=inputs))
            continue
        seconds = row.duration_s if row.status != StepStatus.Running else _age(row.started_at, now)
        why = row.error if row.status == StepStatus.Failed else row.reason
        out.append(StepState(name, row.status, row.step_run_id, seconds, row.reused_run_id, row.exit_code, why, ups,
                             inputs))
    return out


def progress(states: list[StepState]) -> tuple[int, int]:
    """(steps that have ended, steps in all)."""
    return sum(1 for s in states if s.ended), len(states)


def cancel_request(ledger, run_id: str) -> dict | None:
    """Who asked for the run to stop, and why: the last `run.cancel_requested` of the run
    ({"by", "host", "pid", "reason", "at"}), or None."""
    found = None
    for rec in ledger.events(stream=f"run:{run_id}", type="run.cancel_requested"):
        p = rec.payload
        found = {"by": p.get("user"), "host": p.get("host"), "pid": p.get("pid"), "reason": p.get("reason"),
                 "at": rec.time}
    return found


def describe_cancel(c: dict) -> str:
    """'canceled by ann on build-7 (pid 4242): interrupted (Ctrl-C)'."""
    who = c.get("by") or "an unknown user"
    where = f" on {c['host']}" if c.get("host") else ""
    pid = f" (pid {c['pid']})" if c.get("pid") else ""
    return f"canceled by {who}{where}{pid}" + (f": {c['reason']}" if c.get("reason") else "")


__all__ = ["MARKS", "QUEUED", "STYLES", "StepState", "cancel_request", "describe_cancel", "plan_steps", "progress", "step_states"]
