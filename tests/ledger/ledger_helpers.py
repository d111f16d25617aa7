"""Helpers shared by the ledger tests."""
from __future__ import annotations

import sqlite3

from canalis.ledger import events as ev


def sample_events(n: int, run_id: str = "r1") -> list[ev.Event]:
    """A plausible run: submitted, started, steps completing, metrics."""
    out: list[ev.Event] = [ev.RunSubmitted(run_id=run_id, experiment="exp", host="h", pid=1, user="u"),
                           ev.RunStarted(run_id=run_id, host="h", pid=1)]
    i = 0
    while len(out) < n:
        sid = f"{run_id}.s{i}"
        out += [
            ev.StepStarted(run_id=run_id, step_run_id=sid, step_name=f"step{i}", reuse_key=f"key{i % 7}"),
            ev.MetricLogged(run_id=run_id, step_run_id=sid, name="loss", value=1.0 / (i + 1)),
            ev.StepCompleted(run_id=run_id, step_run_id=sid, step_name=f"step{i}", reuse_key=f"key{i % 7}",
                             outputs={"out": f"{i:064x}"}, duration_s=0.5),
        ]
        i += 1
    return out[:n]


def tamper(path, *statements, params=()):
    """Edit the ledger file behind canalis's back, as an attacker with sqlite3 could."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
    for sql in statements:
        conn.execute(sql, params)
    conn.close()
