"""Workspace permissions: private (0700/0600) or shared with a group (2770/0660), at creation
and for files written later, whatever the umask. Tests run as root, so they check modes and
groups, not access denial."""
from __future__ import annotations

import grp
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from canalis.core import Experiment, Workspace
from canalis.errors import WorkspaceError
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script

GROUP = grp.getgrgid(1).gr_name  # "daemon" on Debian: any group other than root's own


@pytest.fixture(autouse=True)
def permissive_umask():
    """Start each test with a umask that would leave files world-readable; restore after."""
    old = os.umask(0o000)
    yield
    os.umask(old)


def modes(folder: Path) -> dict[str, tuple[int, int]]:
    """relative path -> (mode bits, gid) of every folder and regular file under `folder`."""
    out = {".": (stat.S_IMODE(folder.stat().st_mode), folder.stat().st_gid)}
    for p in folder.rglob("*"):
        if p.is_symlink():
            continue
        st = p.stat()
        out[str(p.relative_to(folder)) + ("/" if p.is_dir() else "")] = (stat.S_IMODE(st.st_mode), st.st_gid)
    return out


def run_a_pipeline(ws, src):
    script(src, "write.py", """
import os, sys
from canalis.core import Run
run = Run.get_context()
out = run.output_datasets["out"] if run.output_datasets else "."
for i in range(20):
    open(os.path.join(sys.argv[2], f"f{i}.txt"), "w").write("x" * i)
print("hello")
run.log("n", 20)
""")
    from canalis.data import OutputFileDatasetConfig

    out = OutputFileDatasetConfig("out")
    step = PythonScriptStep(name="w", script_name="write.py", source_directory=str(src), arguments=["--out", out])
    run = Experiment(ws, "perm").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(raise_on_error=False) == "Completed"


def test_new_workspace_is_private_and_files_written_later_too(tmp_path, src, counter):
    ws = Workspace.create("p", path=tmp_path / "ws")
    dot = ws.root / ".canalis"
    created = modes(dot)
    assert {m for name, (m, _) in created.items() if name.endswith("/") or name == "."} == {0o700}
    assert {m for name, (m, _) in created.items() if not name.endswith("/") and name != "."} == {0o600}
    assert "ledger.db" in created and "config.json" in created and "objects/" in created

    os.umask(0)  # a later process with a permissive umask opens the workspace
    ws = Workspace(path=ws.root)
    ws.get_default_keyvault().set_secret("s", "v")
    run_a_pipeline(ws, src)
    later = modes(dot)
    assert (dot / "ledger.db-wal").exists() and later["ledger.db-wal"][0] == 0o600
    assert later["secrets.json"][0] == 0o600
    new = {name: m for name, (m, _) in later.items() if name not in created}
    assert any(n.startswith("objects/") and not n.endswith("/") for n in new), new  # blobs or packs were written
    assert {name: m for name, m in new.items() if m & 0o077} == {}


def test_shared_workspace_is_group_readable_and_writable(tmp_path, src, counter):
    gid = grp.getgrnam(GROUP).gr_gid
    ws = Workspace.create("s", path=tmp_path / "ws", shared_group=GROUP)
    dot = ws.root / ".canalis"
    created = modes(dot)
    for name, (mode, g) in created.items():
        assert g == gid, name
        assert mode == (0o2770 if name.endswith("/") or name == "." else 0o660), (name, oct(mode))
    assert json.loads((dot / "config.json").read_text())["permissions"] == {"mode": "shared", "group": GROUP}

    os.umask(0o022)  # a group member whose umask would drop group write
    ws = Workspace(path=ws.root)
    ws.get_default_keyvault().set_secret("s", "v")
    run_a_pipeline(ws, src)
    later = modes(dot)
    assert later["secrets.json"] == (0o660, gid)
    assert later["ledger.db-wal"] == (0o660, gid)
    new = {name: mg for name, mg in later.items() if name not in created}
    assert new and later["locks/gc.lock"] == (0o660, gid)
    for name, (mode, g) in new.items():
        assert g == gid and not mode & 0o007, (name, oct(mode))
        if name.endswith("/"):
            assert mode & 0o2070 == 0o2070, (name, oct(mode))  # setgid, group rwx
        elif mode & 0o200:
            assert mode & 0o060 == 0o060, (name, oct(mode))  # writable files are group-writable


def test_executor_lock_files_are_group_writable_in_a_shared_workspace(tmp_path, src, counter):
    ws = Workspace.create("s", path=tmp_path / "ws", shared_group=GROUP)
    os.umask(0o022)
    run_a_pipeline(Workspace(path=ws.root), src)
    locks = {n: m for n, (m, _) in modes(ws.root / ".canalis" / "locks").items() if n != "."}
    # reuse-key lock files are removed when released (executor/locks.py): what stays is gc.lock
    assert set(locks) == {"gc.lock"} and all(m & 0o060 == 0o060 for m in locks.values()), locks


def test_secret_file_mode_is_checked_against_the_policy(tmp_path):
    ws = Workspace.create("s", path=tmp_path / "ws", shared_group=GROUP)
    kv = ws.get_default_keyvault()
    kv.set_secret("a", "b")
    path = ws.root / ".canalis" / "secrets.json"
    os.chmod(path, 0o664)
    with pytest.raises(WorkspaceError, match="chmod 660"):
        kv.get_secret("a")
    os.chmod(path, 0o660)
    assert kv.get_secret("a") == "b"


def _canalis(cwd, *args):
    return subprocess.run([sys.executable, "-m", "canalis", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=120, preexec_fn=lambda: os.umask(0o002))


def test_init_shared_cli_and_conversion(tmp_path):
    p = _canalis(tmp_path, "init", "team", "--shared", GROUP, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["permissions"] == {"mode": "shared", "group": GROUP}
    assert stat.S_IMODE((tmp_path / "team" / ".canalis").stat().st_mode) == 0o2770

    p = _canalis(tmp_path, "init", "solo")
    assert p.returncode == 0 and "private to its owner" in p.stdout
    assert stat.S_IMODE((tmp_path / "solo" / ".canalis" / "ledger.db").stat().st_mode) == 0o600
    p = _canalis(tmp_path, "init", "solo", "--shared", GROUP)  # an existing workspace is converted
    assert p.returncode == 0, p.stderr
    assert set(m for m, _ in modes(tmp_path / "solo" / ".canalis").values()) == {0o2770, 0o660}

    p = _canalis(tmp_path, "init", "nope", "--shared", "no-such-group-here")
    assert p.returncode == 1 and "no group named 'no-such-group-here'" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "nope" / ".canalis").exists()
