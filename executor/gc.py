"""Garbage collection: mark from the roots the ledger names, sweep the rest of the store.

Always kept (roots): every registered dataset version and model version, snapshots of
published pipelines, plans of recorded runs, the folder listing each data-change schedule was
created with and the one it stored at its last fire (not those of earlier fires), everything
a run still in progress (or orphaned, so that `resume` can finish it) refers to, and
everything the runs kept by the policy refer to. Objects
that no event names at all are kept while they are younger than the grace period (a
step may have written them and not yet reported them). Nothing written after the
collection began is removed. Removals are recorded between `gc.started` and
`gc.completed`, batch by batch: first the intent (`store.collection_intended`, naming what
will be deleted), then the deletion, then the completion (`store.collected`). A collector
killed mid-sweep leaves an intent without completion; `verify` does not report its objects
as missing, and the next collection finishes it before its own: it deletes what remains of
the intent and records the completion, except for objects named again by an event recorded
after the intent, or written again after it (content addressing: a writer may store the same
bytes again, and a writer that finds the object still there stores nothing and records a
reference to it). Such objects are listed as `spared`.

The sweep holds the exclusive garbage-collection lock (`locks.sweeping`); every writer
holds it shared between writing objects and recording them, so a sweep never sees an
object that is about to be named by an event. Events appended while marking are read
again under the lock before anything is deleted. Intents are recorded only under the lock,
so an intent without completion seen under the lock belongs to a collector that died.
"""
from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from canalis.executor import workdirs
from canalis.executor.locks import sweeping
from canalis.executor.references import collect, expand
from canalis.ledger import events as ev
from canalis.ledger.checkpoint import write_auto_checkpoint
from canalis.ledger.status import RunStatus
from canalis.store.errors import StoreError

BATCH = 5000
# file times come from a coarse kernel clock that can trail time.time() by a tick
MTIME_SLACK = 0.05
ROOT_ORDER = ("dataset", "model", "published pipeline", "run in progress", "kept run", "plan of a recorded run",
              "schedule")


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
    # interrupted collections this one finished: their gc ids, objects removed now, spared
    finished: dict = field(default_factory=lambda: {"collections": [], "objects": 0, "bytes": 0, "spared": 0})
    # working folders of failed steps (.canalis/runs/): removed (older than keep_failed_s) and kept
    failed_folders: dict = field(default_factory=dict)
    # what .canalis/runs/ holds after this collection (run folders, step working folders,
    # executors' logs, with their bytes) and the lock files of .canalis/locks/ (unused ones are
    # removed, or with dry_run counted)
    workspace: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _iso_age(iso: str | None, now: float) -> float:
    if not iso:
        return float("inf")
    from datetime import datetime

    return now - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def kept_runs(ledger, keep_last: int | None, older_than: float | None, now: float) -> tuple[set, set]:
    """(runs kept by policy, runs in progress). With no policy every run is kept. A run that
    failed resumably (no space left, a step killed from outside) counts as in progress:
    `canalis resume` needs what it refers to."""
    runs = ledger.runs()
    in_progress = {r.run_id for r in runs if r.status in RunStatus.active()}
    resumable = {rec.payload["run_id"]: rec.payload.get("resumable") for rec in ledger.events(type="run.failed")}
    in_progress |= {r.run_id for r in runs if r.status == RunStatus.Failed and resumable.get(r.run_id)}
    if keep_last is None and older_than is None:
        return {r.run_id for r in runs}, in_progress
    kept = set()
    by_experiment = defaultdict(list)
    for r in runs:  # newest first
        by_experiment[r.experiment].append(r)
    for rows in by_experiment.values():
        for i, r in enumerate(rows):
            if keep_last is not None and i < keep_last:
                kept.add(r.run_id)
            if older_than is not None and _iso_age(r.submitted_at, now) < older_than:
                kept.add(r.run_id)
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
        if why.startswith("plan of run"):
            return "plan of a recorded run"
        if why.startswith("folder listing of schedule"):
            return "schedule"
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


