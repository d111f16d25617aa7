"""Helpers shared by the store tests (imported by name: tests/store is on sys.path)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def write(root: Path, files: dict[str, bytes | str]) -> Path:
    """Create files under root: {relative path: content}."""
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def numbered_files(root: Path, n: int, count: int) -> dict[str, Path]:
    """`count` small files of distinct contents in root/files{n}/: {"f{i}.txt": path}, as a
    store's put_files takes them."""
    files = {}
    for i in range(count):
        path = root / f"files{n}" / f"f{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"content {n} {i}\n")
        files[f"f{i}.txt"] = path
    return files


def age(path: Path, seconds: float = 10) -> None:
    """Move a file's mtime into the past, so the stat cache trusts it (no racy mtime)."""
    st = os.stat(path, follow_symlinks=False)
    ns = st.st_mtime_ns - int(seconds * 1e9)
    os.utime(path, ns=(ns, ns), follow_symlinks=False)


def age_tree(root: Path, seconds: float = 10) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            p = Path(dirpath) / name
            if not p.is_symlink():
                age(p, seconds)


def kill_once_writing(script: str, args: list, tmp: Path, timeout: float = 60) -> int:
    """Run `script` in a new Python process (it prints "ready" first) and SIGKILL it as
    soon as a temp file appears in `tmp`; returns its exit status (-9 when killed)."""
    proc = subprocess.Popen([sys.executable, "-c", script, *map(str, args)], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    deadline = time.monotonic() + timeout
    while not os.listdir(tmp) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    return proc.returncode
