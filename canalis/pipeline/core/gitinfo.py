"""Git metadata of a source folder: remote URL, branch, commit, dirty flag (or None)."""
from __future__ import annotations

import subprocess
from pathlib import Path


def _git(folder: Path, *args) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def describe(folder: Path) -> dict | None:
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    commit = _git(folder, "rev-parse", "HEAD")
    status = _git(folder, "status", "--porcelain", "--untracked-files=no", "--", ".")
    return {
        "root": top,
        "commit": commit,
        "branch": _git(folder, "rev-parse", "--abbrev-ref", "HEAD"),
        "remote": _git(folder, "config", "--get", "remote.origin.url"),
        "dirty": bool(status),
    }
