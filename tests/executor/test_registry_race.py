"""Versions of one dataset, model or environment name registered by several processes at
once: every registration gets its own version, consecutive, none fails and none is lost."""
from __future__ import annotations

import subprocess
import sys

from canalis import layout

REGISTER = r"""
import sys
from canalis import layout
from canalis.core.environment import Environment
from canalis.core.workspace import Workspace

root, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ws = Workspace.from_config(root)
ledger = ws.ledger
print("ready", flush=True)
sys.stdin.readline()  # start together
for i in range(n):
    tree = f"{tag}{i:03d}".encode().hex().ljust(64, "0")[:64]
    ws.session.register("dataset", "shared", tree, kind="file")
    env = Environment("shared-env")
    env.environment_variables = {"WHO": f"{tag}{i}"}
    env.register(ws)
print("done", flush=True)
"""


def test_concurrent_registrations_get_distinct_consecutive_versions(tmp_path):
    root = tmp_path / "ws"
    layout.init(root)
    n = 15
    procs = [subprocess.Popen([sys.executable, "-c", REGISTER, str(root), tag, str(n)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for tag in ("a", "b", "c")]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, _ = p.communicate(timeout=180)
        assert p.returncode == 0 and out.strip() == "done"
    ledger = layout.at(root).open_ledger()
    versions = ledger.dataset_versions("shared")
    assert sorted(int(v.version) for v in versions) == list(range(1, 3 * n + 1))
    assert len({v.digest for v in versions}) == 3 * n
    envs = [r.payload for r in ledger.events(type="environment.registered") if r.payload["name"] == "shared-env"]
    assert sorted(int(e["version"]) for e in envs) == list(range(1, 3 * n + 1))
