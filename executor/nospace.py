"""Failures that come from outside a step's code: no space left on device, a step's process
killed by a signal canalis did not send. A run that fails only for such reasons is recorded
`Failed` with `resumable: true`, naming the step and where it happened, and
`canalis resume RUN` runs those steps again once the cause is gone.

Where the space runs out decides what can be recorded:

- the step's own process (writing its outputs) fails, and its stderr says so ("No space left
  on device"), usually naming the file;
- the executor itself (checking out sources and inputs, writing the step's logs, storing its
  outputs in the store) gets an OSError with errno ENOSPC (or EDQUOT) and names what it was
  doing and the file;
- the ledger (SQLite needs pages for every event) raises `LedgerFull`. The executor then
  removes the failed step's partial outputs (often what filled the disk; they would never be
  stored) and tries once more. If the ledger still cannot record the failure, nothing more can
  be: the run stays `Running` in the ledger, is shown `Orphaned` once the process is gone,
  and `canalis resume RUN` finishes it after space is freed (the step that was running is
  recorded as abandoned and runs again).
"""
from __future__ import annotations

import errno
import shutil
import signal
from pathlib import Path

from canalis.executor.errors import ExecutorError
from canalis.ledger.errors import LedgerFull

NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
#: what a process prints when a write fails for lack of space (strerror of ENOSPC / EDQUOT)
NO_SPACE_TEXT = ("No space left on device", "Disk quota exceeded")
#: signals that stop a process from outside (kill, the out-of-memory killer, a hang-up);
#: a step that dies of SIGSEGV or SIGABRT failed by itself
EXTERNAL_SIGNALS = frozenset({signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP})


class RunNotRecorded(ExecutorError):
    """The ledger has no room to record how a run ended."""


def is_no_space(exc: BaseException | None) -> bool:
    """Whether `exc` (or what caused it) is a write that failed for lack of space."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, LedgerFull) or (isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def says_no_space(lines) -> bool:
    """Whether a step's stderr says it ran out of space."""
    return any(marker in line for line in lines for marker in NO_SPACE_TEXT)


def killed_from_outside(exit_code: int | None) -> str | None:
    """The signal's name when a step's exit code says a signal from outside stopped it."""
    if exit_code is None or exit_code >= 0:
        return None
    try:
        sig = signal.Signals(-exit_code)
    except ValueError:
        return None
    return sig.name if sig in EXTERNAL_SIGNALS else None


def describe(step_name: str, phase: str | None, exc: BaseException) -> str:
    """"no space left on device in step 'x' while <phase> (<file>)"."""
    path = None
    while exc is not None and path is None:
        path = "the ledger has no room to record it" if isinstance(exc, LedgerFull) else getattr(exc, "filename", None)
        exc = exc.__cause__ or exc.__context__
    where = f" while {phase}" if phase else ""
    return f"no space left on device in step {step_name!r}{where}" + (f" ({path})" if path else "")


def free_partial_outputs(work: Path) -> int:
    """Remove a failed step's output folders (they are never stored); returns the bytes freed."""
    freed = 0
    outputs = Path(work) / "outputs"
    if outputs.is_dir():
        for f in outputs.rglob("*"):
            try:
                if f.is_file():
                    freed += f.stat().st_size
            except OSError:
                pass
        shutil.rmtree(outputs, ignore_errors=True)
    return freed
