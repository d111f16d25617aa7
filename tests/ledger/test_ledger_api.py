"""The Ledger API the executor calls: appends, reads by stream/type/since, head, formats."""
from __future__ import annotations

import re
import sqlite3
import uuid

import pytest

from canalis.ledger import FORMAT_VERSION, Ledger, Recorded
from canalis.ledger import events as ev
from canalis.ledger.errors import LedgerError, LedgerFormatError
from .ledger_helpers import sample_events

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_recorded_fields(led):
    rec = led.append(ev.RunSubmitted(run_id="r1", experiment="e", parameters={"ü": "ñ"}))
    assert isinstance(rec, Recorded)
    assert (rec.seq, rec.type, rec.version, rec.stream) == (1, "run.submitted", 3, "run:r1")
    assert TIME.match(rec.time) and uuid.UUID(rec.id).version == 4
    assert rec.payload["parameters"] == {"ü": "ñ"}
    assert rec.event() == ev.RunSubmitted(run_id="r1", experiment="e", parameters={"ü": "ñ"})
    assert next(led.events()) == rec


def test_append_many_is_consecutive_and_empty_is_a_no_op(led):
    assert led.append_many([]) == []
    recs = led.append_many(sample_events(10))
    assert [r.seq for r in recs] == list(range(1, 11))
    assert all(b.prev_hash == a.hash for a, b in zip(recs, recs[1:]))
    times = [r.time for r in recs]
    assert times == sorted(times)


def test_reading_by_stream_type_prefix_and_since(led):
    led.append_many(sample_events(11, "r1") + sample_events(5, "r2"))
    assert {r.stream for r in led.events(stream="run:r2")} == {"run:r2"}
    assert sum(1 for _ in led.events(stream="run:r2")) == 5
    steps = list(led.events(type="step."))
    assert steps and {r.type for r in steps} == {"step.started", "step.completed"}
    assert [r.seq for r in led.events(type="step")] == [r.seq for r in steps]
    assert all(r.type == "step.started" for r in led.events(type="step.started"))
    assert list(led.events(type="ste")) == []
    assert [r.seq for r in led.events(since=14)] == [15, 16]
    assert [r.seq for r in led.events(stream="run:r1", type="metric.logged", since=4)] == [7, 10]
    assert [r.seq for r in led.events(chunk=3)] == list(range(1, 17))


def test_head_follows_appends_from_another_ledger_object(tmp_path):
    a, b = Ledger(tmp_path / "l.db"), Ledger(tmp_path / "l.db")
    a.append_many(sample_events(3))
    rec = b.append(ev.RunCompleted(run_id="r1", duration_s=1.0))
    assert rec.seq == 4 and a.head() == (4, rec.hash)
    assert a.append(ev.RunTagged(run_id="r1", tags={"x": "y"})).prev_hash == rec.hash
    assert a.verify().ok
    a.close()
    b.close()


def test_a_missing_projection_table_is_recreated_and_refilled_on_open(tmp_path):
    led = Ledger(tmp_path / "l.db")
    led.append_many(sample_events(9))
    before = led.projection_rows()
    led.close()
    conn = sqlite3.connect(str(tmp_path / "l.db"))
    conn.execute("DROP TABLE step_runs")
    conn.commit()
    conn.close()
    with Ledger(tmp_path / "l.db") as led:
        assert led.projection_rows() == before


def test_unknown_format_is_refused(tmp_path):
    Ledger(tmp_path / "l.db").close()
    conn = sqlite3.connect(str(tmp_path / "l.db"))
    conn.execute("UPDATE ledger_meta SET value = '7' WHERE key = 'format'")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerFormatError, match="format '7'"):
        Ledger(tmp_path / "l.db")
    assert issubclass(LedgerFormatError, LedgerError) and FORMAT_VERSION == 2


def test_rebuild_of_an_empty_ledger_keeps_every_table(led):
    led.rebuild()
    assert led.runs() == [] and led.experiments() == []
    assert {"events", "runs", "datasets", "models", "environments"} <= set(led.projection_rows()) | {"events"}
    assert not hasattr(led, "db")  # the connection is the ledger's own: readers use its queries


def test_importing_the_ledger_does_not_import_pandas():
    import subprocess
    import sys

    code = "import sys, canalis.ledger.log; print('pandas' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_projections_built_under_other_rules_are_rebuilt_on_open(tmp_path):
    import sqlite3

    from canalis.ledger import Ledger
    from canalis.ledger import events as ev

    path = tmp_path / "ledger.db"
    led = Ledger(path)
    led.append(ev.RunSubmitted(run_id="r1", experiment="e", kind="pipeline", parameters={}, tags={}, plan={}))
    led.close()
    conn = sqlite3.connect(path)  # as if an older canalis had built the tables: wrong layout, wrong content
    conn.execute("DROP TABLE runs")
    conn.execute("CREATE TABLE runs (run_id TEXT, stale TEXT)")
    conn.execute("UPDATE ledger_meta SET value = 'older' WHERE key = 'projections'")
    conn.commit()
    conn.close()
    led = Ledger(path)
    assert led.run("r1").experiment == "e"
    assert led.verify().ok
    led.append(ev.RunStarted(run_id="r1", host="h", pid=1, resumed=False))
    assert led.run("r1").status == "Running"


def test_append_computed_decides_inside_the_write_transaction(led):
    led.append(ev.RunSubmitted(run_id="r1", experiment="e", parameters={}))
    seen = []

    def decide():
        seen.append(led.head()[0])  # reads through the ledger while holding the write lock
        return [] if led.count() > 1 else [ev.RunSubmitted(run_id="r2", experiment="e", parameters={})]

    (rec,) = led.append_computed(decide)
    assert rec.seq == 2 and seen == [1]
    assert led.append_computed(decide) == [] and led.count() == 2  # nothing to append

    def refuse():
        raise ValueError("the caller's own check failed")

    with pytest.raises(ValueError):
        led.append_computed(refuse)
    assert led.count() == 2 and led.verify().ok
