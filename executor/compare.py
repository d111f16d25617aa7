"""Comparing two runs: parameters, sources, inputs, environments, and per step whether
the outputs are byte-identical (same tree digest means same bytes)."""
from __future__ import annotations

from canalis.executor.plan import Plan
from canalis.executor.why import diff_trees, package_changes
from canalis.ledger.rows import StepRunRow
from canalis.ledger.status import StepStatus


def _submitted(ledger, run_id):
    rec = next(iter(ledger.events(stream=f"run:{run_id}", type="run.submitted")), None)
    return rec.payload if rec else None


def _final_steps(ledger, run_id) -> dict[str, StepRunRow]:
    """The last step run of each step name (a resumed run may have several)."""
    out = {}
    for r in ledger.step_runs(run_id):
        out[r.step_name] = r
    return out


def _outputs(row: StepRunRow | None) -> dict:
    return (row.outputs if row else None) or {}


def diff_runs(ledger, store, run_a: str, run_b: str) -> dict:
    sa, sb = _submitted(ledger, run_a), _submitted(ledger, run_b)
    pa, pb = sa["parameters"], sb["parameters"]
    params = {k: {"a": pa.get(k), "b": pb.get(k)} for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)}
    specs_a = {s.name: s for s in Plan.from_dict(sa["plan"]).steps}
    specs_b = {s.name: s for s in Plan.from_dict(sb["plan"]).steps}
    steps_a, steps_b = _final_steps(ledger, run_a), _final_steps(ledger, run_b)
    steps = []
    for name in list(specs_a) + [n for n in specs_b if n not in specs_a]:
        a, b = specs_a.get(name), specs_b.get(name)
        entry = {"step": name, "in": "both" if a and b else ("a" if a else "b")}
        if a and b:
            if a.source_tree != b.source_tree:
                entry["source"] = diff_trees(store, a.source_tree, b.source_tree)
            if a.environment.get("digest") != b.environment.get("digest"):
                entry["environment"] = {"a": a.environment.get("digest"), "b": b.environment.get("digest")}
            data_a = {i.name: i for i in a.inputs if i.source == "data"}
            data_b = {i.name: i for i in b.inputs if i.source == "data"}
            inputs = {}
            for n in sorted(set(data_a) | set(data_b)):
                ia, ib = data_a.get(n), data_b.get(n)
                if (ia.tree if ia else None) != (ib.tree if ib else None):
                    inputs[n] = {"a": ia and (ia.dataset or ia.tree), "b": ib and (ib.dataset or ib.tree)}
            if inputs:
                entry["inputs"] = inputs
            ra, rb = steps_a.get(name), steps_b.get(name)
            if ra and rb:  # what each step run's interpreter had installed (step.environment)
                packages = package_changes(ledger, store, (run_a, ra.step_run_id), (run_b, rb.step_run_id))
                if packages:
                    entry["packages"] = packages
            oa, ob = _outputs(ra), _outputs(rb)
            entry["status"] = {"a": ra and ra.status, "b": rb and rb.status}
            entry["outputs"] = {o: {"identical": oa.get(o) == ob.get(o) and oa.get(o) is not None, "a": oa.get(o), "b": ob.get(o)}
                                for o in sorted(set(oa) | set(ob))}
        steps.append(entry)
    return {"a": run_a, "b": run_b, "parameters": params, "steps": steps,
            "git": {"a": sa.get("git"), "b": sb.get("git")} if sa.get("git") != sb.get("git") else None}


def verify_reproduction(ledger, original: str, reproduction: str) -> dict:
    """Per step: are the reproduction's outputs byte-identical to the original's?

    Same reuse key (same code, parameters, input bytes, environment) with different
    outputs means the step is not deterministic; a different key means its inputs already
    differed (an upstream step was not deterministic)."""
    a, b = _final_steps(ledger, original), _final_steps(ledger, reproduction)
    steps, nondeterministic = [], []
    for name, ra in a.items():
        rb = b.get(name)
        oa, ob = _outputs(ra), _outputs(rb)
        rb_status = rb.status if rb else None
        identical = bool(oa) and oa == ob or (not oa and not ob and rb_status == StepStatus.Completed)
        original_key = ra.reuse_key
        if ra.status == StepStatus.Reused and ra.reused_from:
            origin = ledger.step_run(ra.reused_from)
            if origin is not None:
                original_key = origin.reuse_key
        same_inputs = original_key == (rb.reuse_key if rb else None)
        if identical:
            verdict = "identical"
        elif rb_status != StepStatus.Completed:
            verdict = f"not reproduced ({rb_status or 'missing'})"
        elif same_inputs:
            verdict = "not deterministic: same code and inputs, different outputs"
            nondeterministic.append(name)
        else:
            verdict = "differs because its inputs differ"
        steps.append({"step": name, "identical": identical, "same_inputs": same_inputs, "verdict": verdict,
                      "outputs": {o: {"original": oa.get(o), "reproduced": ob.get(o)} for o in sorted(set(oa) | set(ob))}})
    return {"original": original, "reproduction": reproduction, "identical": all(s["identical"] for s in steps),
            "nondeterministic": nondeterministic, "steps": steps}
