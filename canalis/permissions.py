"""Who may read a workspace's `.canalis/`: its owner only (private, the default) or a group
(shared). docs/secrets.md, "Permissions".

- private: folders 0700, files 0600;
- shared (`canalis init --shared GROUP`): folders 2770 (setgid, so new files and folders
  take the group), files 0660, all owned by GROUP.

Files created later (blobs, packs, the ledger's WAL and shared-memory files, lock files,
step logs) follow the same rule through the **process umask**: a process that opens a
workspace narrows its umask to 077 (private) or sets it to 007 (shared). SQLite gives the
WAL and -shm files the database file's own mode. The umask is process-wide, so files such a
process writes elsewhere afterwards are private too; that is the price of one rule that
every writer (store, ledger, steps) follows without each knowing about it.
"""
from __future__ import annotations

import grp
import os
from pathlib import Path

from canalis.errors import WorkspaceError
from canalis.executor.records import record  # a dataclass that compiles no methods

SETTING = "permissions"


@record
class Policy:
    """The modes of one workspace: group None means private."""

    group: str | None = None

    @property
    def shared(self) -> bool:
        return self.group is not None

    @property
    def dir_mode(self) -> int:
        return 0o2770 if self.shared else 0o700

    @property
    def file_mode(self) -> int:
        return 0o660 if self.shared else 0o600

    @property
    def gid(self) -> int | None:
        return group_id(self.group) if self.shared else None

    def too_open(self, mode: int) -> bool:
        """Whether a file mode grants more than this policy allows."""
        return bool(mode & 0o777 & ~self.file_mode)

    def to_config(self) -> dict:
        return {"mode": "shared", "group": self.group} if self.shared else {"mode": "private"}

    def describe(self) -> str:
        return f"shared with group {self.group!r} (folders 2770, files 0660)" if self.shared else \
            "private to its owner (folders 0700, files 0600)"


def group_id(group) -> int:
    """The gid of a group name or number; WorkspaceError naming it when unknown."""
    try:
        return grp.getgrnam(str(group)).gr_gid
    except KeyError:
        if str(group).isdigit():
            return int(group)
        raise WorkspaceError(f"there is no group named {group!r} on this machine; create it or name an existing "
                             "group (see `getent group`)") from None


def policy_of(config: dict) -> Policy:
    """The policy a workspace config names; a config without one (older workspaces) is private."""
    setting = config.get(SETTING) or {}
    if setting.get("mode") == "shared":
        return Policy(str(setting["group"]))
    return Policy()


def apply_umask(policy: Policy) -> None:
    """Narrow this process's umask so new files follow `policy` (see module docstring)."""
    current = os.umask(0o077)
    os.umask((current | 0o007) & ~0o070 if policy.shared else current | 0o077)


def secure_file(path, policy: Policy) -> None:
    """Give one file (or folder) the policy's mode and, when shared, its group."""
    path = Path(path)
    gid = policy.gid
    if gid is not None:
        os.chown(path, -1, gid, follow_symlinks=False)
    os.chmod(path, policy.dir_mode if path.is_dir() else policy.file_mode)


def secure_tree(folder, policy: Policy) -> None:
    """Apply `policy` to `folder` and everything under it (symlinks are left alone).
    Read-only files stay without write bits (store checkouts rely on that) and executable
    files stay executable (materialised environments)."""
    folder = Path(folder)
    gid = policy.gid
    for dirpath, dirnames, filenames in os.walk(folder):
        os.chmod(dirpath, policy.dir_mode)
        if gid is not None:
            os.chown(dirpath, -1, gid)
        for name in filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if not os.path.isfile(p) or os.path.islink(p):
                continue
            mode = policy.file_mode if st.st_mode & 0o200 else policy.file_mode & 0o444
            if st.st_mode & 0o100:
                mode |= (mode & 0o444) >> 2
            if gid is not None:
                os.chown(p, -1, gid)
            os.chmod(p, mode)


def refuse_open_file(path, policy: Policy, what: str) -> None:
    """WorkspaceError when `path` grants more than `policy` allows, naming the fix."""
    try:
        mode = os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        return
    if policy.too_open(mode):
        raise WorkspaceError(
            f"{path} ({what}) has mode {mode:04o}, which lets other users read it; canalis will not use it until "
            f"you run `chmod {policy.file_mode:o} {path}`"
        )
