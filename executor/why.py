"""Explaining a reuse decision after the fact, from the ledger and the store alone.

A reused step names the step run it reused. A step that ran is compared with the
closest earlier completed step run of the same name: both key documents are in the
store (a key is the digest of its document), so the parts that differ can be named:
files of the snapshot, parameters, inputs, the environment, the script or arguments.
"""
from __future__ import annotations

import json

from canalis.executor.errors import ExecutorError


class NothingToExplain(ExecutorError):
    pass


def _doc(store, key):
    if not key or not store.exists(key):
        return None
    return json.loads(store.get_bytes(key))


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


def diff_key_documents(store, old: dict, new: dict) -> list[dict]:
    """Each part of the reuse key that differs, as {"part", "name", "before", "after", ...}."""
    out = []
    for part in ("kind", "script", "command", "environment", "key_version", "outputs"):
        if old.get(part) != new.get(part):
            out.append({"part": part, "before": old.get(part), "after": new.get(part)})
    if old.get("source_tree") != new.get("source_tree"):
        out.append({"part": "source", "before": old.get("source_tree"), "after": new.get("source_tree"),
                    "files": diff_trees(store, old.get("source_tree"), new.get("source_tree"))})
    for name in sorted(set(old.get("hash_paths", {})) | set(new.get("hash_paths", {}))):
        a, b = old.get("hash_paths", {}).get(name), new.get("hash_paths", {}).get(name)
        if a != b:
            out.append({"part": "hash_path", "name": name, "before": a, "after": b})
    params_a, params_b = old.get("parameters", {}), new.get("parameters", {})
    for name in sorted(set(params_a) | set(params_b)):
        if params_a.get(name, "<unset>") != params_b.get(name, "<unset>"):
            out.append({"part": "parameter", "name": name, "before": params_a.get(name), "after": params_b.get(name)})
    if [a for a in old.get("arguments", []) if "param" not in a] != [a for a in new.get("arguments", []) if "param" not in a]:
        out.append({"part": "arguments", "before": old.get("arguments"), "after": new.get("arguments")})
    ins_a = {i["name"]: i for i in old.get("inputs", [])}
    ins_b = {i["name"]: i for i in new.get("inputs", [])}
    for name in sorted(set(ins_a) | set(ins_b)):
        a, b = ins_a.get(name), ins_b.get(name)
        if a == b:
            continue
        entry = {"part": "input", "name": name, "before": a and a["tree"], "after": b and b["tree"]}
        if a is None:
            entry["change"] = "added (a new input name; renaming an input changes the key)"
        elif b is None:
            entry["change"] = "removed"
        elif a["tree"] != b["tree"]:
            entry["change"] = "content changed"
            entry["files"] = diff_trees(store, a["tree"], b["tree"])
        else:
            entry["change"] = "reading mode or options changed"
        out.append(entry)
    return out


def explain(ledger, store, run_id: str, step_name: str) -> dict:
    rows = [r for r in ledger.step_runs(run_id) if r["step_name"] == step_name]
    if not rows:
        names = sorted({r["step_name"] for r in ledger.step_runs(run_id)})
        raise NothingToExplain(f"run {run_id} has no step named {step_name!r} (steps: {', '.join(names) or 'none'})")
    row = rows[-1]
    result = {"run_id": run_id, "step": step_name, "step_run_id": row["step_run_id"], "status": row["status"],
              "reuse_key": row.get("reuse_key")}
    if row["status"] == "Reused":
        origin_run = row.get("reused_run_id")
        return {**result, "decision": "reused", "reused_from": row["reused_from"], "reused_run_id": origin_run,
                "reason": f"a completed step run with the same reuse key exists: {row['reused_from']} of run {origin_run}"}
    if row["status"] == "Skipped":
        return {**result, "decision": "skipped", "reason": row.get("reason") or "an upstream step did not complete"}
    submitted = next(iter(ledger.events(stream=f"run:{run_id}", type="run.submitted")), None)
    plan = submitted.payload["plan"] if submitted else {}
    spec = next((s for s in plan.get("steps", []) if s["name"] == step_name), {})
    if spec and not spec.get("allow_reuse", True):
        return {**result, "decision": "ran", "reason": "reuse was off for this step (allow_reuse=False)", "differences": []}
    if plan.get("options", {}).get("regenerate_outputs"):
        return {**result, "decision": "ran", "reason": "reuse was off for this run (regenerate_outputs=True)", "differences": []}
    same_key = [c for c in ledger.reuse_candidates(row["reuse_key"]) if c["step_run_id"] != row["step_run_id"]
                and (c.get("completed_at") or "") < (row.get("started_at") or "~")]
    if same_key:
        return {**result, "decision": "ran", "differences": [],
                "reason": f"step run {same_key[0]['step_run_id']} had the same key but its outputs were no longer all "
                          "in the store (garbage-collected or removed), so the step ran again"}
    earlier = ledger.db.query(
        "select step_run_id, run_id, reuse_key, finished_at from step_runs where step_name = ? and status = 'Completed' "
        "and step_run_id != ? and finished_at < ? order by finished_at desc limit 1",
        [step_name, row["step_run_id"], row.get("started_at") or "~"],
    )
    earlier = next(iter(earlier), None)
    if earlier is None:
        return {**result, "decision": "ran", "differences": [],
                "reason": f"no earlier completed step run named {step_name!r}: nothing to reuse"}
    old, new = _doc(store, earlier["reuse_key"]), _doc(store, row["reuse_key"])
    if old is None or new is None:
        return {**result, "decision": "ran", "compared_with": earlier["step_run_id"], "differences": [],
                "reason": "the key documents are no longer in the store; the keys differ"}
    diffs = diff_key_documents(store, old, new)
    return {**result, "decision": "ran", "compared_with": earlier["step_run_id"], "compared_run_id": earlier["run_id"],
            "reason": f"its reuse key differs from step run {earlier['step_run_id']} of run {earlier['run_id']}",
            "differences": diffs}
