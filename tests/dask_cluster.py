"""A real Dask cluster for the tests marked `dask`: one `dask scheduler` and two `dask worker`
processes (named w1 and w2, one thread each, no nanny, so that killing a worker's pid kills
the worker) on 127.0.0.1 at a free port.

When CI has started them already it exports CANALIS_TEST_DASK_SCHEDULER (the address) and
CANALIS_TEST_DASK_WORKERS ("w1=PID,w2=PID"); otherwise the session fixture starts them as
subprocesses here and stops exactly those pids at the end. A test that kills a worker calls
`restart(name)` after, which starts a new worker of that name (stopped at the end too).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

NAMES = ("w1", "w2")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, address: str, workers: dict[str, int], logs):
        self.address, self.workers, self.logs = address, dict(workers), logs
        self.started: list[subprocess.Popen] = []  # the processes this fixture started, stopped at the end

    def _spawn(self, argv) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", *argv], stdout=self.logs, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.started.append(proc)
        return proc

    def start_worker(self, name: str) -> int:
        proc = self._spawn(["distributed.cli.dask_worker", self.address, "--name", name, "--nthreads", "1",
                            "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"])
        self.workers[name] = proc.pid
        return proc.pid

    def client(self):
        from distributed import Client

        return Client(self.address, timeout="30s", set_as_default=False)

    def wait_ready(self, timeout=120.0) -> None:
        """Until every worker named in `workers` is connected to the scheduler."""
        deadline = time.monotonic() + timeout
        with self.client() as c:
            while time.monotonic() < deadline:
                names = {w.get("name") for w in c.scheduler_info()["workers"].values()}
                if all(n in names for n in self.workers):
                    return
                time.sleep(0.1)
        raise AssertionError(f"the Dask workers {sorted(self.workers)} did not connect to {self.address}")

    def worker_pid(self, name: str) -> int:
        return self.workers[name]

    def kill(self, name: str) -> None:
        """SIGKILL the worker process `name` (as a crash would end it) and wait until the
        scheduler has dropped it."""
        pid = self.workers.pop(name)
        os.kill(pid, signal.SIGKILL)
        for proc in self.started:
            if proc.pid == pid:
                proc.wait()
        with self.client() as c:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if name not in {w.get("name") for w in c.scheduler_info()["workers"].values()}:
                    return
                time.sleep(0.1)

    def restart(self, name: str) -> None:
        if name not in self.workers:
            self.start_worker(name)
        self.wait_ready()

    def stop(self) -> None:
        for proc in reversed(self.started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.started):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory):
    pytest.importorskip("distributed", reason="the Dask tests need `pip install canalis[dask]`")
    logs = open(tmp_path_factory.mktemp("dask") / "cluster.log", "ab")
    given = os.environ.get("CANALIS_TEST_DASK_SCHEDULER")
    if given:
        workers = dict(p.split("=") for p in os.environ.get("CANALIS_TEST_DASK_WORKERS", "").split(",") if p)
        cluster = Cluster(given, {n: int(pid) for n, pid in workers.items()}, logs)
    else:
        port = _free_port()
        cluster = Cluster(f"tcp://127.0.0.1:{port}", {}, logs)
        cluster._spawn(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                        "--no-dashboard"])
        for name in NAMES:
            cluster.start_worker(name)
    try:
        cluster.wait_ready()
        yield cluster
    finally:
        cluster.stop()
        logs.close()
