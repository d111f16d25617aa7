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
    run_id: str | None = None  # None for registrations: garbage collection keeps those always
    seq: int = 0
    step: str | None = None  # the step (of run_id) that names it
    step_run_id: str | None = None  # when the event names the step run
    dataset: dict | None = None  # {"name", "version"} of the dataset version that is this tree
    model: dict | None = None  # {"name", "version"} of the model version that is this tree
    pipeline: str | None = None  # the published pipeline whose snapshot this is


@dataclass
class References:
    items: list = field(default_factory=list)
    collected: set = field(default_factory=set)  # digests garbage collection removed

    def add(self, digest, kind, why, run_id=None, seq=0, **about):
        if digest:
            self.items.append(Reference(digest, kind, why, run_id, seq, **about))


def collect(ledger) -> References:
    refs = References()
    for rec in ledger.events():
        p, t, seq = rec.payload, rec.type, rec.seq
        run = p.get("run_id")
        if t == "run.submitted":
            for s in p["plan"]["steps"]:
                step = s["name"]
                refs.add(s["source_tree"], "tree", f"run {run} step {step} source", run, seq, step=step)
                for path, d in s.get("hash_paths", []):
                    refs.add(d, "any", f"run {run} step {step} hash_path {path}", run, seq, step=step)
                for i in s.get("inputs", []):
                    if i.get("source") == "data":
                        refs.add(i["tree"], "tree", f"run {run} step {step} input {i['name']}", run, seq, step=step)
        elif t in ("step.started", "step.reused", "step.completed"):
            about = {"step": p["step_name"], "step_run_id": p.get("step_run_id")}
            refs.add(p.get("reuse_key"), "blob", f"run {run} step {p['step_name']} key document", run, seq, **about)
            for name, tree in (p.get("outputs") or {}).items():
                refs.add(tree, "tree", f"run {run} step {p['step_name']} output {name}", run, seq, **about)
            for stream in ("stdout", "stderr"):
                refs.add(p.get(stream), "blob", f"run {run} step {p['step_name']} {stream}", run, seq, **about)
        elif t == "step.failed":
            about = {"step": p["step_name"], "step_run_id": p.get("step_run_id")}
            for stream in ("stdout", "stderr"):
                refs.add(p.get(stream), "blob", f"run {run} step {p['step_name']} {stream}", run, seq, **about)
        elif t == "artifact.uploaded":
            refs.add(p["digest"], "blob", f"run {run} file {p['name']}", run, seq)
        elif t == "dataset.registered":
            refs.add(p["digest"], "tree", f"dataset {p['name']} v{p['version']}", None, seq,
                     dataset={"name": p["name"], "version": p["version"]})
        elif t == "model.registered":
            refs.add(p["digest"], "tree", f"model {p['name']} v{p['version']}", None, seq,
                     model={"name": p["name"], "version": p["version"]})
        elif t == "pipeline.published":
            for d in p.get("snapshots", []):
                refs.add(d, "tree", f"published pipeline {p['name']}", None, seq, pipeline=p["name"])
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
