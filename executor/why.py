"""Explaining a reuse decision after the fact, from the ledger and the store alone.

A reused step names the step run it reused. A step that ran is compared with the
closest earlier completed step run of the same name: both key documents are in the
store (a key is the digest of its document), so the parts that differ can be named:
files of the snapshot, parameters, inputs, the environment, the script or arguments.
"""
from __future__ import annotations

from canalis.executor.bind import parameter_text
from canalis.executor.errors import ExecutorError
from canalis.executor.fingerprint import KeyDocument
from canalis.executor.plan import Plan
from canalis.ledger.status import StepStatus


class NothingToExplain(ExecutorError):
    pass


def _doc(store, key) -> KeyDocument | None:
    if not key or not store.exists(key):
        return None
    return KeyDocument.from_bytes(store.get_bytes(key))


def diff_trees(store, old: str | None, new: str | None) -> dict:
    """Files added, removed and changed between two trees (by path and content digest)."""
    def listing(tree):
        if not tree or not store.exists(tree):
            return {}
        return {e.path: e.digest for e in store.get_tree(tree)}

    a, b = listing(old), listing(new)
    return {
        "added": sorted(set(b) - set(a)),
        "removed": sorted(set(a) - set(b)),
        "changed": sorted(p for p in set(a) & set(b) if a[p] != b[p]),
    }


def _explained_by_parameters(before, after, changed: dict) -> bool:
    """Whether two word lists differ only where a changed parameter's old value became its new one."""
    if len(before) != len(after):
        return False
    swaps = {(parameter_text(a), parameter_text(b)) for a, b in changed.values()}
    return all(x == y or (x, y) in swaps for x, y in zip(before, after))


def step_parameters(ledger, run_id: str, step_name: str) -> dict:
    """{parameter: value} for the parameters step `step_name` of run `run_id` reads (from
    the run's plan and parameters in `run.submitted`)."""
    rec = next(iter(ledger.events(stream=f"run:{run_id}", type="run.submitted")), None)
    if rec is None:
        return {}
    spec = next((s for s in Plan.from_dict(rec.payload["plan"]).steps if s.name == step_name), None)
    values = rec.payload.get("parameters") or {}
    return {n: values[n] for n in (spec.used_parameters() if spec else []) if n in values}


def diff_key_documents(store, old: KeyDocument, new: KeyDocument, params_before: dict | None = None,
                       params_after: dict | None = None) -> list[dict]:
    """Each part of the reuse key that differs, as {"part", "name", "before", "after", ...}.
    `params_*` name the parameters each side read (`step_parameters`), so that a changed
    argument is reported as the parameter that changed it."""
    if old.version != new.version:
        return [{"part": "key_version", "before": old.version, "after": new.version,
                 "change": "reuse key format changed; steps run once more after such an upgrade"}]
    out = []
    for part in ("kind", "script", "environment", "interpreter", "outputs"):
        if getattr(old, part) != getattr(new, part):
            out.append({"part": part, "before": getattr(old, part), "after": getattr(new, part)})
    if old.source_tree != new.source_tree:
        out.append({"part": "source", "before": old.source_tree, "after": new.source_tree,
                    "files": diff_trees(store, old.source_tree, new.source_tree)})
    for name in sorted(set(old.hash_paths) | set(new.hash_paths)):
        a, b = old.hash_paths.get(name), new.hash_paths.get(name)
        if a != b:
            out.append({"part": "hash_path", "name": name, "before": a, "after": b})
    changed = {}
    pa, pb = params_before or {}, params_after or {}
    for name in sorted(set(pa) | set(pb)):
        a, b = pa.get(name), pb.get(name)
        if name not in pa or name not in pb or a != b:
            changed[name] = (a, b)
            out.append({"part": "parameter", "name": name, "before": a, "after": b})
    if old.argv != new.argv and not _explained_by_parameters(old.argv, new.argv, changed):
        out.append({"part": "arguments", "before": list(old.argv), "after": list(new.argv)})
    for name in sorted(set(old.env) | set(new.env)):
        a, b = old.env.get(name), new.env.get(name)
        if a != b and not (name in old.env and name in new.env and _explained_by_parameters([a], [b], changed)):
            out.append({"part": "env", "name": name, "before": a, "after": b})
    ins_a = {i.name: i for i in old.inputs}
    ins_b = {i.name: i for i in new.inputs}
    for name in sorted(set(ins_a) | set(ins_b)):
        a, b = ins_a.get(name), ins_b.get(name)
        if a == b:
            continue
        entry = {"part": "input", "name": name, "before": a and a.tree, "after": b and b.tree}
        if a is None:
            entry["change"] = "added (a new input name; renaming an input changes the key)"
        elif b is None:
            entry["change"] = "removed"
        elif a.tree != b.tree:
            entry["change"] = "content changed"
            entry["files"] = diff_trees(store, a.tree, b.tree)
        else:
            entry["change"] = "reading mode or options changed"
        out.append(entry)
    return out


def _regenerated_on_resume(ledger, run_id: str, row) -> bool:
    """Whether the step ran after a resume of its run that turned reuse off."""
    return any(rec.payload.get("regenerate_outputs") and rec.time <= (row.started_at or "~")
               for rec in ledger.events(stream=f"run:{run_id}", type="run.resume_requested"))


