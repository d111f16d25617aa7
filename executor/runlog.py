"""Where a run's executor log lives. Apart from `launch` (which starts processes and so
imports `subprocess`) because a run recorded by the submitting process (executor/noop.py)
writes to the same log and starts no process."""
from __future__ import annotations

from pathlib import Path

LOG_NAME = "executor.log"


def log_path(runs_dir, run_id: str) -> Path:
    """Where the executor of `run_id` writes what it has to say (one file, appended by every
    executor of the run: the first and those of its resumes)."""
    return Path(runs_dir) / run_id / LOG_NAME


__all__ = ["LOG_NAME", "log_path"]
