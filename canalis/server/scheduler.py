"""The scheduler `canalis serve` runs: fires recurrence schedules when due and data-change
schedules when their datastore folder changed and settled (docs/schedules.md).

One thread looks at the ledger's schedules every `tick` seconds, so schedules created,
changed, disabled or enabled from any process are followed without a restart.

- Recurrence: the due time is the first time of the recurrence after the last one fired
  (after the schedule's creation before its first fire). When the server was stopped over
  several due times, it fires once, for the latest. The fire is recorded with `claim`
  (`schedule.triggered` with its due time) before the run is submitted; the claim refuses a
  due time already fired, so two servers on one workspace fire it once.
- Data change: the folder `path_on_datastore` of the datastore is watched with watchdog;
  an event marks the folder changed, and once no event came for `settle` seconds its state
  (a digest of every file's path, size and modification time) is compared with the state of
  the last fire. A changed state fires when a look `settle` seconds later finds the same
  state again (no event since): many files landing at once make one run. Each fire stores the
  folder's listing (the document whose digest is the state) and says so in its
  `schedule.triggered` (v2), so a restarted server names the files that changed since the
  last fire; after a fire recorded without one, only those changed since it started. Where
  watchdog cannot watch (no inotify, or CANALIS_SCHEDULER_WATCH=poll), and in any case every
  `polling_interval` minutes, the folder's state is looked at directly, with the same rule. A
  schedule that never fired compares the folder with what it held when the schedule was
  created: the listing `schedule.created` recorded (its `state`, the digest of the listing
  stored in the store), so files that land while no server runs still fire it once the server
  starts, whatever their modification times. A schedule recorded without it (by a canalis
  before `schedule.created` v3, or pointed at another folder since, its datastore included)
  falls back to inferring that listing from the files' modification times: the files not
  modified since its creation.

A run a schedule starts names it in `run.submitted`'s trigger (`{"via": "schedule",
"by": <schedule name>, "schedule_id", "reason", "due"}`); a fire whose run is refused (the pipeline was
disabled, say) is recorded as `schedule.trigger_failed`.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from blake3 import blake3

log = logging.getLogger("canalis.server")
#: "poll" looks at watched folders every polling_interval only (network file systems, where
#: inotify does not see writes made on other machines)
WATCH_ENV = "CANALIS_SCHEDULER_WATCH"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def listing_bytes(listing: dict) -> bytes:
    """The listing as the document that is hashed (and stored): for each file, in sorted
    order of its relative path, `path NUL size NUL mtime_ns LF` in UTF-8 (undecodable bytes
    of a name as they were). A path holds no NUL, so the document reads back unambiguously."""
    return b"".join(f"{rel}\0{size}\0{mtime}\n".encode("utf-8", "surrogateescape")
                    for rel, (size, mtime) in sorted(listing.items()))


def parse_listing(data: bytes) -> dict:
    """The listing a `listing_bytes` document holds (relative path -> (size, mtime_ns))."""
    listing, i = {}, 0
    while i < len(data):
        end_path = data.index(b"\0", i)
        end_size = data.index(b"\0", end_path + 1)
        end_line = data.index(b"\n", end_size + 1)
        listing[data[i:end_path].decode("utf-8", "surrogateescape")] = (int(data[end_path + 1:end_size]),
                                                                       int(data[end_size + 1:end_line]))
        i = end_line + 1
    return listing


def _digest(listing: dict) -> str:
    """The folder's state: the BLAKE3 of its listing document, which is also the document's
    address in the store."""
    return blake3(listing_bytes(listing)).hexdigest()


def _as_created(listing: dict, created_at: str) -> tuple[str, dict]:
    """The folder as it was when the schedule was created, as far as the files tell: those
    not modified since. The fallback for a schedule that never fired and whose creation
    recorded no listing; it fires for the others. It cannot tell a file that landed with an
    older modification time (`cp -p`, `rsync -a`, a clock with coarse steps) from one that
    was there."""
    created = _parse(created_at).timestamp() * 1e9
    kept = {k: v for k, v in listing.items() if v[1] <= created}
    return _digest(kept), kept


def watched_folder(workspace, datastore: str, path_on_datastore: str | None) -> Path:
    """The folder a data-change schedule watches (raises when the datastore is unknown)."""
    from canalis.core.datastore import Datastore

    return (Datastore(workspace, datastore).root / (path_on_datastore or "")).resolve()


def folder_state(folder: Path) -> tuple[str, dict]:
    """A digest of the files under `folder` (relative path, size, mtime) and the listing itself."""
    listing = {}
    if folder.is_dir():
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                listing[path.relative_to(folder).as_posix()] = (st.st_size, st.st_mtime_ns)
    return _digest(listing), listing


class _Watch:
    """What the scheduler knows of one data-change schedule's folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.last_event = None  # monotonic time of the last watchdog event, None when none pending
        self.last_look = 0.0  # monotonic time the state was last computed by polling
        self.baseline = None  # (state, listing) the next fire is compared with
        self.pending = None  # a changed state seen once: it fires when a look `settle` seconds later sees it again
        self.observer = None


