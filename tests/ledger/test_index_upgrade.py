"""A ledger whose projections were built under the current layout but for their indexes gets
the current indexes in place when it is opened (ledger/log.py `_indexes_only`): no replay of its
events, the same rows, exactly the spec's indexes. Any other difference is still rebuilt."""
from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canalis.ledger import Ledger
from canalis.ledger import events as ev
from canalis.ledger.projections import SPECS, file_indexes, fingerprint

TABLES = sorted(SPECS)


def _history(path: Path) -> dict:
    led = Ledger(path)
    try:
        for i in range(12):
            led.append(ev.RunSubmitted(run_id=f"r{i}", experiment=f"e{i % 3}"))
            if i % 2:
                led.append(ev.RunCompleted(run_id=f"r{i}", duration_s=1.0))
    finally:
        led.close()
    return _rows(path)


def _rows(path: Path) -> dict:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT * FROM [{t}] ORDER BY 1").fetchall() for t in TABLES}
    finally:
        conn.close()


def _build_with(path: Path, indexes: dict[str, list[tuple[str, ...]]], meta: str) -> None:
    """Make the file's projection indexes `indexes` (created in that order) and its recorded
    projections fingerprint `meta`: as an older canalis would have left it."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx%'").fetchall():
            conn.execute(f"DROP INDEX [{name}]")
        for table, cols_list in indexes.items():
            for cols in cols_list:
                conn.execute(f"CREATE INDEX [{SPECS[table].index_name(cols)}] ON [{table}] ({', '.join(cols)})")
        conn.execute("UPDATE ledger_meta SET value = ? WHERE key = 'projections'", (meta,))
    finally:
        conn.close()


@pytest.fixture
def no_rebuild(monkeypatch):
    calls = []
    monkeypatch.setattr(Ledger, "rebuild", lambda self, *a, **k: calls.append(1))
    return calls


def _columns(table):
    return [c for c, _ in SPECS[table].columns if c not in SPECS[table].pk][:4]


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_an_index_only_change_is_made_in_place(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.db"
        rows = _history(path)
        older = {}
        for table in TABLES:  # some of the spec's indexes, some others, in any order
            pool = list(dict.fromkeys([*SPECS[table].indexes, *((c,) for c in _columns(table))]))
            older[table] = data.draw(st.lists(st.sampled_from(pool), unique=True, max_size=4), label=table)
        _build_with(path, older, fingerprint(older))
        calls = []  # (a fixture would last for every example: the patch is made per example)
        with mock.patch.object(Ledger, "rebuild", lambda self, *a, **k: calls.append(1)):
            Ledger(path).close()
        assert calls == []  # no replay
        conn = sqlite3.connect(path)
        try:
            assert file_indexes(conn) == {t: list(SPECS[t].indexes) for t in TABLES}
            assert conn.execute("SELECT value FROM ledger_meta WHERE key = 'projections'").fetchone()[0] == fingerprint()
        finally:
            conn.close()
        assert _rows(path) == rows


def test_a_ledger_built_under_another_layout_is_still_rebuilt(tmp_path, no_rebuild):
    path = tmp_path / "ledger.db"
    _history(path)
    _build_with(path, {"runs": [("experiment",)]}, "another layout")
    Ledger(path).close()
    assert no_rebuild == [1]


def test_the_runs_index_of_the_last_release_is_replaced_in_place(tmp_path, no_rebuild):
    """The file the release before (experiment) and (submitted_seq) on runs left: its
    fingerprint is recognised, and the runs get the (experiment, submitted_seq) index."""
    path = tmp_path / "ledger.db"
    _history(path)
    older = {t: list(SPECS[t].indexes) for t in TABLES}
    older["runs"] = [("experiment",), ("submitted_seq",)]
    _build_with(path, older, fingerprint(older))
    Ledger(path).close()
    assert no_rebuild == []
    conn = sqlite3.connect(path)
    try:
        assert file_indexes(conn)["runs"] == [("experiment", "submitted_seq"), ("submitted_seq",)]
    finally:
        conn.close()


def test_a_new_or_rebuilt_ledger_has_the_spec_indexes_in_order(tmp_path):
    """What the comparison above reads back from a file is what the file was made with."""
    path = tmp_path / "ledger.db"
    _history(path)
    for step in ("made", "rebuilt"):
        if step == "rebuilt":
            led = Ledger(path)
            led.rebuild()
            led.close()
        conn = sqlite3.connect(path)
        try:
            assert file_indexes(conn) == {t: list(SPECS[t].indexes) for t in TABLES}, step
        finally:
            conn.close()
