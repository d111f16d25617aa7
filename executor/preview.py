"""A dry run: what a submit of a plan would do, step by step, without running or recording
anything (`canalis submit --dry-run`, `canalis plan`, `Pipeline.validate()`).

Each step is bound as the executor would bind it and its key looked up as the executor would
look it up (executor/reuse.py), in the order the steps can run. A step whose inputs are all
known (data fixed at submit, or outputs of steps that would be reused) gets a firm answer:
reused (from which step run and run) or run, and for a run the reason in the words of
`canalis why`. A step that reads the output of a step that would run cannot be decided before
that step has run: it is reused if that step writes the same bytes as before (early cutoff),
and the preview says so.
"""
from __future__ import annotations

from canalis.executor.bind import bind
from canalis.executor.fingerprint import KeyDocument
from canalis.executor.plan import Plan
from canalis.executor.reuse import find_reusable
from canalis.executor.why import compare_with_earlier

REUSE, RUN, DEPENDS = "reuse", "run", "depends"


def preview(ledger, store, plan: Plan, parameters: dict, *, regenerate: bool = False) -> list[dict]:
    """One dict per step, in run order: {"step", "decision": "reuse" | "run" | "depends",
    "reason", "differences", "reuse_key", "reused_from", "reused_run_id", "waits_for"}."""
    known: dict[str, str | None] = {}  # output name -> tree (None: made by a step that will run)
    producers = {o.name: s.name for s in plan.steps for o in s.outputs}
    out = []
    for spec in plan.order():
        entry = {"step": spec.name, "reuse_key": None, "reused_from": None, "reused_run_id": None,
                 "differences": [], "waits_for": []}
        unknown = [i.output for i in spec.inputs if i.source == "output" and known.get(i.output) is None]
        if unknown:
            ups = sorted({producers[o] for o in unknown})
            entry.update(decision=DEPENDS, waits_for=ups,
                         reason=f"it reads {', '.join(unknown)} from {', '.join(ups)}, which will run: it is reused "
                                "if that output's bytes come out the same as before, and runs otherwise")
        else:
            trees = {i.name: (i.tree if i.source == "data" else known[i.output]) for i in spec.inputs}
            bound = bind(spec, parameters, trees)
            entry["reuse_key"] = bound.key
            found = None if regenerate or not spec.allow_reuse else find_reusable(ledger, store, bound.key)
            if not spec.allow_reuse:
                entry.update(decision=RUN, reason="reuse is off for this step (allow_reuse=False)")
            elif regenerate:
                entry.update(decision=RUN, reason="reuse is off for this run (regenerate_outputs=True)")
            elif found is not None:
                entry.update(decision=REUSE, reused_from=found.step_run_id, reused_run_id=found.run_id,
                             reason=f"a completed step run with the same reuse key exists: {found.step_run_id} "
                                    f"of run {found.run_id}")
                for name, tree in found.outputs.items():
                    known[name] = tree
            else:
                params = {n: parameters[n] for n in spec.used_parameters() if n in parameters}
                why = compare_with_earlier(ledger, store, spec.name, bound.key, KeyDocument.from_bytes(bound.document),
                                           params)
                entry.update(decision=RUN, reason=why["reason"], differences=why["differences"],
                             compared_with=why.get("compared_with"), compared_run_id=why.get("compared_run_id"))
        if entry["decision"] != REUSE:
            for o in spec.outputs:
                known[o.name] = None
        out.append(entry)
    return out


def snapshots(plan: Plan) -> list[str]:
    """The trees a plan names that its compilation stored: sources, hash_paths, data inputs."""
    found = []
    for s in plan.steps:
        found += [s.source_tree, *(d for _, d in s.hash_paths), *(i.tree for i in s.inputs if i.source == "data")]
    return sorted(set(filter(None, found)))


__all__ = ["DEPENDS", "REUSE", "RUN", "preview", "snapshots"]
