"""Projections are pure folds: a shared suite runs every projection against random histories,
and rebuild() reproduces the live tables row for row."""
from __future__ import annotations

import copy
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.ledger import Ledger
from canalis.ledger import events as ev
from canalis.ledger.projections import PROJECTIONS, SPECS
from canalis.ledger.tables import MemoryTables, _sort_key
from .ledger_histories import SCHEDULE_ACTIONS, histories

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])


def _record(tmp_path, history, batch_sizes) -> Ledger:
    """Append `history`, sometimes one by one, sometimes in batches."""
    path = tmp_path / f"h{uuid.uuid4().hex}.db"  # hypothesis reuses tmp_path across examples
    led = Ledger(path)
    i = 0
    for size in batch_sizes:
        chunk = history[i:i + size]
        if len(chunk) == 1:
            led.append(chunk[0])
        elif chunk:
            led.append_many(chunk)
        i += size
    if i < len(history):
        led.append_many(history[i:])
    return led


def _sorted(rows_by_table, spec):
    return sorted(rows_by_table, key=lambda r: _sort_key(spec.key(r)))


@SETTINGS
@given(history=histories(), batches=st.lists(st.integers(1, 5), max_size=10))
def test_every_projection_folds_in_memory_as_in_sqlite(tmp_path, history, batches):
    """The shared suite: each projection, folded alone into MemoryTables holding only its own
    tables, equals what the ledger wrote live; apply never mutates the event."""
    led = _record(tmp_path, history, batches)
    try:
        recs = list(led.events())
        live = led.projection_rows()
        for projection in PROJECTIONS:
            mem = MemoryTables(projection.TABLES)
            for rec in recs:
                if rec.type in projection.TYPES:
                    before = copy.deepcopy(rec.payload)
                    projection.apply(rec, mem)
                    assert rec.payload == before, f"{projection.__name__}.apply mutated the event"
            again = MemoryTables(projection.TABLES)
            for rec in recs:
                if rec.type in projection.TYPES:
                    projection.apply(rec, again)
            assert again.dump() == mem.dump(), f"{projection.__name__} is not deterministic"
            for name, spec in projection.TABLES.items():
                assert _sorted(live[name], spec) == mem.dump()[name], f"{projection.__name__}: table {name}"
    finally:
        led.close()


@SETTINGS
@given(history=histories(max_events=60), batches=st.lists(st.integers(1, 8), max_size=10))
def test_rebuild_equals_live_projections(tmp_path, history, batches):
    led = _record(tmp_path, history, batches)
    try:
        live = led.projection_rows()
        led.rebuild()
        assert led.projection_rows() == live
        assert led.verify().ok
    finally:
        led.close()


@SETTINGS
@given(history=histories(max_events=60), batches=st.lists(st.integers(1, 8), max_size=10))
def test_a_log_with_compressed_payloads_replays_to_the_same_projections(tmp_path, history, batches):
    """As above, with payload dictionaries from the 4th event on (a raw-content dictionary of
    the samples stands in for the trainer, which needs more events than an example holds):
    events read back, folded again and verified through their compressed payloads."""
    from canalis.ledger import log, payloads

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(payloads, "FIRST_TRAINING", 4)
        mp.setattr(log, "train", lambda samples: b"".join(samples)[-4096:] or None)
        led = _record(tmp_path, history, batches)
        try:
            written = [(r.seq, r.payload) for r in led.events()]
            live = led.projection_rows()
            led.rebuild()
            assert led.projection_rows() == live
            assert led.verify().ok
            blobs = led._conn.execute("SELECT count(*) FROM event_log WHERE typeof(payload) = 'blob'").fetchone()[0]
            assert blobs > 0 or len(history) < 4
            assert [(r.seq, r.payload) for r in led.events()] == written
        finally:
            led.close()


def test_every_table_is_owned_by_one_projection():
    names = [n for m in PROJECTIONS for n in m.TABLES]
    assert len(names) == len(set(names)) == len(SPECS)
    assert set(SPECS) >= {"runs", "step_runs", "metrics", "datasets", "models", "pipelines", "schedules",
                          "experiments", "reuse_index"}


# -- the queries the executor and the CLI use --------------------------------------------------------


def _run(led, rid="r1", experiment="exp"):
    led.append(ev.RunSubmitted(run_id=rid, experiment=experiment, parameters={"lr": 0.1}, plan={"steps": ["a"]},
                               host="h", pid=7, user="me"))


def test_run_status_moves_queued_running_completed(led):
    _run(led)
    assert led.run("r1").status == "Queued"
    led.append(ev.StepStarted(run_id="r1", step_run_id="s1", step_name="a", reuse_key="k"))
    run = led.run("r1")
    assert run.status == "Running" and run.started_at
    led.append(ev.RunCompleted(run_id="r1", duration_s=3.5))
    run = led.run("r1")
    assert (run.status, run.duration_s, run.parameters) == ("Completed", 3.5, {"lr": 0.1})
    assert led.run_plan("r1") == {"steps": ["a"]}
    assert led.run("nope") is None


