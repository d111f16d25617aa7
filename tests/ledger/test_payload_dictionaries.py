"""Payloads compressed with dictionaries trained on the ledger's own events (ledger/payloads.py),
and verify's walk over the stored rows (ledger/stored_chain.py) against the reference walk."""
from __future__ import annotations

import sqlite3

import zstandard
from blake3 import blake3
from hypothesis import given, settings
from hypothesis import strategies as st

from canalis.ledger import Ledger
from canalis.ledger import payloads
from canalis.ledger.canonical import GENESIS_HASH, canonical_json, hash_message
from canalis.ledger.chain import verify_rows
from canalis.ledger.stored_chain import check_stored
from canalis.ledger.storage import decode_time, encode_time
from .ledger_helpers import sample_events, tamper

N = 1500  # past the first training point (1024)


def _big(tmp_path, name="ledger.db"):
    led = Ledger(tmp_path / name)
    recs = []
    for i in range(0, N, 500):  # three appends: the second crosses 1024
        recs += led.append_many(sample_events(N, run_id="r1")[i:i + 500])
    return led, recs


def _stored(path):
    conn = sqlite3.connect(str(path))
    try:
        rows = conn.execute("SELECT seq, payload, dictionary FROM event_log ORDER BY seq").fetchall()
        dicts = conn.execute("SELECT code, digest, from_seq, content FROM payload_dictionaries").fetchall()
    finally:
        conn.close()
    return rows, dicts


def test_payloads_are_stored_compressed_from_the_first_training_point(tmp_path):
    led, recs = _big(tmp_path)
    rows, dicts = _stored(led.path)
    assert len(dicts) == 1
    code, digest, from_seq, content = dicts[0]
    assert digest == blake3(content).hexdigest() and from_seq == 1001  # the append holding seq 1024
    before = [r for r in rows if r[0] < from_seq]
    after = [r for r in rows if r[0] >= from_seq]
    assert all(isinstance(p, str) and d is None for _, p, d in before)
    assert all(isinstance(p, bytes) and d == code for _, p, d in after)
    # any zstd decoder given the stored dictionary reads a payload back as its canonical text
    reader = zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(content), format=payloads.FORMAT)
    texts = {r.seq: canonical_json(r.payload) for r in recs}
    assert all(reader.decompress(p).decode() == texts[seq] for seq, p, _ in after)
    assert sum(len(p) for _, p, _ in after) * 3 < sum(len(texts[s].encode()) for s, _, _ in after)
    # read back through the ledger: the same events
    assert [(r.seq, r.id, r.time, r.payload, r.hash) for r in led.events()] == \
           [(r.seq, r.id, r.time, r.payload, r.hash) for r in recs]
    res = led.verify()
    assert res.ok and res.checked == N and res.head_hash == recs[-1].hash


def test_training_is_deterministic(tmp_path):
    a, _ = _big(tmp_path, "a.db")
    b, _ = _big(tmp_path, "b.db")
    assert _stored(a.path)[1] == _stored(b.path)[1]


def test_training_points_are_the_powers_of_two_from_1024():
    assert not payloads.training_due(0, 1023)
    assert payloads.training_due(1023, 1024) and payloads.training_due(0, 5000)
    assert not payloads.training_due(1024, 2047)
    assert payloads.training_due(2047, 2048) and payloads.training_due(4000, 4096)
    assert not payloads.training_due(4096, 8191)


def test_rebuild_of_a_compressed_ledger_gives_the_projections_written_live(tmp_path):
    led, _ = _big(tmp_path)
    live = led.projection_rows()
    led.rebuild()
    assert led.projection_rows() == live


def _reference(led):
    """The reference walk over format 1's text columns (what verify falls back to)."""
    high = led._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'event_log'").fetchone()[0]
    return verify_rows(led._ordered_rows(), high)


