"""Closing the ledger: the last connection to close removes `-wal` and `-shm`, even when another
process closes at the same moment, because closes take turns (ledger/log.py, `close_in_turn`)."""
from __future__ import annotations

from canalis.ledger import Ledger
from canalis.ledger import events as ev
from tests.closing_elsewhere import close_beside_another, wal_files


def test_a_close_waits_while_another_process_closes_and_then_removes_the_files(tmp_path):
    led = Ledger(tmp_path / "ledger.db")
    led.append(ev.RunTagged(run_id="r1", tags={"x": "y"}))
    waited = close_beside_another(led.close, led.path, tmp_path)
    assert wal_files(tmp_path) == []  # this close was the last: checkpointed, files removed
    assert waited  # for the other process's close to end
    with Ledger(tmp_path / "ledger.db") as again:
        assert [r.type for r in again.events()] == ["run.tagged"]


def test_closing_twice_does_nothing_more_and_a_lone_close_removes_the_files(tmp_path):
    led = Ledger(tmp_path / "ledger.db")
    led.append(ev.RunTagged(run_id="r1", tags={"x": "y"}))
    led.close()
    assert wal_files(tmp_path) == []
    led.close()
    assert wal_files(tmp_path) == []
