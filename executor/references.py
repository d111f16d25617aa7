"""Every digest the ledger names, and why: the ground truth for `verify` and `gc`.

The ledger names blobs and trees in its events (snapshots and inputs in plans, outputs
and logs of steps, key documents, artifacts, dataset and model versions, published
pipelines). A tree's entries are named through the tree.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from canalis.store.errors import NotATreeError


@dataclass
class Reference:
    digest: str
    kind: str  # "tree" | "blob"
    why: str  # e.g. "run:R output model", "dataset wine_raw v1"
    run_id: str | None = None
    seq: int = 0


@dataclass
class References:
    items: list = field(default_factory=list)
    collected: set = field(default_factory=set)  # digests garbage collection removed

    def add(self, digest, kind, why, run_id=None, seq=0):
        if digest:
            self.items.append(Reference(digest, kind, why, run_id, seq))


def collect(ledger) -> References:
    refs = References()
    for rec in ledger.events():
        p, t, seq = rec.payload, rec.type, rec.seq
        run = p.get("run_id")
        if t == "run.submitted":
            for s in p["plan"]["steps"]:
                refs.add(s["source_tree"], "tree", f"run {run} step {s['name']} source", run, seq)
                for path, d in s.get("hash_paths", []):
                    refs.add(d, "any", f"run {run} step {s['name']} hash_path {path}", run, seq)
                for i in s.get("inputs", []):
                    if i.get("source") == "data":
                        refs.add(i["tree"], "tree", f"run {run} step {s['name']} input {i['name']}", run, seq)
        elif t in ("step.started", "step.reused", "step.completed"):
            refs.add(p.get("reuse_key"), "blob", f"run {run} step {p['step_name']} key document", run, seq)
            for name, tree in (p.get("outputs") or {}).items():
                refs.add(tree, "tree", f"run {run} step {p['step_name']} output {name}", run, seq)
            for stream in ("stdout", "stderr"):
                refs.add(p.get(stream), "blob", f"run {run} step {p['step_name']} {stream}", run, seq)
        elif t == "step.failed":
            for stream in ("stdout", "stderr"):
                refs.add(p.get(stream), "blob", f"run {run} step {p['step_name']} {stream}", run, seq)
        elif t == "artifact.uploaded":
            refs.add(p["digest"], "blob", f"run {run} file {p['name']}", run, seq)
        elif t == "dataset.registered":
            refs.add(p["digest"], "tree", f"dataset {p['name']} v{p['version']}", None, seq)
        elif t == "model.registered":
            refs.add(p["digest"], "tree", f"model {p['name']} v{p['version']}", None, seq)
        elif t == "pipeline.published":
            for d in p.get("snapshots", []):
                refs.add(d, "tree", f"published pipeline {p['name']}", None, seq)
        elif t == "store.collected":
            refs.collected.update(p["digests"])
    return refs


def expand(store, digest: str, kind: str) -> list[str]:
    """The digest and, for a tree, every digest its entries name."""
    out = [digest]
    if kind in ("tree", "any") and store.exists(digest):
        try:
            out += [e.digest for e in store.get_tree(digest)]
        except NotATreeError:  # a hash_paths entry may be a single file's blob
            if kind == "tree":
                raise
    return out
