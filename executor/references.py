"""Every digest the ledger names, and why: the ground truth for `verify` and `gc`.

The ledger names blobs and trees in its events (snapshots and inputs in plans, outputs
and logs of steps, key documents, artifacts, dataset and model versions, published
pipelines, the folder listings of data-change schedules: at creation, and at the last fire).
A tree's entries are named through the tree.

Garbage collection's own events say what left the store and when: `store.collected`
(removed) and `store.collection_intended` (about to be removed; an intent no
`store.collected` of the same gc_id and batch completes is an unfinished collection).
Order matters: a removal excuses a missing object only for references recorded before it;
an object named again afterwards must be in the store.
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
class Intent:
    """One batch a collection recorded it would remove (`store.collection_intended`)."""

    gc_id: str
    batch: int
    seq: int
    time: str
    digests: list
    bytes: int = 0


@dataclass
class References:
    items: list = field(default_factory=list)
    collected: dict = field(default_factory=dict)  # digest -> seq of the last store.collected naming it
    intents: dict = field(default_factory=dict)  # (gc_id, batch) -> Intent, for intents not completed

    def add(self, digest, kind, why, run_id=None, seq=0, **about):
        if digest:
            self.items.append(Reference(digest, kind, why, run_id, seq, **about))

    @property
    def unfinished(self) -> list[Intent]:
        """Intents no store.collected completed, oldest first."""
        return sorted(self.intents.values(), key=lambda i: i.seq)

    def pending(self) -> dict[str, int]:
        """digest -> seq of the latest unfinished intent naming it."""
        out: dict[str, int] = {}
        for intent in self.unfinished:
            for d in intent.digests:
                out[d] = intent.seq
        return out

    def removed_after(self, digest: str, seq: int, pending: dict | None = None) -> str | None:
        """Why a reference recorded at `seq` may find `digest` gone: "collected" when a
        collection after it removed the digest, "intended" when an unfinished collection after
        it meant to; None when the digest must be in the store."""
        if self.collected.get(digest, 0) > seq:
            return "collected"
        if pending is not None and pending.get(digest, 0) > seq:
            return "intended"
        return None


def collect(ledger) -> References:
    refs = References()
    names: dict[str, str] = {}  # schedule_id -> its name
    fired: dict[str, tuple] = {}  # schedule_id -> (listing digest or None, seq) of its last data-change fire
    for rec in ledger.events():
        p, t, seq = rec.payload, rec.type, rec.seq
        run = p.get("run_id")
        if t == "run.submitted":
            # the plan document is kept as long as the event naming it exists: whatever the
            # policy, every recorded run must stay readable (run.submitted v3)
            refs.add(p.get("plan_digest"), "blob", f"plan of run {run}", None, seq)
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
            for s in (p.get("plan") or {}).get("steps", []):  # hash_paths entries may be single files' blobs
                for path, d in s.get("hash_paths", []):
                    refs.add(d, "any", f"published pipeline {p['name']} step {s['name']} hash_path {path}", None, seq,
                             pipeline=p["name"])
        elif t == "schedule.created":
            # what a data-change schedule compares its folder with until it first fires
            # (schedule.created v3); schedules are never removed, so neither is it
            refs.add(p.get("state"), "blob", f"folder listing of schedule {p['name']}", None, seq)
            names[p["schedule_id"]] = p["name"]
        elif t == "schedule.updated":
            if "name" in p["changes"]:
                names[p["schedule_id"]] = p["changes"]["name"]
        elif t == "schedule.triggered" and p.get("state"):
            # what the folder is compared with after a restart: only the last fire's listing,
            # and only when the fire says it stored it (schedule.triggered v2)
            fired[p["schedule_id"]] = (p["state"] if p.get("listing_stored") else None, seq)
        elif t == "store.collection_intended":
            refs.intents[(p["gc_id"], p["batch"])] = Intent(p["gc_id"], p["batch"], seq, rec.time, list(p["digests"]), p["bytes"])
        elif t == "store.collected":
            for d in p["digests"]:
                refs.collected[d] = seq
            refs.intents.pop((p["gc_id"], p.get("batch")), None)
    for schedule_id, (listing, seq) in fired.items():
        name = names.get(schedule_id, schedule_id)
        refs.add(listing, "blob", f"folder listing of schedule {name} at its last fire", None, seq)
    return refs


def expand(store, digest: str, kind: str) -> list[str]:
    """The digest and, for a tree, every digest its entries name; with the chunks of every
    file among them that is stored chunked (files larger than the store's CHUNKED_MIN)."""
    from canalis.store.chunked import CHUNKED_MIN

    out = [digest]
    if kind in ("tree", "any") and store.exists(digest):
        try:
            entries = store.get_tree(digest)
        except NotATreeError:  # a hash_paths entry may be a single file's blob
            if kind == "tree":
                raise
        else:
            out += [e.digest for e in entries]
            return out + store.chunk_digests(e.digest for e in entries if e.size > CHUNKED_MIN)
    return out + store.chunk_digests([digest])
