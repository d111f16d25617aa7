"""Ledger format 2 (compact event rows) and the upgrade of a format-1 file on open."""
from __future__ import annotations

import datetime as _dt
import gzip
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis import layout
from canalis.ledger import FORMAT_VERSION, Ledger
from canalis.ledger.chain import verify_rows
from canalis.ledger.errors import LedgerFormatError
from canalis.ledger.storage import decode_time, encode_time
from .ledger_histories import histories

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SETTINGS = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])

# format 1's events table (docs/events.md, "Changes"), to write files as the previous release did
V1_SCHEMA = (
    """CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, time TEXT NOT NULL,
       type TEXT NOT NULL, version INTEGER NOT NULL, stream TEXT NOT NULL, payload TEXT NOT NULL,
       prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
    "CREATE INDEX events_stream ON events (stream, seq)",
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'ledger events are append-only; record a correcting event instead'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'ledger events are append-only; record a correcting event instead'); END""",
    "CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT INTO ledger_meta (key, value) VALUES ('format', '1')",
)


def _fixture(tmp_path) -> Path:
    path = tmp_path / "ledger.db"
    path.write_bytes(gzip.decompress((FIXTURES / "ledger-format1.db.gz").read_bytes()))
    return path


def _meta_format(path) -> str:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("SELECT value FROM ledger_meta WHERE key = 'format'").fetchone()[0]
    finally:
        conn.close()


def _json(value):
    return json.loads(json.dumps(value, default=str))


def test_a_ledger_written_by_format_1_is_upgraded_on_open_and_reads_as_before(tmp_path):
    expected = json.loads((FIXTURES / "ledger-format1.json").read_text(encoding="utf-8"))
    path = _fixture(tmp_path)
    assert _meta_format(path) == "1"
    with Ledger(path) as led:
        assert _meta_format(path) == str(FORMAT_VERSION) == "2"
        assert list(led.head()) == expected["head"] and led.count() == expected["count"]
        assert led.verify().to_dict() == expected["verify"] and expected["verify"]["ok"]
        rows = _json(led.projection_rows())
        assert {t: rows[t] for t in expected["projections"]} == expected["projections"]
        # a table added since format 1, which nothing in this history feeds
        assert {t: v for t, v in rows.items() if t not in expected["projections"]} == {"schedule_datastores": []}
        assert [r.to_dict() for r in led.events()] == expected["events"]
        raw = [dict(zip(("seq", "id", "time", "type", "version", "stream", "payload", "prev_hash", "hash"), r))
               for r in led.raw_rows()]
    conn = sqlite3.connect(str(path))
    view = conn.execute("SELECT seq, id, time, type, version, stream, payload, prev_hash, hash FROM events "
                        "ORDER BY seq").fetchall()
    kinds = conn.execute("SELECT type FROM sqlite_master WHERE name = 'events'").fetchone()
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    conn.close()
    assert kinds == ("view",) and [tuple(r.values()) for r in raw] == view
    assert [(r["seq"], r["hash"]) for r in raw] == [(e["seq"], e["hash"]) for e in expected["events"]]
    assert free == 0  # the pages of the old table were given back (VACUUM)


def test_a_workspace_of_ledger_format_1_is_upgraded_with_its_config(tmp_path):
    lay = layout.init(tmp_path / "ws")
    cfg = lay.read_config()
    cfg["ledger"]["format"] = 1
    lay.write_config(cfg)
    lay.ledger_path.unlink()
    shutil.copyfile(_fixture(tmp_path), lay.ledger_path)
    led = lay.open_ledger()
    assert led.verify().ok and lay.read_config()["ledger"]["format"] == 2
    led.close()
    cfg["ledger"]["format"] = 9
    lay.write_config(cfg)
    with pytest.raises(Exception, match="ledger format 9"):
        lay.open_ledger()


