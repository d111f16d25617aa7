"""The plan is stored once by content: `run.submitted` (v3) names it by digest, a no-op
re-submit adds no plan bytes to the ledger, old rows with the plan inline still read, and
garbage collection keeps the document while a run names it."""
from __future__ import annotations

import json
import sqlite3

import pytest

from canalis.core import Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.ledger.storage import insert_text_rows
from canalis.ledger import Ledger
from canalis.ledger.canonical import canonical_json, event_hash
from canalis.ledger.errors import PlanDocumentMissing
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import write

STEP = """
import os, sys
open(os.path.join(sys.argv[1], "out.txt"), "w").write("x")
"""


def _pipeline(ws, src):
    write(src / "step.py", STEP)
    steps = []
    for i in range(3):
        out = OutputFileDatasetConfig(name=f"o{i}")
        steps.append(PythonScriptStep(name=f"s{i}", script_name="step.py", source_directory=str(src), arguments=[out]))
    return Pipeline(ws, steps)


def _raw_submitted(ws) -> list[tuple[int, dict]]:
    conn = sqlite3.connect(str(ws.root / ".canalis" / "ledger.db"))
    try:
        rows = conn.execute("SELECT version, payload FROM events WHERE type = 'run.submitted' ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [(v, json.loads(p)) for v, p in rows]


def test_a_resubmit_names_the_same_plan_document(ws, src):
    pipeline = _pipeline(ws, src)
    first = Experiment(ws, "docs").submit(pipeline)
    assert first.wait_for_completion() == "Completed"
    again = Experiment(ws, "docs").submit(pipeline)
    assert again.wait_for_completion() == "Completed"

    (v1, p1), (v2, p2) = _raw_submitted(ws)
    assert v1 == v2 == 3
    assert p1["plan"] == {} == p2["plan"]  # the rows hold no plan
    assert p1["plan_digest"] == p2["plan_digest"]
    stored = ws.store.get_bytes(p1["plan_digest"])
    doc = json.loads(stored)
    assert stored.decode() == canonical_json(doc)
    assert [s["name"] for s in doc["steps"]] == ["s0", "s1", "s2"]
    assert len(canonical_json(p2)) < len(stored)  # the event is smaller than the plan it names

    led = ws.session.ledger
    assert led.run_plan(again.id) == doc == led.run_plan(first.id)
    rec = next(led.events(stream=f"run:{again.id}", type="run.submitted"))
    assert rec.payload["plan"] == doc
    assert led.verify().ok


def test_a_ledger_opened_without_the_store_says_where_the_plan_is(ws, src):
    run = Experiment(ws, "docs").submit(_pipeline(ws, src))
    assert run.wait_for_completion() == "Completed"
    led = Ledger(ws.root / ".canalis" / "ledger.db")
    try:
        with pytest.raises(PlanDocumentMissing, match="open it through the workspace"):
            led.run_plan(run.id)
        assert led.run(run.id).status == "Completed"  # the projections do not need the plan
    finally:
        led.close()


def _append_v2_submitted(path, run_id: str, plan: dict) -> None:
    """A run.submitted row as canalis wrote it before version 3: the plan inline."""
    led = Ledger(path)
    seq, prev = led.head()
    led.close()
    payload = {"run_id": run_id, "experiment": "old", "kind": "pipeline", "parameters": {}, "tags": {}, "plan": plan,
               "git": None, "host": "h", "pid": 1, "user": "u", "description": None, "parent_run_id": None,
               "trigger": None}
    row = (seq + 1, f"old-{seq + 1}", "2026-01-02T03:04:05.000006Z", "run.submitted", 2, f"run:{run_id}",
           canonical_json(payload), prev)
    conn = sqlite3.connect(str(path))
    insert_text_rows(conn, [(*row[:7], event_hash(*row))])
    conn.commit()
    conn.close()


def test_an_old_row_with_the_plan_inline_reads_as_v3(ws, src):
    run = Experiment(ws, "docs").submit(_pipeline(ws, src))
    assert run.wait_for_completion() == "Completed"
    plan = ws.session.ledger.run_plan(run.id)
    path = ws.root / ".canalis" / "ledger.db"
    _append_v2_submitted(path, "old_1_abcdef01", plan)
    led = Ledger(path)  # no store needed for an inline plan
    try:
        rec = next(led.events(stream="run:old_1_abcdef01"))
        assert (rec.version, rec.stored_version) == (3, 2)
        assert rec.payload["plan_digest"] is None and rec.payload["plan"] == plan
        assert led.verify().ok
        led.rebuild()
        assert led.run("old_1_abcdef01").experiment == "old"
    finally:
        led.close()


def test_gc_keeps_the_plan_document_of_a_recorded_run(ws, src):
    from canalis.executor.gc import collect_garbage

    run = Experiment(ws, "docs").submit(_pipeline(ws, src))
    assert run.wait_for_completion() == "Completed"
    (_, payload), = _raw_submitted(ws)
    session = ws.session
    report = collect_garbage(session.ledger, session.store, session.locks_dir, keep_last=0, grace_seconds=0)
    assert report.runs_collected == 1  # the run's outputs may go; the plan that says what it was stays
    assert report.kept["plan of a recorded run"]["objects"] == 1
    assert session.store.exists(payload["plan_digest"])
    assert [s["name"] for s in session.ledger.run_plan(run.id)["steps"]] == ["s0", "s1", "s2"]
