"""Where an executed step's time goes inside the executor, on request.

With `CANALIS_STEP_PROFILE=1` in the executor's environment (the submitting process's
environment reaches it), each step that runs writes one line to the executor's stderr, which
is the run's `executor.log`:

    canalis step profile s3: bind=0.41 reuse_lookup=0.52 checkout=1.10 ... total=61.2

the milliseconds of each phase, in the order they happened, and the step's total in the
executor. `bench/stepcost_bench.py --profile` reads these lines. Off (the default), a mark
costs one attribute test.
"""
from __future__ import annotations

import os
import sys
import time

ENV_VAR = "CANALIS_STEP_PROFILE"


class StepClock:
    """Splits one step's time in the executor into named phases (`mark` ends a phase)."""

    __slots__ = ("on", "name", "parts", "start", "last")

    def __init__(self, step_name: str):
        self.on = os.environ.get(ENV_VAR) == "1"
        if self.on:
            self.name, self.parts = step_name, {}
            self.start = self.last = time.perf_counter()

    def mark(self, phase: str) -> None:
        """The phase `phase` ends now (times of a phase marked twice add up)."""
        if self.on:
            now = time.perf_counter()
            self.parts[phase] = self.parts.get(phase, 0.0) + (now - self.last)
            self.last = now

    def report(self) -> None:
        if self.on:
            parts = dict(self.parts, total=time.perf_counter() - self.start)
            line = " ".join(f"{k}={1000 * v:.2f}" for k, v in parts.items())
            print(f"canalis step profile {self.name}: {line}", file=sys.stderr, flush=True)
