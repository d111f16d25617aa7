"""The default runner: a subprocess on this machine with the current interpreter.

A runner executes a bound step (executor/bind.py) in its working layout: it renders the
step's argv with the layout's folders and its interpreter, starts the process with the
environment it is given (the bound step's variables are already in it), and reports each
line of output. Each step runs in a session (and process group) of its own, so that
canceling a run stops the step and every process it started: SIGTERM to the group,
SIGKILL after a grace period.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from canalis.executor.errors import StepLaunchError

#: seconds between SIGTERM and SIGKILL when steps are stopped
STOP_GRACE_S = 10.0


class LocalRunner:
    name = "local"

    def __init__(self, python: str = sys.executable):
        self.python = python
        self._live: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._stopping = False

    def run(self, bound, layout, env, on_line, on_start=None, python=None) -> int:
        """Run `bound` in `layout` (cwd: its source folder) with `python` (default: the runner's
        interpreter) as the step's interpreter; returns the exit code."""
        argv, cwd = bound.render(layout, python or self.python), str(layout.src)
        try:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as e:
            raise StepLaunchError(f"could not start {argv[0]!r} in {cwd}: {e}") from e
        with self._lock:
            self._live.add(proc)
            stopping = self._stopping
        if stopping:  # canceled while this step was being launched
            self._stop([proc], STOP_GRACE_S)
        if on_start:
            try:
                on_start(proc.pid)
            except BaseException:  # the step must not outlive a failure to record its start
                self._stop([proc], 0)
                proc.wait()
                raise
        readers = [
            threading.Thread(target=_pump, args=(proc.stdout, "stdout", on_line), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, "stderr", on_line), daemon=True),
        ]
        for t in readers:
            t.start()
        try:
            code = proc.wait()
        finally:
            with self._lock:
                self._live.discard(proc)
        for t in readers:
            t.join()
        return code

    def stop_all(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop every running step and any step launched from now on: SIGTERM to each
        step's process group, SIGKILL to groups whose leader outlives `grace_s`."""
        with self._lock:
            self._stopping = True
            procs = list(self._live)
        self._stop(procs, grace_s)

    @staticmethod
    def _stop(procs, grace_s: float) -> None:
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)

        def reap():
            for proc in procs:
                try:
                    proc.wait(timeout=grace_s)
                except subprocess.TimeoutExpired:
                    pass
                _signal_group(proc, signal.SIGKILL)  # the group's other processes too

        threading.Thread(target=reap, name="canalis-stop-steps", daemon=True).start()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    signal_group(proc.pid, sig)


def signal_group(pgid: int, sig: int) -> None:
    """Signal the process group a step leads (its id is the step's pid: a new session);
    a group that is already gone is not an error."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


#: bytes read from a step's pipe at a time
READ_CHUNK = 64 << 10
#: a line longer than this is passed on in pieces of at most this size
LINE_LIMIT = 1 << 20


def _pump(pipe, stream, on_line, limit: int = LINE_LIMIT):
    """Pass what the step writes to `on_line(stream, bytes)` as soon as it arrives, whole lines
    at a time (several per call when they come together); a line longer than `limit` is passed
    on in pieces, so memory stays bounded whatever the step prints."""
    pending = bytearray()
    with pipe:
        while chunk := pipe.read1(READ_CHUNK):
            pending += chunk
            cut = pending.rfind(b"\n") + 1
            if cut == 0 and len(pending) < limit:
                continue  # part of a line: wait for its end (or for the limit)
            cut = cut or len(pending)
            on_line(stream, bytes(pending[:cut]))
            del pending[:cut]
        if pending:
            on_line(stream, bytes(pending))
