"""Older event versions are read as the current version: metric.logged v1 -> v2 -> v3, ..."""
from __future__ import annotations

import json
import sqlite3

import pytest

from canalis.ledger.storage import insert_text_rows
from canalis.ledger import Ledger
from canalis.ledger import events as ev
from canalis.ledger.canonical import canonical_json, event_hash
from canalis.ledger.errors import EventValidationError
from canalis.ledger.upcast import UPCASTERS, upcast


def _write_v1_metric(led: Ledger, payload: dict, type_: str = "metric.logged", version: int = 1,
                     stream: str | None = None) -> int:
    """Append an old row (metric.logged v1 by default) straight into SQLite, chained correctly, as an old canalis did."""
    seq, prev = led.head()
    seq += 1
    text = canonical_json(payload)
    row = (seq, f"old-event-id-{seq}", "2025-01-02T03:04:05.000006Z", type_, version,
           stream or f"run:{payload['run_id']}", text, prev)
    h = event_hash(*row)
    conn = sqlite3.connect(str(led.path))
    insert_text_rows(conn, [(*row[:7], h)])
    conn.commit()
    conn.close()
    return seq


def test_metric_logged_v1_row_reads_as_current_scalar(led):
    led.append(ev.RunSubmitted(run_id="r1", experiment="e"))
    seq = _write_v1_metric(led, {"run_id": "r1", "step_run_id": None, "name": "acc", "value": 0.75, "description": None})
    rec = next(led.events(type="metric.logged"))
    assert (rec.seq, rec.version, rec.stored_version) == (seq, 3, 1)
    assert rec.payload["kind"] == "scalar" and rec.payload["value"] == 0.75
    assert rec.event() == ev.MetricLogged(run_id="r1", name="acc", kind="scalar", value=0.75)
    assert led.verify().ok  # the stored row is untouched; its hash covers version 1
    led.rebuild()
    assert [(m.name, m.kind, m.value) for m in led.metrics("r1")] == [("acc", "scalar", 0.75)]
    new = led.append(ev.MetricLogged(run_id="r1", name="loss", kind="list", value=[1, 2]))
    assert new.version == 3 and led.verify().ok
    export = [json.loads(line) for line in _export(led)]
    assert [e["version"] for e in export if e["type"] == "metric.logged"] == [1, 3]


def test_v1_without_optional_fields_upcasts(led):
    _write_v1_metric(led, {"run_id": "r1", "name": "acc", "value": 1})
    rec = next(led.events())
    assert rec.payload == {"run_id": "r1", "name": "acc", "value": 1, "kind": "scalar", "step_run_id": None,
                           "description": None, "by_step_run_id": None}


def test_metric_logged_v2_row_reads_as_v3_logged_by_no_known_step(led):
    # a v2 row does not say which step logged it: null, also for a metric of a step run
    _write_v1_metric(led, {"run_id": "r1", "step_run_id": "s1", "name": "acc", "kind": "scalar", "value": 0.5,
                           "description": None}, version=2)
    rec = next(led.events(type="metric.logged"))
    assert (rec.version, rec.stored_version) == (3, 2)
    assert rec.event() == ev.MetricLogged(run_id="r1", step_run_id="s1", name="acc", value=0.5, by_step_run_id=None)
    led.rebuild()
    assert [(m.step_run_id, m.by_step_run_id) for m in led.metrics("r1")] == [("s1", None)]
    assert led.verify().ok


def test_a_version_newer_than_known_is_refused():
    with pytest.raises(EventValidationError, match="version 3"):
        upcast("metric.logged", 3, {}, 2)


def test_every_registered_type_with_history_has_a_full_upcaster_chain():
    for type_, cls in ev.REGISTRY.items():
        for v in range(1, cls.event_version):
            assert (type_, v) in UPCASTERS, f"{type_} v{v} has no upcaster"


def _export(led):
    import io

    buf = io.StringIO()
    led.export_jsonl(buf)
    return buf.getvalue().splitlines()


def test_step_started_v1_row_reads_as_v2_without_inputs(led):
    led.append(ev.RunSubmitted(run_id="r1", experiment="e"))
    seq = _write_v1_metric(led, {"run_id": "r1", "step_run_id": "s1", "step_name": "a", "reuse_key": "k",
                                 "attempt": 1, "pid": None}, type_="step.started")
    rec = next(led.events(type="step.started"))
    assert (rec.seq, rec.version, rec.stored_version) == (seq, 2, 1)
    assert rec.payload["inputs"] == []
    assert led.verify().ok
    led.append(ev.StepStarted(run_id="r1", step_run_id="s2", step_name="b", reuse_key="k2", inputs=[["data", "d" * 64]]))
    assert led.step_run("s2").inputs == [["data", "d" * 64]]


def _write_v1(led: Ledger, type_: str, stream: str, payload: dict) -> None:
    """Append a version 1 row of any type straight into SQLite, chained correctly."""
    seq, prev = led.head()
    row = (seq + 1, f"old-event-id-{seq + 1}", "2025-01-02T03:04:05.000006Z", type_, 1, stream, canonical_json(payload), prev)
    conn = sqlite3.connect(str(led.path))
    insert_text_rows(conn, [(*row[:7], event_hash(*row))])
    conn.commit()
    conn.close()


