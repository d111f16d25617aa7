"""Runs a file submits while `canalis submit` loads it.

An SDK v1 script often ends with `Experiment(ws, name).submit(pipeline)` at top level.
`canalis submit FILE.py` loads the file to find its pipeline; if the file submits while it is
loaded, that run is the one `canalis submit` reports, and nothing is submitted a second time.
`Experiment.submit` notes each run it returns here; `canalis submit` collects them with
`capturing()`. While capturing, Ctrl-C in the file's own `wait_for_completion` reaches
`canalis submit` as it is (which cancels the run), instead of stopping the wait only.
"""
from __future__ import annotations

from contextlib import contextmanager

_stack: list[list] = []
_dry: list[bool] = []


class DrySubmit(BaseException):
    """Raised by `Experiment.submit` while `canalis submit --dry-run` loads a file: the file's
    own submit is where loading stops, and what it would submit is previewed instead. (A
    BaseException, so that the file's `except Exception` does not swallow it.)"""

    def __init__(self, experiment, config, kwargs):
        super().__init__(f"dry run of the submit of {config!r} to experiment {experiment.name!r}")
        self.experiment, self.config, self.kwargs = experiment, config, kwargs


@contextmanager
def dry_run():
    """Inside the block, `Experiment.submit` submits nothing: it raises DrySubmit."""
    _dry.append(True)
    try:
        yield
    finally:
        _dry.pop()


def intercept(experiment, config, kwargs) -> None:
    """Called by `Experiment.submit` before it submits: in a dry run, stop there."""
    if _dry:
        raise DrySubmit(experiment, config, kwargs)


@contextmanager
def capturing():
    """Collects the runs submitted inside the block (a list, filled as they are submitted)."""
    runs: list = []
    _stack.append(runs)
    try:
        yield runs
    finally:
        _stack.remove(runs)


def note(run) -> None:
    """Called by `Experiment.submit` with each run it returns."""
    if _stack:
        _stack[-1].append(run)


def active() -> bool:
    return bool(_stack)
