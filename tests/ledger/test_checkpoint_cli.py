"""`canalis ledger keygen | checkpoint | verify --against` in real subprocesses."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from canalis import layout as _layout
from .ledger_helpers import sample_events, tamper
from .test_checkpoint import _rewrite, _truncate


def canalis(cwd, *args, ok=True):
    p = subprocess.run([sys.executable, "-m", "canalis", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                       timeout=120, env={**os.environ, "CANALIS_WORKSPACE": ""})
    if ok:
        assert p.returncode == 0, p.stderr
    return p


@pytest.fixture
def ws(tmp_path):
    lay = _layout.init(tmp_path / "ws", name="audited")
    with lay.open_ledger() as led:
        led.append_many(sample_events(10))
    return lay


@pytest.fixture
def keys(tmp_path):
    folder = tmp_path / "keys"
    canalis(tmp_path, "ledger", "keygen", folder / "ed")
    canalis(tmp_path, "ledger", "keygen", "--hmac", folder / "mac")
    return folder


def test_keygen_refuses_a_path_inside_the_workspace(ws, tmp_path):
    for target in (ws.root / "ledger.key", ws.dir / "keys" / "k"):
        p = canalis(ws.root, "ledger", "keygen", target, ok=False)
        assert p.returncode == 1
        assert "inside the workspace" in p.stderr and "must live outside" in p.stderr, p.stderr
        assert not target.exists() and "Traceback" not in p.stderr
    made = json.loads(canalis(ws.root, "ledger", "keygen", tmp_path / "k", "--json").stdout)
    assert made["alg"] == "ed25519" and made["public_path"] == str(tmp_path / "k.pub")
    assert os.stat(tmp_path / "k").st_mode & 0o777 == 0o600
    again = canalis(ws.root, "ledger", "keygen", tmp_path / "k", ok=False)
    assert again.returncode == 1 and "never overwrites" in again.stderr


@pytest.mark.parametrize("kind, signer, checker", [("ed25519", "ed", "ed.pub"), ("hmac", "mac", "mac")])
def test_checkpoint_then_verify_outcomes(ws, keys, tmp_path, kind, signer, checker):
    cp = tmp_path / "cp.json"
    canalis(ws.root, "ledger", "checkpoint", "--key", keys / signer, "--out", cp, "--reason", "before audit")
    obj = json.loads(cp.read_text())
    assert (obj["seq"], obj["workspace"], obj["reason"]) == (10, "audited", "before audit")
    printed = canalis(ws.root, "ledger", "checkpoint", "--key", keys / signer).stdout
    assert json.loads(printed)["seq"] == 10 and printed.endswith("}\n")
    with ws.open_ledger() as led:
        led.append_many(sample_events(5, run_id="later"))

    ok = canalis(ws.root, "ledger", "verify", "--against", cp, "--key", keys / checker)
    assert ok.stdout.startswith("ok: the ledger extends checkpoint 10")
    res = json.loads(canalis(ws.root, "ledger", "verify", "--against", cp, "--key", keys / checker, "--json").stdout)
    assert (res["ok"], res["head_seq"], res["checkpoint_seq"]) == (True, 15, 10)

    def fails(problem, key=keys / checker, against=cp):
        p = canalis(ws.root, "ledger", "verify", "--against", against, "--key", key, ok=False)
        assert p.returncode == 1 and f"FAILED ({problem})" in p.stderr, p.stderr
        assert "Traceback" not in p.stderr
        return p.stderr

    other = "mac" if signer == "ed" else "ed.pub"
    assert "signed it" in fails("wrong_key", key=keys / other)
    edited = tmp_path / "edited.json"
    edited.write_text(cp.read_text().replace('"seq":10', '"seq":9'))
    assert "altered after it was signed" in fails("bad_signature", against=edited)

    _rewrite(ws.ledger_path, 4, recompute=True)
    assert canalis(ws.root, "ledger", "verify").returncode == 0  # the chain alone cannot tell
    assert "history at or before event 10 was rewritten" in fails("rewritten")
    _truncate(ws.ledger_path, 7, reset_sequence=True)
    assert canalis(ws.root, "ledger", "verify").returncode == 0
    assert "events 7..10 were removed" in fails("truncated").replace("event(s)", "events")


def test_default_key_and_missing_key_messages(ws, keys, tmp_path):
    p = canalis(ws.root, "ledger", "checkpoint", ok=False)
    assert p.returncode == 1 and "no key" in p.stderr and "--set-default" in p.stderr
    inside = ws.root / "k"
    inside.write_text("x")
    p = canalis(ws.root, "ledger", "checkpoint", "--key", inside, "--set-default", ok=False)
    assert p.returncode == 1 and "must live outside" in p.stderr
    assert ws.checkpoint_key() is None
    cp = tmp_path / "cp.json"
    canalis(ws.root, "ledger", "checkpoint", "--key", keys / "ed", "--set-default", "--out", cp)
    assert ws.checkpoint_key() == str(keys / "ed")
    canalis(ws.root, "ledger", "checkpoint", "--out", tmp_path / "cp2.json")  # the default key signs
    assert canalis(ws.root, "ledger", "verify", "--against", tmp_path / "cp2.json").stdout.startswith("ok:")
    tamper(ws.ledger_path, "UPDATE event_log SET time = 'x' WHERE seq = 2")
    p = canalis(ws.root, "ledger", "verify", "--against", cp, ok=False)
    assert p.returncode == 1 and "FAILED (chain_broken)" in p.stderr and "event 2" in p.stderr
    p = canalis(ws.root, "ledger", "verify", "--against", cp, "--key", keys / "nope", ok=False)
    assert p.returncode == 1 and "does not exist" in p.stderr and "Traceback" not in p.stderr