def test_failed_then_resumed_run_is_running_again(led):
    _run(led)
    led.append(ev.RunFailed(run_id="r1", error="step a failed", failed_steps=["a"]))
    assert led.run("r1").status == "Failed" and led.run("r1").failed_steps == ["a"]
    led.append(ev.RunStarted(run_id="r1", host="h", pid=8, resumed=True))
    run = led.run("r1")
    assert (run.status, run.error, run.finished_at) == ("Running", None, None)


def test_step_runs_in_plan_order_and_reuse_candidates_newest_first(led):
    _run(led)
    for sid, name in (("s2", "b"), ("s1", "a")):
        led.append(ev.StepStarted(run_id="r1", step_run_id=sid, step_name=name, reuse_key="k" + name))
    led.append(ev.StepCompleted(run_id="r1", step_run_id="s1", step_name="a", reuse_key="ka", outputs={"o": "d1"}))
    led.append(ev.StepFailed(run_id="r1", step_run_id="s2", step_name="b", reuse_key="kb", error="boom", exit_code=1))
    assert [s.step_name for s in led.step_runs("r1")] == ["b", "a"]
    assert led.step_run("s2").status == "Failed" and led.step_run("s2").exit_code == 1
    _run(led, "r2")
    led.append(ev.StepStarted(run_id="r2", step_run_id="s3", step_name="a", reuse_key="ka"))
    led.append(ev.StepCompleted(run_id="r2", step_run_id="s3", step_name="a", reuse_key="ka", outputs={"o": "d2"},
                                allow_reuse=False))
    led.append(ev.StepReused(run_id="r2", step_run_id="s4", step_name="a", reuse_key="ka", reused_from="s3",
                             reused_run_id="r2", outputs={"o": "d2"}))
    cands = led.reuse_candidates("ka")
    assert [(c.step_run_id, c.run_id, c.outputs) for c in cands] == [("s3", "r2", {"o": "d2"}),
                                                                     ("s1", "r1", {"o": "d1"})]
    assert all(c.completed_at for c in cands)
    assert led.step_run("s4").status == "Reused" and led.step_run("s4").reused_from == "s3"
    assert [r.run_id for r in led.runs()] == ["r2", "r1"]
    assert [r.run_id for r in led.runs(limit=1)] == ["r2"]


def test_metrics_in_logged_order_with_kinds(led):
    _run(led)
    led.append(ev.MetricLogged(run_id="r1", name="acc", value=0.5))
    led.append(ev.MetricLogged(run_id="r1", step_run_id="s1", name="curve", kind="list", value=[1, 2, 3]))
    led.append(ev.MetricLogged(run_id="r1", step_run_id="s1", name="cm", kind="table", value={"a": [1], "b": [2]}))
    assert [(m.name, m.kind) for m in led.metrics("r1")] == [("acc", "scalar"), ("curve", "list"), ("cm", "table")]
    assert [m.value for m in led.metrics(step_run_id="s1")] == [[1, 2, 3], {"a": [1], "b": [2]}]


def test_datasets_models_experiments_pipelines_schedules(led):
    for v in (1, 2):
        led.append(ev.DatasetRegistered(name="iris", version=v, id=f"id{v}", digest=f"t{v}", tags={"v": v}))
    led.append(ev.DatasetRegistered(name="wine", version=1, id="w1", kind="tabular", digest="tw"))
    assert [(d.name, d.version) for d in led.datasets()] == [("iris", 2), ("wine", 1)]
    assert [d.version for d in led.dataset_versions("iris")] == [1, 2]
    assert led.dataset("iris").digest == "t2" and led.dataset("iris", 1).tags == {"v": 1}
    assert led.dataset("nope") is None
    lineage = {"run_id": "r1", "datasets": [{"name": "iris", "version": 2}]}
    led.append(ev.ModelRegistered(name="clf", version=1, id="m1", digest="tm", lineage=lineage))
    assert led.model("clf").lineage == lineage and [m.name for m in led.models()] == ["clf"]
    led.append(ev.EnvironmentRegistered(name="env", version=1, id="e1", digest="te", definition={"a": 1}))
    assert led.registration("environments", "env").definition == {"a": 1}
    _run(led, "r1", "e1")
    _run(led, "r2", "e1")
    _run(led, "r3", "e2")
    exps = {e.name: e for e in led.experiments()}
    assert exps["e1"].run_count == 2 and exps["e2"].run_count == 1 and exps["e1"].last_run_at
    assert [r.run_id for r in led.runs(experiment="e1")] == ["r2", "r1"]
    led.append(ev.PipelinePublished(pipeline_id="p1", name="train", plan={}, snapshots=["s"]))
    led.append(ev.PipelineDisabled(pipeline_id="p1"))
    assert led.pipeline("p1").enabled is False
    led.append(ev.ScheduleCreated(schedule_id="sc1", name="n", pipeline_id="p1", experiment="e1"))
    led.append(ev.ScheduleDisabled(schedule_id="sc1"))
    led.append(ev.ScheduleEnabled(schedule_id="sc1"))
    assert led.schedules()[0].enabled is True