def _write_format1(path: Path, rows, high: int | None) -> None:
    conn = sqlite3.connect(str(path), isolation_level=None)
    for stmt in V1_SCHEMA:
        conn.execute(stmt)
    conn.executemany("INSERT INTO events (seq, id, time, type, version, stream, payload, prev_hash, hash) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    if high is not None:
        conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'", (high,))
    conn.close()


@SETTINGS
@given(history=histories(max_events=15), damage=st.sampled_from(["none", "payload", "time", "delete", "tail"]),
       where=st.integers(0, 100))
def test_an_upgraded_ledger_verifies_and_projects_as_the_ledger_it_was(tmp_path_factory, history, damage, where):
    """A history written in format 2, copied into a format-1 file as the previous release laid it
    out (damaged or not), and upgraded: the same verify result and the same projections."""
    tmp = tmp_path_factory.mktemp("up")
    with Ledger(tmp / "new.db") as led:
        led.append_many(history)
        rows = [list(r) for r in led.raw_rows()]
        projections = led.projection_rows()
    i = where % len(rows)
    high = None
    if damage == "payload":
        rows[i][6] = " " + rows[i][6]  # still the same JSON, no longer the hashed text
    elif damage == "time":
        rows[i][2] = "2001-02-03T04:05:06.000007Z"
    elif damage == "delete" and 0 < i < len(rows) - 1:
        del rows[i]
    elif damage == "tail" and i > 0:
        high = len(rows)
        del rows[i:]
    _write_format1(tmp / "old.db", rows, high)
    expected = verify_rows([tuple(r) for r in rows], high if high is not None else (rows[-1][0] if rows else None))
    with Ledger(tmp / "old.db") as up:
        assert _meta_format(tmp / "old.db") == "2"
        assert up.verify() == expected
        # every stored column survives; prev_hash is derived (after a deleted event, from the one before it)
        assert [list(r[:7]) + [r[8]] for r in up.raw_rows()] == [r[:7] + [r[8]] for r in rows]
        if damage == "none":
            assert up.projection_rows() == projections


def test_a_format_1_ledger_whose_prev_hash_was_edited_is_refused_and_left_as_it_was(tmp_path):
    path = _fixture(tmp_path)
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET prev_hash = ? WHERE seq = 5", ("f" * 64,))
    before = conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
    conn.close()
    with pytest.raises(LedgerFormatError, match=r"event 5 stores prev_hash ffffffffffffffff"):
        Ledger(path)
    conn = sqlite3.connect(str(path))
    after = conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert _meta_format(path) == "1" and after == before and "event_log" not in tables


@given(st.integers(0, 253402300799 * 1_000_000 + 999_999))
def test_times_round_trip_through_their_integer_form(us):
    text = decode_time(us)
    assert encode_time(text) == us and decode_time(encode_time(text)) == text


def test_a_time_or_id_canalis_did_not_write_is_kept_verbatim(led):
    for text in ("2026-11-23T18:23:28Z", "1969-12-31T23:59:59.000000Z", "2026-02-30T00:00:00.000000Z", "x"):
        assert encode_time(text) == text


def test_the_upgrade_succeeds_while_another_connection_is_reading(tmp_path):
    path = _fixture(tmp_path)
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN")
    count = conn.execute("SELECT count(*) FROM events").fetchone()[0]  # holds a read snapshot
    try:
        with Ledger(path) as led:
            assert led.verify().ok and led.count() == count and _meta_format(path) == "2"
    finally:
        conn.execute("COMMIT")
        conn.close()


def test_the_upgrade_of_a_long_format_1_ledger_trains_a_dictionary_for_what_follows(tmp_path):
    from canalis.ledger.canonical import GENESIS_HASH, canonical_json, event_hash
    from .ledger_helpers import sample_events

    path = tmp_path / "ledger.db"
    conn = sqlite3.connect(str(path), isolation_level=None)
    for stmt in V1_SCHEMA:
        conn.execute(stmt)
    prev, rows = GENESIS_HASH, []
    for seq, e in enumerate(sample_events(1100), start=1):
        row = (seq, f"id-{seq}", "2026-01-01T00:00:00.000000Z", type(e).type, type(e).event_version, e.stream,
               canonical_json(e.payload()), prev)
        prev = event_hash(*row)
        rows.append((*row, prev))
    conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()
    with Ledger(path) as led:
        led.append_many(sample_events(50, run_id="r2"))
        assert led.verify().ok and led.count() == 1150
    conn = sqlite3.connect(str(path))
    dicts = conn.execute("SELECT code, from_seq FROM payload_dictionaries").fetchall()
    kinds = conn.execute("SELECT seq > 1100, typeof(payload), count(*) FROM event_log GROUP BY 1, 2").fetchall()
    conn.close()
    assert dicts == [(1, 1101)]
    assert kinds == [(0, "text", 1100), (1, "blob", 50)]


@given(us=st.integers(0, 253402300799 * 1_000_000 + 999_999), pos=st.integers(0, 26), ch=st.characters())
def test_an_altered_time_is_stored_compactly_only_if_it_reads_back_exactly(us, pos, ch):
    text = decode_time(us)
    encode_time(text)  # the second's value is kept: an altered text of the same second must not reuse it wrongly
    altered = text[:pos] + ch + text[pos + 1:]
    value = encode_time(altered)
    assert value == altered or (isinstance(value, int) and decode_time(value) == altered)


@given(raw=st.one_of(st.binary(min_size=16, max_size=16), st.binary(min_size=32, max_size=32)),
       pos=st.integers(0, 63), ch=st.characters())
def test_an_id_or_digest_is_stored_in_binary_only_if_it_reads_back_exactly(raw, pos, ch):
    from canalis.ledger.storage import decode_hash, decode_id, encode_hash, encode_id

    h = raw.hex()
    text = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" if len(raw) == 16 else h
    encode, decode = (encode_id, decode_id) if len(raw) == 16 else (encode_hash, decode_hash)
    assert encode(text) == raw and decode(raw) == text
    altered = text[:pos] + ch + text[pos + 1:]
    value = encode(altered)
    assert value == altered or (isinstance(value, bytes) and decode(value) == altered)


@given(st.one_of(
    st.dictionaries(st.text(max_size=300), st.binary(min_size=32, max_size=32).map(bytes.hex)),
    st.dictionaries(st.text(), st.one_of(st.text(), st.none(), st.integers())),
    st.none().map(lambda _: {}), st.lists(st.text())))
def test_outputs_are_stored_in_binary_and_read_back_exactly(value):
    from canalis.ledger.canonical import canonical_json
    from canalis.ledger.storage import decode_digests, encode_digests

    stored = encode_digests(value)
    assert decode_digests(stored) == value
    assert isinstance(stored, bytes) or stored == canonical_json(value)


@given(fields=st.tuples(st.integers(1960, 9999), *(st.integers(0, 99) for _ in range(5))), us=st.integers(0, 999_999))
def test_a_time_with_any_field_out_of_range_is_kept_as_text(fields, us):
    """Read from its fields (not by strptime): a time is stored compactly exactly when it is a
    real UTC time from 1970 on, as the calendar says."""
    import calendar
    import time

    text = "%04d-%02d-%02dT%02d:%02d:%02d" % fields + f".{us:06d}Z"
    try:
        seconds = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
        real = fields[0] >= 1970 and time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) == text[:19]
    except ValueError:
        real = False
    value = encode_time(text)
    assert value == (seconds * 1_000_000 + us if real else text)


@given(st.datetimes(_dt.datetime(1, 1, 1), _dt.datetime(9999, 12, 31, 23, 59, 59)))
def test_timegm_is_calendar_s(when):
    """The time's seconds are counted as `calendar.timegm` counts them (without importing it)."""
    import calendar

    from canalis.ledger.storage import timegm

    fields = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    assert timegm(*fields) == calendar.timegm(fields)
