"""An executor process started before its run exists, so that its start overlaps the submit.

Starting a run's executor costs an interpreter and its imports (~0.15 s), which a resume or
a reproduction would otherwise wait for after recording the run. A process about to start
a run (`canalis resume` and `reproduce` as soon as they start; a caller of
`Session.prestart_executor`) may start a standby (`canalis submit` does not: a submit whose
every step is reused starts no executor at all, executor/noop.py): the executor started with `--standby`, which imports what it needs and opens the
workspace, then reads one line on its stdin: the arguments of the run it is to execute
(`RUN_ID [--resume] [--max-concurrent-steps N]`) and the environment it is to have, as JSON
(`{"args": [...], "env": {...}}`; the environment the submitting process has by then, so the
steps see what they would see from an executor started at that moment). The first run this process starts on that
workspace is handed to it (`take`); from then on it is that run's executor like any other
(executor/launch.py). A standby that is never handed a run reads end-of-file when this
process closes the pipe or exits, and quits without writing anything anywhere.

This module imports nothing heavy, so a command can start the standby before its own imports.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading

#: base argv (the workspace's executor command) -> the standby waiting for a run of that workspace
_waiting: dict[tuple[str, ...], "Standby"] = {}
_lock = threading.Lock()


def reaped(popen: subprocess.Popen) -> threading.Event:
    """An event set once the child has exited; a thread waits for it meanwhile. An exited
    child nobody waits for stays a zombie, which would look alive (executor/orphans.py)."""
    exited = threading.Event()

    def reap():
        popen.wait()
        exited.set()

    threading.Thread(target=reap, name=f"canalis-reap-{popen.pid}", daemon=True).start()
    return exited


class Standby:
    """An executor process waiting on its stdin for the run to execute."""

    def __init__(self, base_argv: list[str], cwd):
        self.base_argv = list(base_argv)
        # output goes nowhere until it has a run: then it opens that run's log itself
        self.popen = subprocess.Popen([*base_argv, "--standby"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, cwd=cwd, start_new_session=True, close_fds=True)
        self.pid = self.popen.pid
        self.exited = reaped(self.popen)

    def hand(self, args: list[str]) -> bool:
        """Give it its run's arguments and this process's environment as it is now (what an
        executor started now would inherit, and pass on to the steps); False when it is gone
        (it died, or could not start)."""
        if self.exited.is_set():
            return False
        try:
            self.popen.stdin.write((json.dumps({"args": list(args), "env": dict(os.environ)}) + "\n").encode())
            self.popen.stdin.close()
        except OSError:  # BrokenPipeError: it exited meanwhile
            return False
        return True

    def discard(self) -> None:
        """It will get no run: end-of-file on its stdin makes it quit."""
        try:
            self.popen.stdin.close()
        except OSError:
            pass


def prestart(base_argv: list[str], cwd) -> None:
    """Start a standby for the workspace whose executor command is `base_argv`, unless one waits."""
    key = tuple(base_argv)
    with _lock:
        if key not in _waiting or _waiting[key].exited.is_set():
            _waiting[key] = Standby(base_argv, cwd)


def take(base_argv: list[str]) -> Standby | None:
    """The waiting standby for that workspace (it is no longer offered), or None."""
    with _lock:
        return _waiting.pop(tuple(base_argv), None)


def discard(base_argv: list[str]) -> None:
    """Let the standby for that workspace, if any, quit (the submit it was for did not happen)."""
    standby = take(base_argv)
    if standby is not None:
        standby.discard()