class Scheduler:
    def __init__(self, workspace, *, tick: float = 1.0, settle: float = 2.0):
        self.workspace = workspace
        self.tick, self.settle = tick, settle
        self._stop = threading.Event()
        self._thread = None
        self._watches: dict[str, _Watch] = {}
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="canalis-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for w in self._watches.values():
            self._unwatch(w)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.look()
            except Exception:  # a fault in one look must not stop the schedules: it is logged, the next look runs
                log.exception("scheduler: looking at the schedules failed")
            self._stop.wait(self.tick)

    # -- one look ----------------------------------------------------------------------------
    def look(self, now: datetime | None = None) -> None:
        now = now or datetime.now(timezone.utc)
        rows = self.workspace.ledger.schedules()
        seen = set()
        for row in rows:
            if not row.enabled:
                continue
            if row.recurrence is not None:
                self._recurrence(row, now)
            elif row.datastore is not None:
                seen.add(row.schedule_id)
                self._data_change(row)
        for gone in set(self._watches) - seen:  # disabled or no longer a data-change schedule
            self._unwatch(self._watches.pop(gone))

    def _recurrence(self, row, now: datetime) -> None:
        from canalis.executor import recurrence

        after = _parse(row.last_due) if row.last_due else _parse(row.created_at)
        due = recurrence.next_due(row.recurrence, after)
        if due > now:
            return
        for _ in range(100000):  # missed several: fire once, for the latest
            following = recurrence.next_due(row.recurrence, due)
            if following > now:
                break
            due = following
        due_text = due.isoformat()
        if self.workspace.session.claim_schedule(row.schedule_id, "recurrence", due=due_text) is not None:
            self._submit(row, "recurrence", due_text)

    def _folder(self, row) -> Path | None:
        try:
            return watched_folder(self.workspace, row.datastore, row.path_on_datastore)
        except Exception as e:  # the datastore was removed from the workspace: say so on the schedule
            self._fail(row, f"datastore {row.datastore!r} cannot be used: {e}")
            return None

    def _baseline(self, row, listing: dict) -> tuple[str, dict]:
        """What the folder (now `listing`) is compared with: its state at the last fire, with
        the listing that fire stored; before the first fire, the listing recorded at creation;
        without one, the listing inferred from modification times. A fire that stored no
        listing (`schedule.triggered` v1) leaves only its state: whether the folder changed is
        known, which files not, so they are counted from now."""
        if row.last_state:
            if row.last_listing != row.last_state:
                return row.last_state, listing
            return row.last_state, self._stored_listing(row, row.last_state, lambda: listing)
        if row.created_state:
            return row.created_state, self._stored_listing(row, row.created_state,
                                                           lambda: _as_created(listing, row.created_at)[1])
        return _as_created(listing, row.created_at)

    def _stored_listing(self, row, state: str, fallback) -> dict:
        """The listing stored under `state`; `fallback()` when it cannot be read."""
        try:
            return parse_listing(self.workspace.session.store.get_bytes(state, verify=True))
        except Exception as e:  # the state alone decides whether it fires; the listing names the changes
            log.warning("scheduler: the folder listing %s of schedule %s cannot be read (%s); the files its next "
                        "fire reports as changed are guessed without it", state, row.name, e)
            return fallback()

    def _data_change(self, row) -> None:
        w = self._watches.get(row.schedule_id)
        folder = self._folder(row)
        if folder is None:
            return
        if w is None or w.folder != folder:
            if w is not None:
                self._unwatch(w)
            w = self._watches[row.schedule_id] = _Watch(folder)
            self._watch(w)
            state, listing = folder_state(folder)
            w.baseline = self._baseline(row, listing)
            w.last_look = time.monotonic()
            if w.baseline[0] != state:  # changed while nobody watched: fires once settled
                w.last_event = time.monotonic()
            return
        clock = time.monotonic()
        settled = w.last_event is not None and clock - w.last_event >= self.settle
        polled = w.last_event is None and clock - w.last_look >= (row.polling_interval or 5) * 60
        if not (settled or polled):
            return  # no change seen, or still changing
        w.last_look = clock
        state, listing = folder_state(folder)
        if state == w.baseline[0]:
            w.last_event = w.pending = None
            return
        if state != w.pending:  # a state not seen before: fire only once it stays so for `settle` seconds
            w.pending, w.last_event = state, clock
            return
        w.last_event = w.pending = None
        before = w.baseline[1]
        changes = sorted(k for k in set(listing) | set(before) if listing.get(k) != before.get(k))
        w.baseline = (state, listing)
        if self.workspace.session.claim_schedule(row.schedule_id, "data-change", changes=changes, state=state,
                                                 listing=listing_bytes(listing)) is not None:
            self._submit(row, "data-change", None)

    def _watch(self, w: _Watch) -> None:
        """Start a watchdog observer on the folder; without one the folder is polled."""
        if os.environ.get(WATCH_ENV, "").lower() == "poll":
            return
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            class Handler(FileSystemEventHandler):
                def on_any_event(self, event):
                    if event.event_type not in ("opened", "closed_no_write"):
                        w.last_event = time.monotonic()

            w.folder.mkdir(parents=True, exist_ok=True)
            observer = Observer()
            observer.schedule(Handler(), str(w.folder), recursive=True)
            observer.daemon = True
            observer.start()
            w.observer = observer
        except Exception as e:  # no inotify (or too many watches): polling it is
            log.warning("scheduler: cannot watch %s (%s); polling it instead", w.folder, e)
            w.observer = None

    @staticmethod
    def _unwatch(w: _Watch) -> None:
        if w.observer is not None:
            w.observer.stop()
            w.observer.join(timeout=10)
            w.observer = None

    # -- firing ------------------------------------------------------------------------------
    def _submit(self, row, reason: str, due: str | None) -> None:
        from canalis.executor.errors import ExecutorError

        trigger = {"via": "schedule", "by": row.name, "schedule_id": row.schedule_id, "reason": reason, "due": due}
        try:
            self.workspace.session.submit_published(
                row.experiment, dict(row.parameters or {}), pipeline_id=row.pipeline_id,
                endpoint_id=row.pipeline_endpoint_id, trigger=trigger,
                continue_on_step_failure=row.continue_on_step_failure)
        except ExecutorError as e:  # every failed fire is recorded (its `schedule.triggered` cleared the last error)
            self.workspace.session.schedule_failed(row.schedule_id, str(e), due)

    def _fail(self, row, error: str) -> None:
        """A schedule that cannot even be looked at (its datastore is gone): recorded once,
        not at every look."""
        if row.last_error != error:
            self.workspace.session.schedule_failed(row.schedule_id, error, None)


__all__ = ["Scheduler", "folder_state", "listing_bytes", "parse_listing", "watched_folder"]