def explain(ledger, store, run_id: str, step_name: str) -> dict:
    rows = [r for r in ledger.step_runs(run_id) if r.step_name == step_name]
    if not rows:
        names = sorted({r.step_name for r in ledger.step_runs(run_id)})
        raise NothingToExplain(f"run {run_id} has no step named {step_name!r} (steps: {', '.join(names) or 'none'})")
    row = rows[-1]
    result = {"run_id": run_id, "step": step_name, "step_run_id": row.step_run_id, "status": row.status,
              "reuse_key": row.reuse_key}
    if row.status == StepStatus.Reused:
        origin_run = row.reused_run_id
        out = {**result, "decision": "reused", "reused_from": row.reused_from, "reused_run_id": origin_run,
               "reason": f"a completed step run with the same reuse key exists: {row.reused_from} of run {origin_run}"}
        changed = package_changes(ledger, store, (origin_run, row.reused_from), (run_id, row.step_run_id))
        if changed:
            out["packages_changed"] = changed
            out["reason"] += ("; the interpreter's installed packages changed since then, which is not part of "
                              "the reuse key of a step on the current interpreter")
        return out
    if row.status == StepStatus.Skipped:
        return {**result, "decision": "skipped", "reason": row.reason or "an upstream step did not complete"}
    submitted = next(iter(ledger.events(stream=f"run:{run_id}", type="run.submitted")), None)
    plan = submitted.payload["plan"] if submitted else {}
    spec = next((s for s in plan.get("steps", []) if s["name"] == step_name), {})
    if spec and not spec.get("allow_reuse", True):
        return {**result, "decision": "ran", "reason": "reuse was off for this step (allow_reuse=False)", "differences": []}
    if plan.get("options", {}).get("regenerate_outputs") or _regenerated_on_resume(ledger, run_id, row):
        return {**result, "decision": "ran", "reason": "reuse was off for this run (regenerate_outputs=True)", "differences": []}
    out = {**result, **compare_with_earlier(ledger, store, step_name, row.reuse_key, _doc(store, row.reuse_key),
                                            step_parameters(ledger, run_id, step_name), before=row.started_at or "~",
                                            exclude=row.step_run_id)}
    if "compared_run_id" in out:  # what the key does not hold: the packages each ran with
        changed = package_changes(ledger, store, (out["compared_run_id"], out["compared_with"]), (run_id, row.step_run_id))
        if changed:
            out["packages_changed"] = changed
    return out


def compare_with_earlier(ledger, store, step_name: str, key: str, doc: KeyDocument | None, params: dict,
                         before: str = "~", exclude: str | None = None) -> dict:
    """Why a step with reuse key `key` (document `doc`, reading `params`) runs rather than
    being reused, seen from what completed before `before` (an ISO time): {"decision": "ran",
    "reason", "differences", ["compared_with", "compared_run_id"]}. `canalis why` asks it
    about a step that ran; a dry run about a step that would run."""
    same_key = [c for c in ledger.reuse_candidates(key) if c.step_run_id != exclude and (c.completed_at or "") < before]
    if same_key:
        return {"decision": "ran", "differences": [],
                "reason": f"step run {same_key[0].step_run_id} had the same key but its outputs were no longer all "
                          "in the store (garbage-collected or removed), so the step ran again"}
    earlier = ledger.last_completed_step_run(step_name, before=before, exclude=exclude)
    if earlier is None:
        return {"decision": "ran", "differences": [],
                "reason": f"no earlier completed step run named {step_name!r}: nothing to reuse"}
    old = _doc(store, earlier.reuse_key)
    if old is None or doc is None:
        return {"decision": "ran", "compared_with": earlier.step_run_id, "differences": [],
                "reason": "the key documents are no longer in the store; the keys differ"}
    diffs = diff_key_documents(store, old, doc, step_parameters(ledger, earlier.run_id, step_name), params)
    reason = f"its reuse key differs from step run {earlier.step_run_id} of run {earlier.run_id}"
    if old.version != doc.version:
        reason = (f"the reuse key format changed (version {old.version} -> {doc.version}) since step run "
                  f"{earlier.step_run_id} of run {earlier.run_id}; keys of different formats never match")
    return {"decision": "ran", "compared_with": earlier.step_run_id, "compared_run_id": earlier.run_id,
            "reason": reason, "differences": diffs}


def _packages(ledger, store, run_id: str, step_run_id: str) -> dict | None:
    """{name: version} a step run ran with (its `step.environment`), None when not recorded."""
    for rec in ledger.events(stream=f"run:{run_id}", type="step.environment"):
        if rec.payload.get("step_run_id") == step_run_id:
            blob = rec.payload.get("packages")
            if not blob:
                return {}
            if not store.exists(blob):
                return None
            lines = store.get_bytes(blob).decode().split()
            return dict(line.partition("==")[::2] for line in lines)
    return None


def package_changes(ledger, store, before: tuple, after: tuple) -> dict | None:
    """Packages added, removed and changed (`name: old -> new`) between two step runs'
    recorded environments, each given as (run_id, step_run_id); None when equal or unknown."""
    a, b = _packages(ledger, store, *before), _packages(ledger, store, *after)
    if a is None or b is None or a == b:
        return None
    return {"added": sorted(f"{n}=={b[n]}" for n in set(b) - set(a)),
            "removed": sorted(f"{n}=={a[n]}" for n in set(a) - set(b)),
            "changed": sorted(f"{n}: {a[n]} -> {b[n]}" for n in set(a) & set(b) if a[n] != b[n])}
