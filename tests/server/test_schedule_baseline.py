"""What a data-change schedule that never fired compares its folder with: the listing
`schedule.created` recorded (v3), kept in the store, so neither a file that lands with an old
modification time nor a file that was there with a future one is misjudged. Schedules
recorded before v3 infer it from modification times. The listing document reads back as the
listing, and its BLAKE3 (an ordinary blob's address in the store) is the folder's state. The
listing survives `canalis gc` and is checked by `canalis verify`. After a fire, a restarted
server compares the folder with the listing that fire stored (`schedule.triggered` v2): gc
keeps the last fire's, verify checks it; a fire recorded without one leaves the old rule.

Most tests drive the scheduler of `canalis serve` in this process (`Scheduler.look`, with no
settle time, so three looks fire a change) on a workspace whose published pipeline is
disabled: a fire is recorded (`schedule.triggered`, with the files that changed) and its run
refused (`schedule.trigger_failed`), so no run's process is started."""
from __future__ import annotations

import json
import os
import sqlite3
import string
import time
from datetime import datetime, timezone

from blake3 import blake3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.core.datastore import Datastore
from canalis.ledger import events as ev
from canalis.ledger.canonical import canonical_json, event_hash
from canalis.ledger.storage import insert_text_rows
from canalis.pipeline.core.schedule import Schedule
from canalis.server.scheduler import Scheduler, _digest, folder_state, listing_bytes, parse_listing
from tests.server.conftest import Server, canalis, wait_for

HOUR = 3600


def _fires(ws, schedule_id):
    return [e for e in ws.ledger.events(type="schedule.triggered") if e.payload["schedule_id"] == schedule_id]


def _created(ws, schedule_id):
    return next(e for e in ws.ledger.events(type="schedule.created") if e.payload["schedule_id"] == schedule_id)


def _created_at(ws, schedule_id) -> float:
    text = ws.ledger.schedule(schedule_id).created_at
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _set_mtime(path, seconds: float) -> None:
    os.utime(path, ns=(int(seconds * 1e9), int(seconds * 1e9)))


