"""Garbage collection: mark from the roots the ledger names, sweep the rest of the store.

Always kept (roots): every registered dataset version and model version, snapshots of
published pipelines, everything a run still in progress (or orphaned, so that `resume`
can finish it) refers to, and everything the runs kept by the policy refer to. Objects
that no event names at all are kept while they are younger than the grace period (a
step may have written them and not yet reported them). Nothing written after the
collection began is removed. Removals are recorded as `store.collected` events between
`gc.started` and `gc.completed`.

The sweep holds the exclusive garbage-collection lock (`locks.sweeping`); every writer
holds it shared between writing objects and recording them, so a sweep never sees an
object that is about to be named by an event. Events appended while marking are read
again under the lock before anything is deleted.
"""
from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from canalis.executor.locks import sweeping
from canalis.executor.references import collect, expand
from canalis.ledger import events as ev

BATCH = 5000
# file times come from a coarse kernel clock that can trail time.time() by a tick
MTIME_SLACK = 0.05
ROOT_ORDER = ("dataset", "model", "published pipeline", "run in progress", "kept run")


@dataclass
class GcReport:
    gc_id: str
    dry_run: bool
    policy: dict
    removed_objects: int = 0
    removed_bytes: int = 0
    kept: dict = field(default_factory=dict)  # reason -> {"objects", "bytes"}
    runs_kept: int = 0
    runs_collected: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def parse_duration(text: str) -> float:
    """'90s', '30m', '12h', '7d', '2w' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    text = text.strip().lower()
    if not text or text[-1] not in units or not text[:-1].replace(".", "", 1).isdigit():
        raise ValueError(f"{text!r} is not a duration; write a number and a unit: 90s, 30m, 12h, 7d, 2w")
    return float(text[:-1]) * units[text[-1]]


def _iso_age(iso: str | None, now: float) -> float:
    if not iso:
        return float("inf")
    from datetime import datetime

    return now - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def kept_runs(ledger, keep_last: int | None, older_than: float | None, now: float) -> tuple[set, set]:
    """(runs kept by policy, runs in progress). With no policy every run is kept."""
    runs = ledger.runs()
    in_progress = {r["run_id"] for r in runs if r["status"] in ("Queued", "Running")}
    if keep_last is None and older_than is None:
        return {r["run_id"] for r in runs}, in_progress
    kept = set()
    by_experiment = defaultdict(list)
    for r in runs:  # newest first
        by_experiment[r["experiment"]].append(r)
    for rows in by_experiment.values():
        for i, r in enumerate(rows):
            if keep_last is not None and i < keep_last:
                kept.add(r["run_id"])
            if older_than is not None and _iso_age(r.get("submitted_at"), now) < older_than:
                kept.add(r["run_id"])
    return kept, in_progress


def _reason(ref, kept: set, in_progress: set) -> str | None:
    why = ref.why
    if ref.run_id is None:
        if why.startswith("dataset"):
            return "dataset"
        if why.startswith("model"):
            return "model"
        if why.startswith("published pipeline"):
            return "published pipeline"
        return "kept run"
    if ref.run_id in in_progress:
        return "run in progress"
    if ref.run_id in kept:
        return "kept run"
    return None


def _batches(doomed: list) -> list[list]:
    """Doomed objects in batches of about BATCH, each pack's blobs in one batch (a pack is
    rewritten once), loose blobs in order."""
    groups: dict = {}
    for info in doomed:
        groups.setdefault(info.pack or info.digest, []).append(info)
    batches, current = [], []
    for group in groups.values():
        if current and len(current) + len(group) > BATCH:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    return batches


def collect_garbage(ledger, store, locks_dir, *, keep_last=None, older_than=None, dry_run=False,
                    grace_seconds=3600.0, progress=None) -> GcReport:
    began = time.time()
    policy = {"keep_last": keep_last, "older_than_s": older_than, "grace_s": grace_seconds}
    report = GcReport(gc_id=str(uuid.uuid4()), dry_run=dry_run, policy=policy)
    if not dry_run:
        ledger.append(ev.GcStarted(gc_id=report.gc_id, policy=policy))
    start_seq = ledger.head()[0]

    expanded: dict[str, list] = {}

    def mark(refs, kept, in_progress, marked, named):
        for ref in refs.items:
            named.add(ref.digest)
            reason = _reason(ref, kept, in_progress)
            if reason is None:
                continue
            if ref.digest not in expanded:
                expanded[ref.digest] = expand(store, ref.digest, ref.kind) if store.exists(ref.digest) else [ref.digest]
            for d in expanded[ref.digest]:
                named.add(d)
                if d not in marked or ROOT_ORDER.index(reason) < ROOT_ORDER.index(marked[d]):
                    marked[d] = reason

    # runs whose status is Queued or Running count as in progress, orphaned ones included:
    # `canalis resume` needs what they refer to
    kept, in_progress = kept_runs(ledger, keep_last, older_than, began)
    refs = collect(ledger)
    marked: dict[str, str] = {}
    named: set[str] = set()
    mark(refs, kept, in_progress, marked, named)

    with sweeping(locks_dir):
        if ledger.head()[0] != start_seq:  # events appended while marking: their references are kept too
            later = collect(ledger)
            kept2, progress2 = kept_runs(ledger, keep_last, older_than, began)
            fresh = {r.run_id for r in later.items if r.seq > start_seq and r.run_id}
            mark(later, kept | kept2 | fresh, in_progress | progress2, marked, named)
        kept_sizes = defaultdict(lambda: {"objects": 0, "bytes": 0})
        doomed, doomed_bytes = [], 0
        for info in store.object_info():
            reason = marked.get(info.digest)
            if reason is None and info.mtime >= began - MTIME_SLACK:
                reason = "written after gc began"
            elif reason is None and info.digest not in named and began - info.mtime < grace_seconds:
                reason = "unreferenced, younger than the grace period"
            if reason is not None:
                kept_sizes[reason]["objects"] += 1
                kept_sizes[reason]["bytes"] += info.stored_bytes
                continue
            doomed.append(info)
            doomed_bytes += info.stored_bytes
        report.kept = dict(kept_sizes)
        report.removed_objects, report.removed_bytes = len(doomed), doomed_bytes
        if not dry_run:
            done = 0
            for batch in _batches(doomed):
                freed = store.delete_many([i.digest for i in batch])
                ledger.append(ev.ObjectsCollected(gc_id=report.gc_id, digests=[i.digest for i in batch], bytes=freed))
                done += len(batch)
                if progress:
                    progress(done, len(doomed))
    runs_all = {r["run_id"] for r in ledger.runs()}
    report.runs_kept = len(runs_all & (kept | in_progress))
    report.runs_collected = len(runs_all) - report.runs_kept
    report.seconds = round(time.time() - began, 3)
    if not dry_run:
        ledger.append(ev.GcCompleted(gc_id=report.gc_id, removed_objects=report.removed_objects,
                                     removed_bytes=report.removed_bytes, kept=report.kept))
    return report
