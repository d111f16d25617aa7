"""Git metadata of a source folder: remote URL, branch, commit, dirty flag (or None).

A submit asks for every step's source folder; `Repositories` reads each repository once
(one `git status` process, which also gives the commit and branch) and answers every folder
in it from that: a folder is dirty when a tracked file under it has changed. The remote's URL
is read from the repository's config file (a `git config` process only when that file
includes others).
"""
from __future__ import annotations

import os
import re
from pathlib import Path


def _git(folder: Path, *args) -> str | None:
    import subprocess  # here: a folder outside any git work tree runs no git (and needs no subprocess)

    try:
        out = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.decode("utf-8", "surrogateescape")


def find_root(folder: Path) -> Path | None:
    """The top of the work tree `folder` is in (the nearest folder holding `.git`), or None."""
    here = Path(folder).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _git_dir(root: Path) -> Path:
    dot = root / ".git"
    if dot.is_file():  # a linked work tree or a submodule: "gitdir: <path>"
        text = dot.read_text(errors="replace").strip()
        if text.startswith("gitdir:"):
            dot = (root / text[len("gitdir:"):].strip()).resolve()
    common = dot / "commondir"
    if common.is_file():
        dot = (dot / common.read_text(errors="replace").strip()).resolve()
    return dot


# patterns as text: compiled (and kept by `re`) when a repository's config is read, not at import
_SECTION = r'^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$'
_KEY = r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*?))?\s*$"


def _remote_url(root: Path) -> str | None:
    """`remote.origin.url` from the repository's config file; a file with includes is asked of git."""
    try:
        text = (_git_dir(root) / "config").read_text(errors="surrogateescape")
    except OSError:
        text = None
    if text is None or re.search(r"^\s*\[\s*include", text, re.IGNORECASE | re.MULTILINE):
        out = _git(root, "config", "--get", "remote.origin.url")
        return out.strip() if out is not None else None
    section, url = None, None
    for line in text.splitlines():
        m = re.match(_SECTION, line)
        if m:
            name, sub = m.group(1), m.group(2)
            if sub is None and "." in name:  # the old form [remote.origin]
                name, sub = name.split(".", 1)[0], name.split(".", 1)[1].lower()
            section = (name.lower(), sub)
            line = m.group(3)
            if not line.strip():
                continue
        k = re.match(_KEY, line)
        if k and section == ("remote", "origin") and k.group(1).lower() == "url" and k.group(2) is not None:
            value = k.group(2)
            value = re.sub(r'\s[#;].*$', "", value) if not value.startswith('"') else value
            url = value.strip().strip('"')  # the last one wins, as with `git config --get`
    return url


def _parse_status(out: str) -> tuple[str | None, str | None, list[str]]:
    """(commit, branch, changed paths) of `git status --porcelain=v2 --branch -z`."""
    commit = branch = None
    changed: list[str] = []
    fields = out.split("\0")
    i = 0
    while i < len(fields):
        f = fields[i]
        i += 1
        if not f:
            continue
        if f.startswith("# branch.oid "):
            oid = f[len("# branch.oid "):]
            commit = None if oid == "(initial)" else oid
        elif f.startswith("# branch.head "):
            head = f[len("# branch.head "):]
            branch = "HEAD" if head == "(detached)" else head
        elif f.startswith("#"):
            continue
        elif f[0] == "1":
            changed.append(f.split(" ", 8)[8])
        elif f[0] == "2":  # renamed or copied: the original path is the next field
            changed.append(f.split(" ", 9)[9])
            if i < len(fields):
                changed.append(fields[i])
                i += 1
        elif f[0] == "u":
            changed.append(f.split(" ", 10)[10])
    if commit is None:
        branch = None  # no commit yet: HEAD names nothing (as `git rev-parse --abbrev-ref HEAD` says)
    return commit, branch, changed


class Repositories:
    """Git metadata for the folders of one submit, each repository read once."""

    def __init__(self):
        self._repos: dict[Path, dict | None] = {}

    def _read(self, root: Path) -> dict | None:
        out = _git(root, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=no")
        if out is None:  # not a repository git will read (e.g. owned by someone else)
            return None
        commit, branch, changed = _parse_status(out)
        return {"commit": commit, "branch": branch, "changed": changed, "remote": _remote_url(root)}

    def describe(self, folder: Path) -> dict | None:
        root = find_root(folder)
        if root is None:
            return None
        if root not in self._repos:
            self._repos[root] = self._read(root)
        repo = self._repos[root]
        if repo is None:
            return None
        rel = os.path.relpath(Path(folder).resolve(), root).replace(os.sep, "/")
        if rel == ".":
            dirty = bool(repo["changed"])
        else:
            dirty = any(p == rel or p.startswith(rel + "/") for p in repo["changed"])
        return {"root": str(root), "commit": repo["commit"], "branch": repo["branch"], "remote": repo["remote"],
                "dirty": dirty}


def describe(folder: Path) -> dict | None:
    """The git metadata of one folder (a submit shares one `Repositories` across its steps)."""
    return Repositories().describe(folder)
