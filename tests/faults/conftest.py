"""Fixtures of the fault-injection suite.

Workspaces live on a memory file system (/dev/shm) when there is one: the suite kills
processes, it does not cut power, so what a killed process leaves behind is the same as on
a disk, and the many fsyncs of a store cost nothing there. That keeps the suite to a couple
of minutes.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest


def _memory_dir() -> str | None:
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder for this module's workspaces, on /dev/shm when possible."""
    base = _memory_dir()
    if base is None:
        yield tmp_path_factory.mktemp("faults")
        return
    folder = Path(tempfile.mkdtemp(prefix="canalis-faults-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
