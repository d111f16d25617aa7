"""A run whose every step is reused, recorded by the process that submits it.

Such a run starts no process and writes no output: its executor would only replay the ledger
and record `run.started`, a `step.reused` (and, on the current interpreter, a
`step.environment`) per step and `run.completed`. Starting that executor costs an interpreter
and its imports, several times what the rest of a no-op re-submit costs. So `Session.submit`
asks here first: each step, in run order, is bound to the run's values and to the outputs its
upstream steps would reuse, and looked up with the executor's own reuse decision
(`RunExecutor.bind`, `reuse.find_reusable`, the same `RunExecutor` the executor process
builds; the candidates of the keys the experiment's latest run had are read in one query,
`reuse.Candidates`, any other key alone). Only when every step is found are the events recorded, in the order the executor
records them when the steps follow one another, together with `run.submitted` in one transaction, under the
submit's `writing` lock (garbage collection cannot remove a found output in between). A run
with any step to execute is left to its executor process, which decides again.

`CANALIS_ALWAYS_START_EXECUTOR=1` turns this off: every run gets its executor process.
"""
from __future__ import annotations

import os
import time

from canalis.executor.engine import RunExecutor, new_step_run_id
from canalis.executor.reuse import Candidates, Prefetched, find_reusable, first_candidates_trees
from canalis.ledger import events as ev

#: set (to anything but "" or "0") to give every run its executor process
ALWAYS_START_ENV = "CANALIS_ALWAYS_START_EXECUTOR"


def enabled() -> bool:
    return os.environ.get(ALWAYS_START_ENV, "") in ("", "0")


def all_reused(executor: RunExecutor) -> list | None:
    """(step, bound step, reuse candidate) for every step of the run, in run order, when each
    would be reused; None as soon as one would run (reuse off, or no intact earlier result)."""
    if executor.regenerate:
        return None
    decided = []
    steps = executor.plan.order()
    # the keys of the experiment's latest run are this run's when the pipeline is the same: their
    # candidates are read in one query; a key among them none has is read alone (reuse.Candidates)
    candidates = Candidates.of_latest_run(executor.ledger, executor.experiment) if len(steps) > 1 else None
    # their newest candidates' output trees, and the blobs those name, are looked up together too
    store = Prefetched(executor.store, first_candidates_trees(candidates)) if candidates is not None else executor.store
    for step in steps:
        if not step.allow_reuse:
            return None
        bound = executor.bind(step)
        trees = {}  # the output trees the reuse check reads: the next steps' binding needs no second read
        found = find_reusable(executor.ledger, store, bound.key, trees, candidates)
        if found is None:
            return None
        for name, tree in found.outputs.items():
            if tree in trees:
                executor.known_output(name, tree, trees[tree])
            else:
                executor.tree_of_output[name] = tree
        decided.append((step, bound, found))
    return decided


def run_events(executor: RunExecutor, decided: list, started: float) -> list:
    """What the run's executor would record for it: `run.started` (this process as the
    executor), each step's reuse events, `run.completed`."""
    from canalis.executor.stepenv import ReusedTogether

    events = [executor.started_event()]
    # the interpreter the steps' `step.environment` name: read once, its packages blob stored once (one `writing`)
    together = ReusedTogether()
    for step, bound, found in decided:
        events += executor.reused_events(step, bound, new_step_run_id(), found, together)
    events.append(ev.RunCompleted(run_id=executor.run_id, duration_s=round(time.time() - started, 6)))
    return events


def note(log_path, run_id: str) -> None:
    """The run's executor log says who recorded the run (as an executor's first and last lines
    do). The run is recorded by then: a log that cannot be written (a full disk) fails nothing."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(f"{stamp} canalis {os.getpid()}: run {run_id}: every step reused; recorded by the submitting "
                    "process, no executor process started\n"
                    f"{stamp} canalis {os.getpid()}: run {run_id} ended: Completed\n")
    except OSError:
        pass  # what the log would say is in the ledger: run.started names this process


__all__ = ["ALWAYS_START_ENV", "all_reused", "enabled", "note", "run_events"]