def test_registrations_of_version_1_read_as_the_shared_registration_shape(led):
    """Datasets, models and environments recorded before the shared shape read as today's
    events: ids, digests and lineage under the same names for all three."""
    _write_v1(led, "dataset.registered", "dataset:iris", {
        "name": "iris", "version": 1, "dataset_id": "d1", "kind": "tabular", "tree": "t" * 64, "description": None,
        "tags": {}, "source": {"run_id": "r1", "step_run_id": "s1", "output": "o", "options": {"separator": ";"}},
        "run_id": "r1"})
    _write_v1(led, "model.registered", "model:clf", {
        "name": "clf", "version": 1, "model_id": "m1", "tree": "m" * 64, "tags": {}, "properties": {},
        "description": None, "run_id": "r1", "datasets": [{"name": "iris", "version": 1}]})
    _write_v1(led, "environment.registered", "environment:env", {
        "name": "env", "version": 1, "digest": "e" * 64, "definition": {"name": "env"}})
    assert led.verify().ok
    led.rebuild()
    ds = led.dataset("iris")
    assert (ds.id, ds.digest, ds.options) == ("d1", "t" * 64, {"separator": ";"})
    assert ds.lineage == {"run_id": "r1", "step_run_id": "s1", "output": "o"}
    model = led.model("clf")
    assert (model.id, model.digest) == ("m1", "m" * 64)
    assert model.lineage == {"run_id": "r1", "datasets": [{"name": "iris", "version": 1}]}
    env = led.registration("environments", "env")
    assert (env.id, env.digest, env.definition) == ("env:1", "e" * 64, {"name": "env"})
    for type_ in ("dataset.registered", "model.registered", "environment.registered"):
        assert next(led.events(type=type_)).stored_version == 1


def test_schedule_created_v2_row_reads_as_v3_without_a_folder_state(led):
    """A data-change schedule recorded before v3 did not record its folder: `state` is null,
    and so is the row's `created_state` (the scheduler infers the folder from modification times)."""
    led.append(ev.PipelinePublished(pipeline_id="p1", name="train", plan={}, snapshots=["s"]))
    seq, prev = led.head()
    payload = {"schedule_id": "sc1", "name": "on-data", "pipeline_id": "p1", "experiment": "e", "recurrence": None,
               "parameters": {}, "pipeline_endpoint_id": None, "description": None, "datastore": "landing",
               "path_on_datastore": "in", "polling_interval": 5.0, "continue_on_step_failure": None}
    row = (seq + 1, f"old-event-id-{seq + 1}", "2025-01-02T03:04:05.000006Z", "schedule.created", 2, "schedule:sc1",
           canonical_json(payload), prev)
    conn = sqlite3.connect(str(led.path))
    insert_text_rows(conn, [(*row[:7], event_hash(*row))])
    conn.commit()
    conn.close()
    rec = next(led.events(type="schedule.created"))
    assert (rec.seq, rec.version, rec.stored_version) == (seq + 1, 3, 2)
    assert rec.payload == {**payload, "state": None}
    assert rec.event() == ev.ScheduleCreated(schedule_id="sc1", name="on-data", pipeline_id="p1", experiment="e",
                                             datastore="landing", path_on_datastore="in", polling_interval=5.0)
    assert led.verify().ok
    led.rebuild()
    sched = led.schedule("sc1")
    assert (sched.datastore, sched.created_state, sched.created_at) == ("landing", None, "2025-01-02T03:04:05.000006Z")
    export = [json.loads(line) for line in _export(led)]
    assert [e["version"] for e in export if e["type"] == "schedule.created"] == [2]


def test_schedule_triggered_v1_row_reads_as_v2_without_a_stored_listing(led):
    """A fire recorded before v2 did not store its folder's listing: `listing_stored` is false,
    and the row's `last_listing` is null even when an earlier fire stored one (it describes
    another state)."""
    led.append(ev.PipelinePublished(pipeline_id="p1", name="train", plan={}, snapshots=["s"]))
    led.append(ev.ScheduleCreated(schedule_id="sc1", name="n", pipeline_id="p1", experiment="e", datastore="landing",
                                  polling_interval=5.0, state="a" * 64))
    led.append(ev.ScheduleTriggered(schedule_id="sc1", reason="data-change", changes=["x"], state="b" * 64,
                                    listing_stored=True))
    assert led.schedule("sc1").last_listing == "b" * 64
    payload = {"schedule_id": "sc1", "reason": "data-change", "due": None, "changes": ["y"], "state": "c" * 64,
               "host": "h", "pid": 7}
    seq = _write_v1_metric(led, payload, "schedule.triggered", 1, "schedule:sc1")
    rec = list(led.events(type="schedule.triggered"))[-1]
    assert (rec.seq, rec.version, rec.stored_version) == (seq, 2, 1)
    assert rec.payload == {**payload, "listing_stored": False}
    assert led.verify().ok
    led.rebuild()
    row = led.schedule("sc1")
    assert (row.created_state, row.last_state, row.last_listing, row.trigger_count) == ("a" * 64, "c" * 64, None, 2)