def test_verify_names_a_damaged_frame_an_altered_one_and_a_missing_dictionary(tmp_path):
    led, recs = _big(tmp_path)
    assert led.verify() == _reference(led)
    conn = sqlite3.connect(str(led.path))
    frame = conn.execute("SELECT payload FROM event_log WHERE seq = 1200").fetchone()[0]
    content = conn.execute("SELECT content FROM payload_dictionaries").fetchone()[0]
    conn.close()
    # a damaged frame
    tamper(led.path, "UPDATE event_log SET payload = ? WHERE seq = 1200", params=(frame[:-3] + b"\x00\x00\x00",))
    res = led.verify()
    assert not res.ok and res.first_bad_seq == 1200 and res == _reference(led)
    # a valid frame of other content, compressed with the same dictionary
    other = dict(recs[1199].payload, step_name="forged")
    forged = zstandard.ZstdCompressor(
        dict_data=zstandard.ZstdCompressionDict(content),
        compression_params=zstandard.ZstdCompressionParameters.from_level(3, format=payloads.FORMAT)).compress(
        canonical_json(other).encode())
    tamper(led.path, "UPDATE event_log SET payload = ? WHERE seq = 1200", params=(forged,))
    res = led.verify()
    assert not res.ok and res.first_bad_seq == 1200 and "altered" in res.reason and res == _reference(led)
    tamper(led.path, "UPDATE event_log SET payload = ? WHERE seq = 1200", params=(frame,))
    assert led.verify().ok
    # the dictionary removed: the first compressed event cannot be read
    tamper(led.path, "DELETE FROM payload_dictionaries")
    res = led.verify()
    assert not res.ok and res.first_bad_seq == 1001 and res == _reference(led)


_uuids = st.binary(min_size=16, max_size=16)
_times = st.integers(0, 253402300799_999999)  # 1970 .. 9999-12-31T23:59:59.999999Z


@settings(max_examples=300, deadline=None)
@given(seq=st.integers(1, 1), id_=st.one_of(_uuids, st.text()), time=st.one_of(_times, st.text()), type_=st.text(),
       version=st.integers(0, 2**31), stream=st.text(),
       payload=st.dictionaries(st.text(), st.one_of(st.integers(), st.text(), st.none(), st.booleans())),
       compressed=st.booleans())
def test_the_stored_walk_hashes_exactly_the_canonical_body(seq, id_, time, type_, version, stream, payload, compressed):
    text = canonical_json(payload)
    if isinstance(id_, bytes):
        h = id_.hex()
        id_text = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    else:
        id_text = id_
    time_text = decode_time(time)
    if isinstance(time, int):
        assert encode_time(time_text) == time
    stored_payload, decompressors = text, {}
    if compressed:
        stored_payload = zstandard.ZstdCompressor().compress(text.encode())
        decompressors = {7: zstandard.ZstdDecompressor().decompress}
    digest = blake3(hash_message(seq, id_text, time_text, type_, version, stream, text, GENESIS_HASH)).digest()
    row = (seq, id_, time, 1, version, 2, stored_payload, 7 if compressed else None, digest)
    assert check_stored([[row]], {1: type_}, {2: stream}, decompressors) == (1, 1, digest.hex())
    wrong = (*row[:8], bytes(32))
    assert check_stored([[wrong]], {1: type_}, {2: stream}, decompressors) is None


def test_a_recorded_made_for_rebuild_is_the_dataclass_instance():
    import dataclasses

    import pytest

    from canalis.ledger.frozen import fields
    from canalis.ledger.record import Recorded, recorded

    args = (3, None, "2026-01-01T00:00:00.000000Z", "run.started", 1, None, {"run_id": "r"}, None, None, 1)
    fast, slow = recorded(*args), Recorded(*args)
    assert fast == slow and repr(fast) == repr(slow) and type(fast) is Recorded
    every = [f.name for f in fields(Recorded)]
    assert [getattr(fast, n) for n in every] == [getattr(slow, n) for n in every] == list(args)
    assert fast.to_dict() == slow.to_dict()
    assert recorded(*args[:-1], 2) == slow  # the stored version takes no part in equality
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.seq = 4


def test_an_append_that_trains_leaves_out_a_payload_that_cannot_be_read(tmp_path):
    led, _ = _big(tmp_path)  # 1,500 events, compressed from 1,001
    tamper(led.path, "UPDATE event_log SET payload = x'00' WHERE seq = 1400")
    led.append_many(sample_events(600, run_id="r2"))  # crosses 2,048: trains on the last 2,048 events
    rows, dicts = _stored(led.path)
    assert [d[2] for d in dicts] == [1001, 1501] and len(rows) == 2100
    res = led.verify()
    assert not res.ok and res.first_bad_seq == 1400
