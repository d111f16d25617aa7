"""Fixtures for pipeline tests: a fresh workspace, a source folder, and a process counter.

Step scripts append their name to the file named by CANALIS_TEST_COUNTER, so a test can
count the processes a submit really started.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from canalis.core import Workspace

COUNTING = """
import os, sys
with open(os.environ["CANALIS_TEST_COUNTER"], "a") as _f:
    _f.write(os.path.basename(sys.argv[0]) + "\\n")
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def script(folder: Path, name: str, body: str) -> Path:
    return write(folder / name, COUNTING + textwrap.dedent(body))


@pytest.fixture
def counter(tmp_path, monkeypatch):
    path = tmp_path / "started.txt"
    path.write_text("")
    monkeypatch.setenv("CANALIS_TEST_COUNTER", str(path))

    class Counter:
        def lines(self):
            return [x for x in path.read_text().splitlines() if x]

        def reset(self):
            path.write_text("")

    return Counter()


@pytest.fixture
def ws(tmp_path):
    return Workspace.create("test", path=tmp_path / "ws")


@pytest.fixture
def src(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    return folder


def statuses(run) -> dict:
    return {s.name: ("Reused" if s.reused else s.get_status()) for s in run.get_steps()}


def started_steps(ws, run) -> list[str]:
    return sorted(r.payload["step_name"] for r in ws.ledger.events(stream=f"run:{run.id}", type="step.started"))