def _iso_ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def finish_interrupted(ledger, store, refs, report: GcReport, dry_run: bool) -> None:
    """Finish the collections a killed collector left half done (call under `sweeping`,
    with `refs` read under it). Each unfinished intent's objects are deleted and the
    completion recorded, except objects named again after the intent (directly or as an
    entry of a tree named after it) or written again after it, which stay."""
    unfinished = refs.unfinished
    if not unfinished:
        return
    intended = {d for i in unfinished for d in i.digests}
    mtimes = {info.digest: info.mtime for info in store.object_info() if info.digest in intended}
    first = unfinished[0].seq
    named_at: dict[str, int] = {}  # digest -> seq of the latest reference after the first intent
    expanded: dict[tuple, list] = {}
    for ref in refs.items:
        if ref.seq <= first:
            continue
        key = (ref.digest, ref.kind)
        if key not in expanded:
            try:
                expanded[key] = expand(store, ref.digest, ref.kind)
            except StoreError:  # an unreadable tree: keep what it names directly
                expanded[key] = [ref.digest]
        for d in expanded[key]:
            if d in intended:
                named_at[d] = max(named_at.get(d, 0), ref.seq)
    for intent in unfinished:
        began = _iso_ts(intent.time) - MTIME_SLACK
        spared = {d for d in intent.digests if named_at.get(d, 0) > intent.seq or mtimes.get(d, float("-inf")) >= began}
        doomed = [d for d in intent.digests if d not in spared]
        spared = sorted(spared)
        report.finished["collections"].append(f"{intent.gc_id}#{intent.batch}")
        report.finished["spared"] += len(spared)
        present = [d for d in doomed if d in mtimes]
        report.finished["objects"] += len(present)
        if dry_run:
            continue
        freed = store.delete_many(present) if present else 0
        report.finished["bytes"] += freed
        ledger.append(ev.ObjectsCollected(gc_id=intent.gc_id, batch=intent.batch, digests=doomed, bytes=freed,
                                          finished_by=report.gc_id, spared=spared))


def remove_failed_folders(ledger, runs_dir, keep_failed: float, report: GcReport, now: float, dry_run: bool) -> None:
    """Remove working folders of failed and abandoned steps that ended more than
    `keep_failed` seconds ago; record them (`gc.folders_removed`)."""
    removed, kept = workdirs.remove_older_than(ledger, runs_dir, keep_failed, now=now, dry_run=dry_run)
    report.failed_folders = {
        "keep_failed_s": keep_failed,
        "removed": len(removed), "removed_bytes": sum(f.bytes for f in removed),
        "kept": len(kept), "kept_bytes": sum(f.bytes for f in kept),
    }
    if removed and not dry_run:
        ledger.append(ev.WorkFoldersRemoved(gc_id=report.gc_id, folders=[[f.run_id, f.step_run_id] for f in removed],
                                            bytes=report.failed_folders["removed_bytes"], keep_failed_s=float(keep_failed)))


def collect_garbage(ledger, store, locks_dir, *, keep_last=None, older_than=None, dry_run=False,
                    grace_seconds=3600.0, progress=None, runs_dir=None, keep_failed=None) -> GcReport:
    """Mark and sweep (see the module's docstring). With `runs_dir` and `keep_failed`
    (seconds), working folders of failed steps that ended longer ago are removed too."""
    began = time.time()
    policy = {"keep_last": keep_last, "older_than_s": older_than, "grace_s": grace_seconds}
    if keep_failed is not None:
        policy["keep_failed_s"] = keep_failed
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
        appended = ledger.head()[0] != start_seq
        if appended or refs.unfinished:
            later = collect(ledger)
            finish_interrupted(ledger, store, later, report, dry_run)
        if appended:  # events appended while marking: their references are kept too
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
            for number, batch in enumerate(_batches(doomed), start=1):
                digests = [i.digest for i in batch]
                ledger.append(ev.CollectionIntended(gc_id=report.gc_id, batch=number, digests=digests,
                                                    bytes=sum(i.stored_bytes for i in batch)))
                freed = store.delete_many(digests)
                ledger.append(ev.ObjectsCollected(gc_id=report.gc_id, batch=number, digests=digests, bytes=freed))
                done += len(batch)
                if progress:
                    progress(done, len(doomed))
            store.upgrade()  # store format 2 whole blobs over CHUNKED_MIN become chunked (same digests)
            store.compress_packs()  # chunks stored raw by a put (chunk_compression "later") are compressed
    if runs_dir is not None and keep_failed is not None:
        remove_failed_folders(ledger, runs_dir, keep_failed, report, began, dry_run)
    if runs_dir is not None:
        report.workspace = workdirs.usage(runs_dir)
    from canalis.executor.locks import remove_unused

    total, unused = remove_unused(locks_dir, dry_run=dry_run)
    report.workspace.update({"lock_files": total, "unused_lock_files": unused, "lock_files_removed": 0 if dry_run else unused})
    runs_all = {r.run_id for r in ledger.runs()}
    report.runs_kept = len(runs_all & (kept | in_progress))
    report.runs_collected = len(runs_all) - report.runs_kept
    report.seconds = round(time.time() - began, 3)
    if not dry_run:
        ledger.append(ev.GcCompleted(gc_id=report.gc_id, removed_objects=report.removed_objects,
                                     removed_bytes=report.removed_bytes, kept=report.kept))
        # a signed head after every collection, when the workspace names a checkpoint key
        write_auto_checkpoint(ledger, reason=f"gc {report.gc_id}")
    return report
