"""Ignore rules for snapshots: `.amlignore` if a folder has one, else its `.gitignore`.

Each folder chooses its own file (an `.amlignore` in `src/` hides `src/.gitignore`, not the
root's `.gitignore`). Patterns use gitignore syntax (pathspec's GitIgnoreSpec) and apply to
paths relative to the folder holding the file. As in git, the deepest file with a matching
pattern decides, the last matching pattern of a file wins, `!pattern` re-includes, and a
file inside an ignored folder cannot be re-included (the folder is never entered).
`.canalis/` and `.git/` are never part of a snapshot, whatever the files say.
"""
from __future__ import annotations

import os

IGNORE_FILES = (".amlignore", ".gitignore")
ALWAYS_EXCLUDED = frozenset({".canalis", ".git"})


class Rules:
    """The ignore files in force for one folder: a stack of (folder prefix, spec), deepest last."""

    __slots__ = ("stack",)

    def __init__(self, stack: tuple = ()):
        self.stack = stack

    def child(self, prefix: str, names, folder_abs: str) -> "Rules":
        """The rules for folder `prefix` ('' for the root, else 'a/b/'), given its entry names."""
        for name in IGNORE_FILES:
            if name in names:
                spec = load_spec(os.path.join(folder_abs, name))
                if spec is None:
                    return self
                return Rules(self.stack + ((prefix, spec),))
        return self

    def ignored(self, rel: str, is_dir: bool) -> bool:
        for prefix, spec in reversed(self.stack):
            sub = rel[len(prefix) :]
            if is_dir:
                sub += "/"
            res = spec.check_file(sub)
            if res.include is not None:
                return res.include
        return False


def load_spec(path: str):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.read().splitlines()
    if not any(line.strip() and not line.startswith("#") for line in lines):
        return None
    from pathspec import GitIgnoreSpec  # imported only when a folder has rules

    return GitIgnoreSpec.from_lines(lines)
