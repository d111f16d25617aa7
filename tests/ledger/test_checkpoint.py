"""Signed checkpoints: a checkpoint verifies against every extension of its ledger and fails
after a rewrite at or below it, a truncation, another key, or an edit of the checkpoint."""
from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canalis.ledger import Ledger
from canalis.ledger import events as ev
from canalis.ledger.canonical import event_hash
from canalis.ledger.checkpoint import (
    Checkpoint, check_against, make_checkpoint, parse_checkpoint, signed_bytes, write_auto_checkpoint,
)
from canalis.ledger.errors import CheckpointKeyError
from canalis.ledger.keys import ED25519, HMAC, KINDS, generate_key, load_signing_key, load_verify_key
from .ledger_helpers import sample_events, tamper
from .ledger_histories import histories

PROPERTY = settings(max_examples=20, deadline=None)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Two keys of each kind: kind -> (signing key, verify key, another verify key of the same kind)."""
    folder = tmp_path_factory.mktemp("keys")
    out = {}
    for kind in KINDS:
        a = generate_key(folder / f"{kind}-a", kind)
        b = generate_key(folder / f"{kind}-b", kind)
        verify_a = load_verify_key(a.public_path or a.path)
        out[kind] = (load_signing_key(a.path), verify_a, load_verify_key(b.public_path or b.path))
    return out


def _ledger(folder: str) -> Ledger:
    return Ledger(Path(folder) / "ledger.db")


def _rewrite(path, seq: int, recompute: bool) -> None:
    """Change event `seq`'s payload; with `recompute`, also recompute every hash from it on,
    as an attacker who knows the chain rule would."""
    tamper(path, "UPDATE event_log SET payload = json_set(payload, '$.rewritten', 1) WHERE seq = ?", params=(seq,))
    if not recompute:
        return
    conn = sqlite3.connect(str(path), isolation_level=None)
    prev = conn.execute("SELECT hash FROM events WHERE seq = ?", (seq - 1,)).fetchone()
    prev = prev[0] if prev else "0" * 64
    rows = conn.execute("SELECT seq, id, time, type, version, stream, payload FROM events WHERE seq >= ? ORDER BY seq",
                        (seq,)).fetchall()
    for s, id_, time, type_, version, stream, payload in rows:
        h = event_hash(s, id_, time, type_, version, stream, payload, prev)
        conn.execute("UPDATE event_log SET hash = ? WHERE seq = ?", (bytes.fromhex(h), s))
        prev = h
    conn.close()


def _truncate(path, from_seq: int, reset_sequence: bool) -> None:
    stmts = ["DELETE FROM event_log WHERE seq >= ?"]
    tamper(path, *stmts, params=(from_seq,))
    if reset_sequence:  # hide the cut from the plain chain check too
        tamper(path, "UPDATE sqlite_sequence SET seq = ? WHERE name = 'event_log'", params=(from_seq - 1,))


@PROPERTY
@given(history=histories(max_events=20), data=st.data())
@pytest.mark.parametrize("kind", KINDS)
def test_a_checkpoint_verifies_against_every_extension(kind, keys, history, data):
    sign, verify, _ = keys[kind]
    cut = data.draw(st.integers(0, len(history)), label="checkpoint after")
    with tempfile.TemporaryDirectory() as d, _ledger(d) as led:
        led.append_many(history[:cut])
        cp = parse_checkpoint(make_checkpoint(led, sign, "ws").to_json())
        assert (cp.seq, cp.hash) == led.head()
        rest = history[cut:]
        while True:
            res = check_against(led, cp, verify, workspace="ws")
            assert res.ok, res.message
            assert res.problem is None and res.head_seq == led.head()[0]
            if not rest:
                break
            n = data.draw(st.integers(1, len(rest)), label="extend by")
            led.append_many(rest[:n])
            rest = rest[n:]


@PROPERTY
@given(history=histories(max_events=20), data=st.data())
@pytest.mark.parametrize("kind", KINDS)
def test_a_rewrite_at_or_below_the_checkpoint_fails(kind, keys, history, data):
    sign, verify, _ = keys[kind]
    cut = data.draw(st.integers(1, len(history)), label="checkpoint after")
    victim = data.draw(st.integers(1, cut), label="rewritten event")
    recompute = data.draw(st.booleans(), label="chain recomputed")
    with tempfile.TemporaryDirectory() as d:
        with _ledger(d) as led:
            led.append_many(history[:cut])
            cp = make_checkpoint(led, sign, "ws")
            led.append_many(history[cut:])
        _rewrite(Path(d) / "ledger.db", victim, recompute)
        with _ledger(d) as led:
            res = check_against(led, cp.to_json(), verify, workspace="ws")
            assert not res.ok
            if recompute:
                # a recomputed chain passes the plain check; only the checkpoint sees the rewrite
                assert led.verify().ok
                assert res.problem == "rewritten", res.message
                assert f"event {cut}" in res.message
            else:
                assert res.problem == "chain_broken", res.message
                assert f"broken at event {victim}" in res.message


@PROPERTY
@given(history=histories(max_events=20), data=st.data())
@pytest.mark.parametrize("kind", KINDS)
def test_a_truncation_below_the_checkpoint_fails(kind, keys, history, data):
    sign, verify, _ = keys[kind]
    cut = data.draw(st.integers(1, len(history)), label="checkpoint after")
    start = data.draw(st.integers(1, cut), label="first removed event")
    reset = data.draw(st.booleans(), label="sequence reset")
    regrow = data.draw(st.integers(0, 4), label="events appended after the cut")
    with tempfile.TemporaryDirectory() as d:
        with _ledger(d) as led:
            led.append_many(history[:cut])
            cp = make_checkpoint(led, sign, "ws")
            led.append_many(history[cut:])
        _truncate(Path(d) / "ledger.db", start, reset)
        with _ledger(d) as led:
            led.append_many(sample_events(regrow, run_id="after-the-cut"))
            res = check_against(led, cp.to_json(), verify, workspace="ws")
            assert not res.ok
            if led.head()[0] < cut:
                assert res.problem == "truncated", res.message
                assert f"ends at event {led.head()[0]}" in res.message
            else:
                assert res.problem == "rewritten", res.message
            if reset and regrow == 0:
                assert led.verify().ok  # the plain chain check cannot see this cut


@PROPERTY
@given(history=histories(max_events=10), data=st.data())
@pytest.mark.parametrize("kind", KINDS)
def test_another_key_or_an_edited_checkpoint_fails(kind, keys, history, data):
    sign, verify, other = keys[kind]
    other_kind = keys[next(k for k in KINDS if k != kind)][1]
    with tempfile.TemporaryDirectory() as d, _ledger(d) as led:
        led.append_many(history)
        cp = make_checkpoint(led, sign, "ws", reason="audit")
        for wrong in (other, other_kind):
            res = check_against(led, cp.to_json(), wrong, workspace="ws")
            assert (res.ok, res.problem) == (False, "wrong_key"), res.message
        obj = json.loads(cp.to_json())
        field = data.draw(st.sampled_from(["seq", "hash", "time", "workspace", "reason", "signature"]), label="edited")
        obj[field] = {
            "seq": obj["seq"] + 1, "hash": "f" * 64 if obj["hash"] != "f" * 64 else "e" * 64,
            "time": "2000-01-01T00:00:00.000000Z", "workspace": "other", "reason": "changed",
            "signature": ("00" if obj["signature"][:2] != "00" else "11") + obj["signature"][2:],
        }[field]
        res = check_against(led, json.dumps(obj), verify, workspace="ws")
        assert (res.ok, res.problem) == (False, "bad_signature"), res.message


def test_malformed_checkpoints_are_named(led, keys):
    sign, verify, _ = keys[ED25519]
    led.append_many(sample_events(3))
    good = make_checkpoint(led, sign, "ws").to_json()
    cases = {
        good[: len(good) // 2]: "not JSON",
        "[]": "no JSON object",
        good.replace('"format":1', '"format":2'): "format 2",
        good.replace('"reason":null,', ""): "missing field 'reason'",
        good.replace('"reason":null', '"reason":null,"extra":1'): "unknown field 'extra'",
        good.replace('"seq":3', '"seq":-1'): "seq must be",
    }
    for text, words in cases.items():
        res = check_against(led, text, verify)
        assert (res.ok, res.problem) == (False, "malformed") and words in res.message, (words, res.message)


def test_checkpoint_of_another_workspace_fails(led, keys):
    sign, verify, _ = keys[HMAC]
    led.append_many(sample_events(3))
    cp = make_checkpoint(led, sign, "prod")
    assert check_against(led, cp, verify, workspace="prod").ok
    res = check_against(led, cp, verify, workspace="staging")
    assert (res.ok, res.problem) == (False, "other_workspace")


def test_checkpoint_file_is_canonical_and_signs_its_body(led, keys):
    sign, verify, _ = keys[ED25519]
    led.append_many(sample_events(2))
    cp = make_checkpoint(led, sign, "wörk", reason="nächtlich")
    text = cp.to_json()
    obj = json.loads(text)
    assert text == json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    assert list(obj) == sorted(obj) and "wörk" in text
    body = {k: v for k, v in obj.items() if k != "signature"}
    assert signed_bytes(body) == json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert verify.verify(bytes.fromhex(obj["signature"]), signed_bytes(body))
    assert parse_checkpoint(text) == cp and isinstance(cp, Checkpoint)


def _workspace_dir(tmp_path, config: dict) -> Path:
    folder = tmp_path / ".canalis"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"name": "ws", "ledger": {"format": 1}, **config}))
    return folder


def test_auto_checkpoint_does_nothing_without_a_default_key(tmp_path):
    folder = _workspace_dir(tmp_path, {})
    with Ledger(folder / "ledger.db") as led:
        led.append_many(sample_events(3))
        assert write_auto_checkpoint(led, reason="gc") is None
    assert not (folder / "checkpoints").exists()
    with Ledger(tmp_path / "bare" / "ledger.db") as led:  # a ledger outside any workspace
        assert write_auto_checkpoint(led, reason="gc") is None
    assert not (tmp_path / "bare" / "checkpoints").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_auto_checkpoint_with_a_default_key(tmp_path, kind):
    key = generate_key(tmp_path / "outside" / "key", kind)
    folder = _workspace_dir(tmp_path, {"ledger": {"format": 1, "checkpoint_key": str(key.path)}})
    with Ledger(folder / "ledger.db") as led:
        led.append_many(sample_events(3))
        path = write_auto_checkpoint(led, reason="gc 1")
        assert path.parent == folder / "checkpoints" and path.name.startswith("000000000003-")
        again = write_auto_checkpoint(led, config=folder, reason="gc 2")  # same head: the same file, kept
        assert again == path and json.loads(path.read_text())["reason"] == "gc 1"
        cp = parse_checkpoint(path.read_text())
        assert (cp.seq, cp.hash, cp.workspace) == (*led.head(), "ws")
        led.append(ev.AnnotationAdded(stream_name="x", message="later"))
        assert check_against(led, cp, load_verify_key(key.public_path or key.path), workspace="ws").ok
        assert len(list((folder / "checkpoints").glob("*.json"))) == 1
        assert write_auto_checkpoint(led, config={"name": "ws", "ledger": {"checkpoint_key": str(key.path)}}) != path


def test_auto_checkpoint_with_a_missing_key_is_loud(tmp_path):
    folder = _workspace_dir(tmp_path, {"ledger": {"format": 1, "checkpoint_key": str(tmp_path / "gone")}})
    with Ledger(folder / "ledger.db") as led:
        with pytest.raises(CheckpointKeyError, match="does not exist"):
            write_auto_checkpoint(led, reason="gc")


def test_key_files_modes_and_no_overwrite(tmp_path):
    old = os.umask(0)
    try:
        made = generate_key(tmp_path / "k", ED25519)
        hm = generate_key(tmp_path / "h", HMAC)
    finally:
        os.umask(old)
    assert os.stat(made.path).st_mode & 0o777 == 0o600
    assert os.stat(made.public_path).st_mode & 0o777 == 0o644
    assert os.stat(hm.path).st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h", "k", "k.pub"]  # no temp file left
    before = made.path.read_bytes()
    with pytest.raises(CheckpointKeyError, match="never overwrites"):
        generate_key(made.path, HMAC)
    assert made.path.read_bytes() == before
    with pytest.raises(CheckpointKeyError, match="public key"):
        load_signing_key(made.public_path)
    os.chmod(hm.path, 0o644)
    with pytest.raises(CheckpointKeyError, match="chmod 600"):
        load_signing_key(hm.path)
    assert load_verify_key(made.path).key_id == load_verify_key(made.public_path).key_id == made.key_id


def test_documented_checkpoint_checker_works_without_canalis(led, keys, tmp_path):
    import io
    import subprocess
    import sys

    from .test_docs import _block

    made = generate_key(tmp_path / "k", ED25519)
    led.append_many(sample_events(6))
    cp = tmp_path / "cp.json"
    cp.write_text(make_checkpoint(led, load_signing_key(made.path), "ws").to_json(), encoding="utf-8")
    led.append_many(sample_events(3, run_id="r2"))
    script = tmp_path / "check.py"
    script.write_text(_block("verify-checkpoint"), encoding="utf-8")

    def run(export_text):
        export = tmp_path / "export.jsonl"
        export.write_text(export_text, encoding="utf-8")
        return subprocess.run([sys.executable, "-I", str(script), str(cp), str(made.public_path), str(export)],
                              capture_output=True, text=True, timeout=60)

    buf = io.StringIO()
    led.export_jsonl(buf)
    assert run(buf.getvalue()).returncode == 0
    lines = buf.getvalue().splitlines(keepends=True)
    assert "tail cut" in run("".join(lines[:5])).stderr
    sixth = json.loads(lines[5])
    sixth["hash"] = "0" * 64
    assert "history rewritten" in run("".join(lines[:5]) + json.dumps(sixth) + "\n").stderr
    cp.write_text(cp.read_text().replace('"ws"', '"other"'))
    assert "InvalidSignature" in run(buf.getvalue()).stderr
