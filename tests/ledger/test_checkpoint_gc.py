"""Garbage collection writes a signed checkpoint of the ledger head when the workspace names
a checkpoint key, and none when it does not."""
from __future__ import annotations

import json
import subprocess
import sys

from canalis import layout


def _canalis(*args, cwd):
    return subprocess.run([sys.executable, "-c", "from canalis.cli import main; main()", *args], cwd=cwd,
                          capture_output=True, text=True)


def test_gc_writes_a_checkpoint_that_verifies_when_a_default_key_is_set(tmp_path):
    root = tmp_path / "ws"
    layout.init(root)
    assert _canalis("gc", cwd=root).returncode == 0
    assert not list((root / ".canalis").glob("checkpoints/*"))  # no key named: nothing written
    key = tmp_path / "keys" / "ledger"
    key.parent.mkdir()
    assert _canalis("ledger", "keygen", str(key), cwd=root).returncode == 0
    assert _canalis("ledger", "checkpoint", "--key", str(key), "--set-default", cwd=root).returncode == 0
    assert _canalis("gc", cwd=root).returncode == 0
    written = sorted((root / ".canalis" / "checkpoints").glob("*"))
    assert written, "gc wrote no checkpoint"
    cp = json.loads(written[-1].read_text())
    assert cp["reason"].startswith("gc ")
    ok = _canalis("ledger", "verify", "--against", str(written[-1]), "--key", f"{key}.pub", cwd=root)
    assert ok.returncode == 0, ok.stdout + ok.stderr
