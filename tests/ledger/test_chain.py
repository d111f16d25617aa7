"""The hash chain: verify names the exact first event that breaks it."""
from __future__ import annotations

import json
import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from canalis.ledger import Ledger
from canalis.ledger.canonical import GENESIS_HASH, canonical_json, event_hash, hash_message
from .ledger_helpers import sample_events, tamper


def _ledger_with(tmp_path, n=10):
    led = Ledger(tmp_path / "ledger.db")
    led.append_many(sample_events(n))
    return led


def test_empty_ledger_head_is_genesis(led):
    assert led.head() == (0, GENESIS_HASH)
    res = led.verify()
    assert res.ok and res.checked == 0


def test_chain_links_every_event_to_the_previous(led):
    recs = [led.append(e) for e in sample_events(5)]
    assert [r.seq for r in recs] == [1, 2, 3, 4, 5]
    assert recs[0].prev_hash == GENESIS_HASH
    for a, b in zip(recs, recs[1:]):
        assert b.prev_hash == a.hash
    assert led.head() == (5, recs[-1].hash)
    assert led.verify().ok


def test_hash_is_blake3_of_canonical_body(led):
    rec = led.append(sample_events(1)[0])
    body = {"seq": rec.seq, "id": rec.id, "time": rec.time, "type": rec.type, "version": rec.version,
            "stream": rec.stream, "payload": rec.payload, "prev_hash": rec.prev_hash}
    from blake3 import blake3

    assert blake3(canonical_json(body).encode("utf-8")).hexdigest() == rec.hash


@settings(max_examples=200, deadline=None)
@given(seq=st.integers(1, 2**40), text=st.text(), payload=st.dictionaries(st.text(), st.one_of(
    st.integers(), st.text(), st.floats(allow_nan=False, allow_infinity=False), st.none(), st.booleans())))
def test_hash_message_equals_canonical_json_of_the_body(seq, text, payload):
    ptext = canonical_json(payload)
    body = {"seq": seq, "id": text, "time": text, "type": text, "version": 3, "stream": text,
            "payload": json.loads(ptext), "prev_hash": GENESIS_HASH}
    assert hash_message(seq, text, text, text, 3, text, ptext, GENESIS_HASH) == canonical_json(body).encode("utf-8")


def test_edited_payload_is_caught_at_its_seq(tmp_path):
    led = _ledger_with(tmp_path)
    tamper(led.path, "UPDATE event_log SET payload = replace(payload, 'exp', 'EXP') WHERE seq = 1")
    res = led.verify()
    assert not res.ok and res.first_bad_seq == 1 and "altered" in res.reason


def test_edited_time_is_caught_at_its_seq(tmp_path):
    led = _ledger_with(tmp_path)
    tamper(led.path, "UPDATE event_log SET time = '2020-01-01T00:00:00.000000Z' WHERE seq = 6")
    res = led.verify()
    assert (res.ok, res.first_bad_seq, res.checked) == (False, 6, 5)


def test_edited_hash_is_caught_at_its_seq(tmp_path):
    led = _ledger_with(tmp_path)
    tamper(led.path, "UPDATE event_log SET hash = ? WHERE seq = 9", params=(b"\xff" * 32,))
    res = led.verify()
    assert (res.ok, res.first_bad_seq) == (False, 9) and "stored ffffffffffffffff" in res.reason


def test_deleted_event_is_caught_at_the_missing_seq(tmp_path):
    led = _ledger_with(tmp_path)
    tamper(led.path, "DELETE FROM event_log WHERE seq = 4")
    res = led.verify()
    assert (res.ok, res.first_bad_seq) == (False, 4)
    assert "missing" in res.reason


def test_reordered_pair_is_caught_at_the_first_of_the_pair(tmp_path):
    led = _ledger_with(tmp_path)
    conn = sqlite3.connect(str(led.path))
    cols = "id, time, type, version, stream, payload, hash"
    a = conn.execute(f"SELECT {cols} FROM event_log WHERE seq = 5").fetchone()
    b = conn.execute(f"SELECT {cols} FROM event_log WHERE seq = 6").fetchone()
    conn.close()
    sets = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
    tamper(led.path, f"UPDATE event_log SET {sets} WHERE seq = 5", params=b)
    tamper(led.path, f"UPDATE event_log SET {sets} WHERE seq = 6", params=a)
    res = led.verify()
    assert (res.ok, res.first_bad_seq) == (False, 5)


def test_truncated_tail_is_caught_even_after_new_appends(tmp_path):
    led = _ledger_with(tmp_path)
    tamper(led.path, "DELETE FROM event_log WHERE seq > 7")
    res = led.verify()
    assert (res.ok, res.first_bad_seq) == (False, 8)
    assert "8..10" in res.reason and "truncated" in res.reason
    recs = led.append_many(sample_events(2, run_id="r2"))
    assert [r.seq for r in recs] == [11, 12]  # seq continues above the high-water mark
    res = led.verify()
    assert (res.ok, res.first_bad_seq) == (False, 8)
    assert "8..10" in res.reason


def test_events_cannot_be_updated_or_deleted_through_sqlite_without_dropping_triggers(tmp_path):
    led = _ledger_with(tmp_path, 3)
    conn = sqlite3.connect(str(led.path))
    for sql in ("UPDATE event_log SET time = 'x' WHERE seq = 1", "DELETE FROM event_log WHERE seq = 3"):
        try:
            conn.execute(sql)
        except sqlite3.DatabaseError as e:
            assert "append-only" in str(e)
        else:
            raise AssertionError(f"{sql} was allowed")
    conn.close()
    assert led.verify().ok


def test_event_hash_helper_matches_stored_rows(tmp_path):
    led = _ledger_with(tmp_path, 4)
    for row in led.raw_rows():
        seq, id_, time, type_, version, stream, payload, prev, h = row
        assert event_hash(seq, id_, time, type_, version, stream, payload, prev) == h
