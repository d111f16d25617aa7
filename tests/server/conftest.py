"""A real `canalis serve` on 127.0.0.1 (a free port) over a fresh workspace with one
published pipeline, and a token to call it with."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from canalis.core import Workspace
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script

ECHO = """
import sys
print("argv:" + "|".join(sys.argv[1:]))
"""


def canalis(root, *args, check=True, env=None) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "canalis", *args, "--workspace", str(root)], capture_output=True,
                       text=True, env=env)
    if check:
        assert r.returncode == 0, r.stderr
    return r


class Server:
    """One `canalis serve` process: its URL, and stop/start for restarts."""

    def __init__(self, root: Path, log: Path, env: dict | None = None, host: str | None = None):
        self.root, self.log, self.env, self.host = Path(root), log, env, host
        self.proc = None
        self.url = None

    def start(self):
        record = self.root / ".canalis" / "server.json"
        env = {**os.environ, "CANALIS_SCHEDULER_TICK": "0.2", "CANALIS_SCHEDULER_SETTLE": "1", **(self.env or {})}
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "canalis", "serve", "--port", "0", "--workspace",
                                          str(self.root)] + (["--host", self.host] if self.host else []), stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                data = json.loads(record.read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                data = {}
            if data.get("pid") == self.proc.pid:
                try:
                    if requests.get(data["url"] + "/health", timeout=5).status_code == 200:
                        self.url = data["url"]
                        return self
                except requests.ConnectionError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"the server did not start: {self.log.read_text()}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def wait_for(predicate, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
def ws(tmp_path):
    return Workspace.create("test", path=tmp_path / "ws")


@pytest.fixture
def published(ws, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    script(src, "echo.py", ECHO)
    pipeline = Pipeline(ws, [PythonScriptStep(name="echo", script_name="echo.py", source_directory=str(src),
                                              arguments=[PipelineParameter("n", 3), PipelineParameter("who", "x")])])
    return pipeline.publish(name="echo", description="echoes its parameters", version="1")


@pytest.fixture
def server(ws, tmp_path, counter):
    s = Server(ws.root, tmp_path / "server.log").start()
    yield s
    s.stop()


@pytest.fixture
def counter(tmp_path, monkeypatch):
    path = tmp_path / "started.txt"
    path.write_text("")
    monkeypatch.setenv("CANALIS_TEST_COUNTER", str(path))
    return path


@pytest.fixture
def token(ws):
    r = canalis(ws.root, "token", "create", "ci")
    return r.stdout.strip().splitlines()[-1]


def bearer(text: str) -> dict:
    return {"Authorization": f"Bearer {text}"}
