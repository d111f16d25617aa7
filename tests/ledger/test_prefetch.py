"""A batch of events reads the rows its folds will read together (`projections.prefetch`,
`SqliteTables.prefetch`): one query, and every `get` answers as it would have alone."""
from __future__ import annotations

import sqlite3
import uuid

from hypothesis import given, settings, strategies as st

from canalis.ledger import Ledger
from canalis.ledger import events as ev
from canalis.ledger.projections import SPECS
from canalis.ledger.tables import SqliteTables

IDS = [str(uuid.UUID(int=i, version=4)) for i in range(1, 9)] + ["not-a-uuid", "Upper-CASE"]


def _table_with(rows_ids) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    spec = SPECS["step_runs"]
    conn.execute(f"CREATE TABLE [{spec.name}] ({', '.join(spec.names)}, PRIMARY KEY (step_run_id))")
    for i, sid in enumerate(rows_ids):
        row = spec.blank(step_run_id=sid, run_id="r", step_name=f"s{i}", plan_order=i, tags={"i": i}, last_seq=i)
        conn.execute(spec.insert_sql, spec.encode(row))
    return conn


@settings(max_examples=60, deadline=None)
@given(stored=st.lists(st.sampled_from(IDS), unique=True), asked=st.lists(st.sampled_from(IDS), max_size=12),
       before=st.lists(st.sampled_from(IDS), max_size=3))
def test_prefetched_rows_answer_as_rows_read_one_by_one(stored, asked, before):
    conn = _table_with(stored)
    alone, batched = SqliteTables(conn, SPECS), SqliteTables(conn, SPECS)
    for k in before:  # rows already read (cached) stay as read
        assert batched.get("step_runs", k) == alone.get("step_runs", k)
    statements = []
    conn.set_trace_callback(statements.append)
    batched.prefetch("step_runs", asked)
    conn.set_trace_callback(None)
    assert len(statements) == (1 if set(asked) - set(before) else 0)
    statements.clear()
    conn.set_trace_callback(statements.append)
    got = [batched.get("step_runs", k) for k in asked]
    conn.set_trace_callback(None)
    assert statements == []  # every key asked was answered by the prefetch
    assert got == [alone.get("step_runs", k) for k in asked]


def test_a_batch_of_step_events_reads_their_step_runs_with_one_query(tmp_path):
    led = Ledger(tmp_path / "ledger.db")
    led.append(ev.RunSubmitted(run_id="r1", experiment="e", kind="pipeline", parameters={}, tags={}, plan={},
                               git=None, host="h", pid=1, user="u", description=None, parent_run_id=None,
                               trigger=None, plan_digest=None))
    steps = [ev.StepReused(run_id="r1", step_run_id=str(uuid.uuid4()), step_name=f"s{i}", reuse_key="k" * 64,
                           reused_from=str(uuid.uuid4()), reused_run_id="r0", outputs={f"o{i}": "d" * 64})
             for i in range(5)]
    statements = []
    led._conn.set_trace_callback(statements.append)
    led.append_many(steps)
    led._conn.set_trace_callback(None)
    reads = [s for s in statements if s.startswith("SELECT") and "FROM [step_runs]" in s]
    assert len(reads) == 1, reads
    assert [r.step_name for r in led.step_runs("r1")] == [f"s{i}" for i in range(5)]
    led.close()
