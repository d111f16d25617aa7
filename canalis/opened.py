"""The ledgers and stores a canalis process opens, closed before the process exits.

The `canalis` command (canalis/cli/entry.py for a plain submit, the click group in
canalis/cli/group.py for everything else) and a run's executor process (canalis/executor_main.py)
run their whole work inside `closed_after()`. Every ledger and store opened through a workspace's
Layout meanwhile (canalis/layout.py: the SDK's Workspace, a pipeline file's, the CLI's own) is
kept here, and closed when the block ends: when it returns, raises, exits (`sys.exit`, a usage
error, a failed run) or is interrupted (Ctrl-C). Each connection is closed in turn with the other
processes' (`Ledger.close`, `LocalStore.close`), so that whichever process closes last
checkpoints the databases and removes their `-wal` and `-shm` files, instead of leaving that
to when, and in which order, the interpreters of the command and its run's executor finalize
their objects.

Outside such a block (a program or notebook using the Python API, a test calling the command
group with CliRunner) nothing is kept: what a caller opens stays open as long as it uses it.
This module imports nothing, so that the command can start its block before anything else.
"""
from __future__ import annotations

#: what was opened since the innermost `closed_after()` began (None: outside any)
_kept: list | None = None


def keep(part):
    """Keep `part` (a ledger or store just opened) to be closed when the current `closed_after()`
    block ends, if one is active; returns `part`."""
    if _kept is not None:
        _kept.append(part)
    return part


class closed_after:
    """`with closed_after(): ...` closes, as the block ends however it ends, every ledger and
    store opened within it, the last opened first. An error of one close does not keep the others
    open; the first is raised once all are closed."""

    def __enter__(self):
        global _kept
        self._outer, _kept = _kept, []
        return self

    def __exit__(self, *exc) -> None:
        global _kept
        mine, _kept = _kept, self._outer
        error = None
        for part in reversed(mine):
            try:
                part.close()
            except BaseException as e:  # noqa: BLE001 - raised below, once the others are closed
                error = error or e
        if error is not None:
            raise error


__all__ = ["closed_after", "keep"]