def _folder_states(history) -> dict:
    """A model of what `schedules` knows of a watched folder (`created_state`, `last_state`,
    `last_listing`): the state `schedule.created` recorded, and the state of the last
    data-change fire (its listing's digest when the fire stored it), until an update points the
    schedule at another datastore or folder, or its datastore is registered at a path other than
    the one known: either clears all three."""
    model, watched, paths = {}, {}, {}
    for e in history:
        if isinstance(e, ev.ScheduleCreated):
            model[e.schedule_id] = [e.state, None, None]
            watched[e.schedule_id] = {"datastore": e.datastore, "path_on_datastore": e.path_on_datastore}
        elif isinstance(e, ev.ScheduleUpdated) and e.schedule_id in model:
            moved = {k: v for k, v in e.changes.items() if k in watched[e.schedule_id]}
            if any(watched[e.schedule_id][k] != v for k, v in moved.items()):
                model[e.schedule_id] = [None, None, None]
            watched[e.schedule_id].update(moved)
        elif isinstance(e, ev.ScheduleTriggered) and e.schedule_id in model and e.state:
            model[e.schedule_id][1:] = [e.state, e.state if e.listing_stored else None]
        elif isinstance(e, ev.DatastoreRegistered):
            if paths.get(e.name) != e.path:
                for sid in model:
                    if watched[sid]["datastore"] == e.name:
                        model[sid] = [None, None, None]
            paths[e.name] = e.path
    return {sid: tuple(states) for sid, states in model.items()}


@SETTINGS
@given(history=histories(max_events=60) | histories(max_events=30, actions=SCHEDULE_ACTIONS),
       batches=st.lists(st.integers(1, 8), max_size=10))
def test_a_schedule_keeps_its_folder_states_until_it_watches_another_folder(tmp_path, history, batches):
    led = _record(tmp_path, history, batches)
    try:
        states = lambda: {r.schedule_id: (r.created_state, r.last_state, r.last_listing)  # noqa: E731
                          for r in led.schedules()}
        assert states() == _folder_states(history)
        led.rebuild()
        assert states() == _folder_states(history)
    finally:
        led.close()


def test_the_folder_state_at_creation_survives_settings_that_keep_the_folder(led):
    led.append(ev.PipelinePublished(pipeline_id="p1", name="train", plan={}, snapshots=["s"]))
    led.append(ev.ScheduleCreated(schedule_id="sc1", name="n", pipeline_id="p1", experiment="e1", datastore="landing",
                                  path_on_datastore="in", polling_interval=5.0, state="a" * 64))
    assert led.schedule("sc1").created_state == "a" * 64
    led.append(ev.ScheduleUpdated(schedule_id="sc1", changes={"polling_interval": 1.0, "path_on_datastore": "in"}))
    led.append(ev.ScheduleTriggered(schedule_id="sc1", reason="data-change", changes=["x"], state="b" * 64))
    row = led.schedule("sc1")
    assert (row.created_state, row.last_state, row.polling_interval) == ("a" * 64, "b" * 64, 1.0)
    led.append(ev.ScheduleUpdated(schedule_id="sc1", changes={"path_on_datastore": "other"}))
    row = led.schedule("sc1")  # they described the folder watched before
    assert (row.created_state, row.last_state, row.last_listing) == (None, None, None)


def test_a_datastore_registered_at_another_path_clears_its_schedules_folder_states(led):
    led.append(ev.PipelinePublished(pipeline_id="p1", name="train", plan={}, snapshots=["s"]))
    led.append(ev.DatastoreRegistered(name="landing", kind="local", path="/data/landing"))
    for sid, store in (("sc1", "landing"), ("sc2", "archive")):
        led.append(ev.ScheduleCreated(schedule_id=sid, name=sid, pipeline_id="p1", experiment="e1", datastore=store,
                                      polling_interval=5.0, state="a" * 64))
        led.append(ev.ScheduleTriggered(schedule_id=sid, reason="data-change", changes=["x"], state="b" * 64,
                                        listing_stored=True))
    states = lambda sid: (lambda r: (r.created_state, r.last_state, r.last_listing))(led.schedule(sid))  # noqa: E731
    led.append(ev.DatastoreRegistered(name="landing", kind="local", path="/data/landing"))  # the same folder
    assert states("sc1") == ("a" * 64, "b" * 64, "b" * 64)
    led.append(ev.DatastoreRegistered(name="landing", kind="local", path="/mnt/landing"))
    assert states("sc1") == (None, None, None)
    assert states("sc2") == ("a" * 64, "b" * 64, "b" * 64)  # another datastore
    live = led.projection_rows()
    led.rebuild()
    assert led.projection_rows() == live
    led.append(ev.ScheduleUpdated(schedule_id="sc2", changes={"datastore": "landing"}))
    led.append(ev.ScheduleTriggered(schedule_id="sc2", reason="data-change", changes=["x"], state="c" * 64,
                                    listing_stored=True))
    led.append(ev.DatastoreRegistered(name="archive", kind="local", path="/mnt/archive"))
    assert states("sc2") == (None, "c" * 64, "c" * 64)  # it no longer watches archive
    led.append(ev.DatastoreRegistered(name="landing", kind="local", path="/data/landing"))
    assert states("sc2") == (None, None, None)