def _looks(scheduler, seconds: float = 1.0) -> None:
    """Look at the schedules for a while (a file's watchdog event arrives from another thread)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        scheduler.look()
        time.sleep(0.02)


def _look_until_fired(scheduler, ws, schedule_id, timeout: float = 60.0):
    return wait_for(lambda: scheduler.look() or _fires(ws, schedule_id), "the schedule fires", timeout=timeout)


def _landing(ws, tmp_path, *files):
    folder = tmp_path / "store"
    folder.mkdir()
    for name in files:
        (folder / name).write_text(f"{name}\n")
    Datastore.register_local(ws, "landing", str(folder))
    return folder


def test_a_file_that_lands_with_a_modification_time_before_the_creation_fires(ws, published, tmp_path):
    """A file copied in with its old time kept (`cp -p`, `rsync -a`): its modification time
    says it was there, the recorded listing says it was not. A real `canalis serve` fires."""
    folder = _landing(ws, tmp_path, "old.csv")
    schedule = Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data", datastore="landing")
    created = _created(ws, schedule.id).payload
    assert created["state"] == folder_state(folder)[0] == schedule._row.created_state
    (folder / "new.csv").write_text("landed later, dated earlier\n")
    _set_mtime(folder / "new.csv", _created_at(ws, schedule.id) - HOUR)
    server = Server(ws.root, tmp_path / "server.log").start()
    try:
        fires = wait_for(lambda: _fires(ws, schedule.id), "the schedule fires for the file that landed", timeout=120)
    finally:
        server.stop()
    assert fires[0].payload["changes"] == ["new.csv"]


def test_a_file_there_at_creation_fires_only_once_it_changes(ws, published, tmp_path):
    """Dated in the future (an archive unpacked, another machine's clock) and unchanged: no
    fire, where the inference from modification times fired. Rewritten later, and dated
    back to before the creation: a fire for that file alone."""
    folder = _landing(ws, tmp_path, "future.csv", "kept.csv")
    _set_mtime(folder / "future.csv", time.time() + HOUR)
    published.disable()
    schedule = Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data", datastore="landing")
    scheduler = Scheduler(ws, settle=0)
    try:
        _looks(scheduler)
        assert _fires(ws, schedule.id) == []
        before = (folder / "kept.csv").stat().st_mtime_ns
        (folder / "kept.csv").write_text("kept.csv, rewritten\n")
        os.utime(folder / "kept.csv", ns=(before, before))
        _look_until_fired(scheduler, ws, schedule.id)
        _looks(scheduler)
    finally:
        scheduler.stop()
    fires = _fires(ws, schedule.id)
    assert [f.payload["changes"] for f in fires] == [["kept.csv"]]
    assert fires[0].payload["state"] == folder_state(folder)[0]
    assert "disabled" in ws.ledger.schedule(schedule.id).last_error  # the fire's run was refused


def test_a_folder_that_does_not_exist_yet_is_watched_from_empty(ws, published, tmp_path):
    folder = _landing(ws, tmp_path)
    published.disable()
    schedule = Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data", datastore="landing",
                               path_on_datastore="incoming/today")
    state = _created(ws, schedule.id).payload["state"]
    assert state == blake3(b"").hexdigest() and ws.session.store.get_bytes(state) == b""
    (folder / "incoming" / "today").mkdir(parents=True)
    (folder / "incoming" / "today" / "a.csv").write_text("a\n")
    _set_mtime(folder / "incoming" / "today" / "a.csv", _created_at(ws, schedule.id) - HOUR)
    scheduler = Scheduler(ws, settle=0)
    try:
        _look_until_fired(scheduler, ws, schedule.id)
        _looks(scheduler)
    finally:
        scheduler.stop()
    assert [f.payload["changes"] for f in _fires(ws, schedule.id)] == [["a.csv"]]


def test_a_missing_datastore_is_refused_as_before_and_records_nothing(ws, published, tmp_path):
    import pytest

    from canalis.exceptions import UserErrorException

    seq = ws.ledger.head()[0]
    with pytest.raises(UserErrorException, match="no datastore named 'nowhere'"):
        Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data", datastore="nowhere")
    assert ws.ledger.head()[0] == seq


def _append_v2_created(ws, schedule_id: str, published_id: str, when: datetime) -> None:
    """A `schedule.created` as a canalis before v3 wrote it, straight into SQLite, chained."""
    led = ws.ledger
    seq, prev = led.head()
    payload = {"schedule_id": schedule_id, "name": "old-on-data", "pipeline_id": published_id, "experiment": "data",
               "recurrence": None, "parameters": {}, "pipeline_endpoint_id": None, "description": None,
               "datastore": "landing", "path_on_datastore": None, "polling_interval": 5.0,
               "continue_on_step_failure": None}
    row = (seq + 1, "0d5e2c1e-6f0e-4d8e-9a4c-2b0f0f3c8a11", when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
           "schedule.created", 2, f"schedule:{schedule_id}", canonical_json(payload), prev)
    conn = sqlite3.connect(str(led.path))
    insert_text_rows(conn, [(*row[:7], event_hash(*row))])
    conn.commit()
    conn.close()
    led.rebuild()  # the row went in behind the ledger's back: fold it into the projections


def test_a_schedule_recorded_before_v3_falls_back_to_modification_times(ws, published, tmp_path):
    folder = _landing(ws, tmp_path, "old.csv")
    now = time.time()
    _set_mtime(folder / "old.csv", now - HOUR)
    published.disable()
    _append_v2_created(ws, "sc-old", published.id, datetime.fromtimestamp(now, timezone.utc))
    rec = _created(ws, "sc-old")
    assert (rec.version, rec.stored_version, rec.payload["state"]) == (3, 2, None)
    assert ws.ledger.schedule("sc-old").created_state is None
    scheduler = Scheduler(ws, settle=0)
    try:
        _looks(scheduler)
        assert _fires(ws, "sc-old") == []  # old.csv was modified before the creation: there
        (folder / "new.csv").write_text("new\n")
        _set_mtime(folder / "new.csv", now + 1)
        _look_until_fired(scheduler, ws, "sc-old")
        _looks(scheduler)
    finally:
        scheduler.stop()
    assert [f.payload["changes"] for f in _fires(ws, "sc-old")] == [["new.csv"]]
    assert ws.ledger.verify().ok


def test_gc_keeps_the_listing_and_verify_checks_it(ws, published, tmp_path):
    _landing(ws, tmp_path, *(f"part-{i}.csv" for i in range(50)))
    schedule = Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data", datastore="landing")
    state = schedule._row.created_state
    store = ws.session.store
    assert len(parse_listing(store.get_bytes(state))) == 50
    report = json.loads(canalis(ws.root, "gc", "--keep-last", "0", "--grace", "0s", "--json").stdout)
    assert report["kept"]["schedule"]["objects"] == 1
    assert store.exists(state)
    assert json.loads(canalis(ws.root, "verify", "--json").stdout)["ok"] is True
    store.delete_many([state])  # what a damaged store looks like
    result = json.loads(canalis(ws.root, "verify", "--json", check=False).stdout)
    assert result["ok"] is False
    assert {"digest": state, "why": "folder listing of schedule on-data"} in result["missing"]


NAME = st.text(st.characters(blacklist_characters="\0/", blacklist_categories=("Cs",)) | st.sampled_from(
    ["\udcff", "\udc80"]), min_size=1, max_size=6)  # lone surrogates: a name's bytes that are not UTF-8
PATH = st.lists(NAME, min_size=1, max_size=3).map("/".join)
LISTING = st.dictionaries(PATH, st.tuples(st.integers(0, 2**40), st.integers(-2**62, 2**62)), max_size=8)


@settings(max_examples=200, deadline=None)
@given(listing=LISTING)
def test_a_listing_document_reads_back_and_its_digest_is_the_state(listing):
    data = listing_bytes(listing)
    assert parse_listing(data) == listing
    assert blake3(data).hexdigest() == _digest(listing)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(string.ascii_letters + "\n ._-é", min_size=1, max_size=8).filter(
    lambda n: n not in (".", "..")), unique=True, max_size=6))
def test_the_stored_listing_of_a_real_folder_is_the_one_the_scheduler_reads(tmp_path, names, ws):
    folder = tmp_path / f"f{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    for i, name in enumerate(names):
        (folder / name).write_bytes(b"x" * i)
    state, listing = folder_state(folder)
    assert ws.session.store.put_bytes(listing_bytes(listing)) == state
    assert parse_listing(ws.session.store.get_bytes(state)) == listing


def test_a_restarted_server_names_the_files_changed_since_the_last_fire(ws, published, tmp_path):
    """A real `canalis serve` fires, is stopped, a file lands and another goes, and a new
    server fires for exactly those two: it compares the folder with the listing the last
    fire stored, not with the folder as it found it when it started."""
    folder = _landing(ws, tmp_path, "kept.csv", "gone.csv")
    published.disable()
    schedule = Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data", datastore="landing")
    server = Server(ws.root, tmp_path / "server.log")
    server.start()
    try:
        (folder / "first.csv").write_text("first\n")
        wait_for(lambda: _fires(ws, schedule.id), "the first fire", timeout=120)
    finally:
        server.stop()
    (folder / "second.csv").write_text("landed while no server ran\n")
    (folder / "gone.csv").unlink()
    server.start()
    try:
        wait_for(lambda: len(_fires(ws, schedule.id)) >= 2, "the fire after the restart", timeout=120)
    finally:
        server.stop()
    fires = _fires(ws, schedule.id)
    assert [f.payload["changes"] for f in fires] == [["first.csv"], ["gone.csv", "second.csv"]]
    assert all(f.payload["listing_stored"] for f in fires)
    assert fires[1].payload["state"] == folder_state(folder)[0] == ws.ledger.schedule(schedule.id).last_listing


def test_each_fire_stores_its_listing_and_the_schedule_row_names_the_last(ws, published, tmp_path):
    folder = _landing(ws, tmp_path, "a.csv")
    published.disable()
    schedule = Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data", datastore="landing")
    scheduler = Scheduler(ws, settle=0)
    try:
        (folder / "b.csv").write_text("b\n")
        _look_until_fired(scheduler, ws, schedule.id)
    finally:
        scheduler.stop()
    fire = _fires(ws, schedule.id)[0]
    assert (fire.version, fire.stored_version, fire.payload["listing_stored"]) == (2, 2, True)
    state, listing = folder_state(folder)
    assert fire.payload["state"] == state
    assert parse_listing(ws.session.store.get_bytes(state, verify=True)) == listing
    row = ws.ledger.schedule(schedule.id)
    assert row.last_state == row.last_listing == state


def _fire_for(scheduler, ws, schedule_id, path, text):
    """Write `path` and look until the schedule fires once more; the fire's state."""
    count = len(_fires(ws, schedule_id))
    path.write_text(text)
    wait_for(lambda: scheduler.look() or len(_fires(ws, schedule_id)) > count, f"a fire for {path.name}", timeout=60)
    return _fires(ws, schedule_id)[-1].payload["state"]


def test_gc_keeps_the_last_fires_listing_only_and_verify_checks_it(ws, published, tmp_path):
    folder = _landing(ws, tmp_path, "a.csv")
    published.disable()
    schedule = Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data", datastore="landing")
    created = schedule._row.created_state
    scheduler = Scheduler(ws, settle=0)
    try:
        first = _fire_for(scheduler, ws, schedule.id, folder / "b.csv", "b\n")
        last = _fire_for(scheduler, ws, schedule.id, folder / "c.csv", "c\n")
    finally:
        scheduler.stop()
    store = ws.session.store
    assert len({created, first, last}) == 3 and all(store.exists(d) for d in (created, first, last))
    report = json.loads(canalis(ws.root, "gc", "--keep-last", "0", "--grace", "0s", "--json").stdout)
    assert report["kept"]["schedule"]["objects"] == 2
    assert (store.exists(created), store.exists(first), store.exists(last)) == (True, False, True)
    assert json.loads(canalis(ws.root, "verify", "--json").stdout)["ok"] is True
    store.delete_many([last])
    result = json.loads(canalis(ws.root, "verify", "--json", check=False).stdout)
    assert result["ok"] is False
    assert result["missing"] == [{"digest": last, "why": "folder listing of schedule on-data at its last fire"}]


def test_a_fire_recorded_without_its_listing_keeps_the_old_rule(ws, published, tmp_path):
    """A fire as a canalis before `schedule.triggered` v2 recorded it: its state only. verify
    asks for no listing, and the next fire names the files changed since the scheduler started
    looking (the listing behind that state is unknown)."""
    folder = _landing(ws, tmp_path, "a.csv")
    published.disable()
    schedule = Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data", datastore="landing")
    ws.ledger.append(ev.ScheduleTriggered(schedule_id=schedule.id, reason="data-change", changes=["x.csv"],
                                          state="0" * 64))
    row = ws.ledger.schedule(schedule.id)
    assert (row.last_state, row.last_listing) == ("0" * 64, None)
    assert json.loads(canalis(ws.root, "verify", "--json").stdout)["ok"] is True
    (folder / "before.csv").write_text("there when the scheduler started\n")
    scheduler = Scheduler(ws, settle=0)
    try:
        scheduler.look()  # starts watching: the folder as it is now is what the next fire is compared with
        _fire_for(scheduler, ws, schedule.id, folder / "after.csv", "after\n")
    finally:
        scheduler.stop()
    assert [f.payload["changes"] for f in _fires(ws, schedule.id)] == [["x.csv"], ["after.csv"]]


def test_a_listing_that_is_not_the_fires_state_is_refused(ws, published, tmp_path):
    import pytest

    from canalis.executor.errors import PublishError

    _landing(ws, tmp_path)
    schedule = Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data", datastore="landing")
    seq = ws.ledger.head()[0]
    listing = listing_bytes({"a.csv": (2, 1)})
    with pytest.raises(PublishError, match="is not the one of state"):
        ws.session.claim_schedule(schedule.id, "data-change", changes=["a.csv"], state="0" * 64, listing=listing)
    with pytest.raises(PublishError, match="a recurrence fire has no folder listing"):
        ws.session.claim_schedule(schedule.id, "recurrence", due="2030-01-01T00:00:00+00:00", listing=listing)
    assert ws.ledger.head()[0] == seq
    fire = ws.session.claim_schedule(schedule.id, "data-change", changes=["a.csv"], listing=listing)
    assert (fire.payload["state"], fire.payload["listing_stored"]) == (blake3(listing).hexdigest(), True)


def test_a_datastore_registered_at_another_folder_is_not_compared_with_the_old_one(ws, published, tmp_path):
    """After a fire, `landing` is registered again at another folder: what the schedule
    recorded of the old folder is forgotten, and the new folder is judged as a schedule
    recorded without a listing is (files not modified since the creation were there)."""
    folder = _landing(ws, tmp_path, "a.csv")
    published.disable()
    schedule = Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data", datastore="landing")
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "old.csv").write_text("there before the schedule\n")
    _set_mtime(moved / "old.csv", _created_at(ws, schedule.id) - HOUR)
    scheduler = Scheduler(ws, settle=0)
    try:
        _fire_for(scheduler, ws, schedule.id, folder / "b.csv", "b\n")
        Datastore.register_local(ws, "landing", str(moved), overwrite=True)
        row = ws.ledger.schedule(schedule.id)
        assert (row.created_state, row.last_state, row.last_listing) == (None, None, None)
        _fire_for(scheduler, ws, schedule.id, moved / "new.csv", "new\n")
    finally:
        scheduler.stop()
    assert [f.payload["changes"] for f in _fires(ws, schedule.id)] == [["b.csv"], ["new.csv"]]
    live = ws.ledger.projection_rows()
    ws.ledger.rebuild()
    assert ws.ledger.projection_rows() == live
