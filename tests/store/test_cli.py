"""`canalis store ...` through click's CliRunner and a real subprocess (--json shapes)."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from canalis.cli import main

from store_helpers import write


@pytest.fixture
def ws(tmp_path):
    r = CliRunner().invoke(main, ["init", str(tmp_path / "ws")])
    assert r.exit_code == 0, r.output
    return tmp_path / "ws"


def run(ws, *args, ok=True):
    r = CliRunner().invoke(main, ["store", *args, "--workspace", str(ws)])
    if ok:
        assert r.exit_code == 0, r.output
    return r


def test_put_cat_stats(ws, tmp_path):
    f = tmp_path / "hello.txt"
    f.write_text("hello canalis\n")
    put = json.loads(run(ws, "put", str(f), "--json").output)
    assert set(put) == {"digest", "size", "stored_bytes"} and put["size"] == 14
    assert run(ws, "put", str(f)).output.strip() == put["digest"]
    assert run(ws, "cat", put["digest"]).stdout_bytes == b"hello canalis\n"
    assert json.loads(run(ws, "cat", put["digest"], "--json").output)["text"] == "hello canalis\n"
    stats = json.loads(run(ws, "stats", "--json").output)
    assert set(stats) == {"objects", "logical_bytes", "stored_bytes", "ratio", "packs"} and stats["objects"] == 1


def test_snapshot_ls_checkout_verify(ws, tmp_path):
    src = write(tmp_path / "src", {".gitignore": "*.log\n", "a.py": "print(1)\n", "x.log": "", "d/b.txt": "b"})
    snap = json.loads(run(ws, "snapshot", str(src), "--json").output)
    assert {"tree", "files", "bytes", "ignored"} <= set(snap)
    assert (snap["files"], snap["bytes"], snap["ignored"]) == (3, 16, 1)
    listing = json.loads(run(ws, "ls", snap["tree"], "--json").output)
    assert [e["path"] for e in listing] == [".gitignore", "a.py", "d/b.txt"]
    assert set(listing[0]) == {"path", "type", "mode", "size", "digest"}
    assert "a.py" in run(ws, "ls", snap["tree"]).output
    out = json.loads(run(ws, "checkout", snap["tree"], str(tmp_path / "out"), "--json").output)
    assert out["files"] == 3 and (tmp_path / "out" / "d" / "b.txt").read_text() == "b"
    v = json.loads(run(ws, "verify", "--json").output)
    assert v["ok"] is True and v["checked"] == 4 and v["corrupt"] == []


def test_errors_are_one_line_messages(ws, tmp_path):
    r = run(ws, "cat", "0" * 64, ok=False)
    assert r.exit_code == 1 and "is not in the store" in r.output and "Traceback" not in r.output
    r = run(ws, "ls", "nothex", ok=False)  # a usage error: exit code 2
    assert r.exit_code == 2 and "64 lowercase hex" in r.output
    d = json.loads(run(ws, "put", str(write(tmp_path, {"f": "x"}) / "f"), "--json").output)["digest"]
    r = run(ws, "ls", d, ok=False)
    assert r.exit_code == 1 and "is not a tree" in r.output


def test_verify_exit_code_and_repair(ws, tmp_path):
    tmp = ws / ".canalis" / "objects" / "tmp" / "1-dead.tmp"
    tmp.parent.mkdir(exist_ok=True)
    tmp.write_bytes(b"partial")
    old = 1_000_000_000
    os.utime(tmp, (old, old))
    r = run(ws, "verify", "--json", ok=False)
    assert r.exit_code == 1 and json.loads(r.output)["temp_files"]
    r = run(ws, "verify", "--repair", "--json")
    assert json.loads(r.output)["removed"] == [str(tmp)]


def test_snapshot_in_a_subprocess_is_quiet_off_a_terminal(ws, tmp_path):
    src = write(tmp_path / "src", {f"f{i}": str(i) for i in range(300)})
    code = "from canalis.cli import main; main()"
    p = subprocess.run(
        [sys.executable, "-c", code, "store", "snapshot", str(src), "--json"],
        cwd=ws, capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["files"] == 300
    assert p.stderr == ""
    p = subprocess.run([sys.executable, "-c", code, "store", "snapshot", str(src)], cwd=ws / ".canalis",
                       capture_output=True, text=True, timeout=60)  # workspace found upward
    assert p.returncode == 0 and len(p.stdout.strip()) == 64
    assert "\x1b" not in p.stderr  # no progress bar drawn when not on a terminal


def test_warm_snapshot_imports_stay_lean(ws, tmp_path):
    """The warm path must not pay for rich, pandas or zstandard (the 0.5 s budget)."""
    src = write(tmp_path / "src", {f"f{i}": str(i) for i in range(20)})
    code = (
        "import sys; from canalis.cli import main\n"
        "try:\n    main(standalone_mode=False)\nfinally:\n"
        "    print(sorted(m for m in ('rich', 'pandas', 'zstandard', 'concurrent.futures') if m in sys.modules),"
        " file=sys.stderr)\n"
    )
    args = [sys.executable, "-c", code, "store", "snapshot", str(src), "--workspace", str(ws)]
    subprocess.run(args, check=True, capture_output=True, timeout=60)
    for f in src.iterdir():
        os.utime(f, (1_000_000_000, 1_000_000_000))  # old enough to be trusted after one more run
    subprocess.run(args, check=True, capture_output=True, timeout=60)
    p = subprocess.run(args, check=True, capture_output=True, text=True, timeout=60)
    assert p.stderr.strip().splitlines()[-1] == "[]"


def test_progress_bar_is_drawn_on_a_terminal(ws, tmp_path):
    import pty

    src = write(tmp_path / "src", {f"f{i}": str(i) * 100 for i in range(600)})
    master, slave = pty.openpty()
    code = "from canalis.cli import main; main()"
    p = subprocess.Popen([sys.executable, "-c", code, "store", "snapshot", str(src), "--workspace", str(ws)],
                         stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    out = p.communicate(timeout=60)[0]
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert p.returncode == 0 and len(out.strip()) == 64
    assert b"snapshot" in seen and b"\x1b[" in seen  # rich drew (and cleared) its bar


def test_local_store_satisfies_the_store_protocol(tmp_path):
    from canalis.store import LocalStore, Store

    assert isinstance(LocalStore(tmp_path / "o"), Store)


VERIFY_KEYS = {"ok", "deep", "checked", "trees", "corrupt", "reasons", "damaged_packs", "index_damaged", "index_rebuilt",
               "faulty_trees", "stat_cache", "stat_cache_dropped", "temp_files", "cache_corrupt", "removed"}


def test_verify_json_shape_and_deep_aliases(ws, tmp_path):
    src = write(tmp_path / "src", {f"f{i}.txt": f"{i} " * 20 for i in range(5)})
    run(ws, "snapshot", str(src))
    quick = json.loads(run(ws, "verify", "--json").output)
    assert set(quick) == VERIFY_KEYS and quick["deep"] is False and quick["trees"] == 1 and quick["checked"] == 6
    for flag in ("--deep", "--read-data"):
        deep = json.loads(run(ws, "verify", flag, "--json").output)
        assert set(deep) == VERIFY_KEYS and deep["deep"] is True and deep["ok"] is True
    assert "structure only; --deep also re-hashes every blob" in run(ws, "verify").output
    assert "deep: every blob re-hashed" in run(ws, "verify", "--read-data").output


def test_a_damaged_pack_index_through_the_cli_in_a_real_process(ws, tmp_path):
    files = {f"f{i}.txt": f"content {i} " * 40 for i in range(30)}
    tree = json.loads(run(ws, "snapshot", str(write(tmp_path / "src", files)), "--json").output)["tree"]
    db = sqlite3.connect(ws / ".canalis" / "objects" / "packindex.db")
    db.execute("UPDATE blobs SET offset = offset + 1")
    db.commit()
    db.close()
    code = "from canalis.cli import main; main()"

    def canalis(*args):
        return subprocess.run([sys.executable, "-c", code, *args], cwd=ws, capture_output=True, text=True, timeout=120)

    listing = json.loads(run(ws, "ls", tree, "--json").output)
    assert canalis("store", "cat", listing[0]["digest"]).returncode == 1  # every read fails
    p = canalis("store", "verify", "--json")
    assert p.returncode == 1, p.stderr
    (damage,) = json.loads(p.stdout)["index_damaged"]
    assert set(damage) == {"pack", "entries", "reason"} and damage["entries"] == 30
    p = canalis("store", "verify")
    assert p.returncode == 1 and "damaged pack index" in p.stdout and "Traceback" not in p.stdout + p.stderr
    p = canalis("store", "verify", "--repair", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["index_rebuilt"] is True
    for e in listing:
        p = canalis("store", "cat", e["digest"])
        assert p.returncode == 0 and p.stdout == files[e["path"]]
    assert canalis("store", "verify", "--deep").returncode == 0


def test_an_unknown_chunk_compression_setting_is_refused_by_name_in_a_real_process(ws, tmp_path):
    cfg_path = ws / ".canalis" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["store"]["chunk_compression"] = "sometimes"
    cfg_path.write_text(json.dumps(cfg))
    (tmp_path / "f.txt").write_text("x\n")
    p = subprocess.run([sys.executable, "-c", "from canalis.cli import main; main()", "store", "put",
                        str(tmp_path / "f.txt"), "--workspace", str(ws)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "chunk compression 'sometimes' is not one of put, later; set store.chunk_compression" in p.stderr
    assert "Traceback" not in p.stderr
