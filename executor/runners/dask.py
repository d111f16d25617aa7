"""The Dask runner: a step as a task on a worker of a Dask cluster (`distributed`).

The executor prepares the step's working folder as for the local runner (source, inputs
checked out of the store, `context.json`); the folder must be reachable from the workers at
the same path (a shared filesystem: docs/dask.md states the contract). The task, on a
worker, starts the step's process in that folder and writes what it does there:

    <work>/.dask/attempt-<n>.json   where an attempt runs: worker address and name, host, pid
    <work>/.dask/attempt-<n>.stdout, .stderr   the step's output as it runs

The executor, waiting for the task, reads those files: each new attempt is reported
(`on_placed`, recorded as `step.placed`), output lines are passed on as they appear, and what
the step says on its channel is drained by the executor as for a local step. Workers never
open the ledger; only the submitting process records anything.

A worker that dies while running a step makes the scheduler run the task again on another
worker (Dask reschedules tasks of lost workers) up to the target's `max_attempts`; each lost
attempt is reported (`on_lost`, recorded as `step.attempt_interrupted`). When the attempts are used
up, or no worker is left for `NO_WORKER_WAIT_S`, the step fails with `WorkerLost` naming the
worker. A retried attempt starts from empty output folders.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from canalis.executor.errors import DaskUnavailable, StepLaunchError, WorkerLost

#: how often the executor looks at a running task's files (the task's end is seen at once)
POLL_S = 0.2
#: how often the executor asks the scheduler whether the cluster has any worker left
WORKER_CHECK_S = 2.0
#: a step fails when the cluster has had no worker at all for this long
NO_WORKER_WAIT_S = 60.0
#: steps of one target kept in flight per worker thread of its cluster: one running, one queued
#: on the scheduler, so that a worker starts its next step as soon as one ends
IN_FLIGHT_PER_THREAD = 2
#: at most this many steps of one target in flight, however big its cluster
MAX_IN_FLIGHT = 128
#: Dask settings of the workers of a LocalCluster canalis starts: the workers' statistical
#: profiler (a sample every 10 ms) and 20 ms event-loop ticks cost each idle worker about 6 %
#: of a core, taken from the steps on a small machine (docs/dask.md recommends the same for
#: workers started by hand)
QUIET_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}
_FOLDER = ".dask"
#: the channel message with which a task marks where attempt N of its step starts
ATTEMPT_OP = "attempt"


def import_distributed():
    """The `distributed` package, or a clear error naming the extra that installs it."""
    try:
        import distributed
    except ImportError as e:
        raise DaskUnavailable("the step runs on a Dask cluster and the `distributed` package is missing; "
                              "install it with `pip install canalis[dask]`") from e
    return distributed


class DaskCluster:
    """A connection to a Dask scheduler (or a LocalCluster started on first use), shared by the
    steps of a run that name the same target."""

    def __init__(self, name: str, requested: dict):
        self.name, self.requested = name, dict(requested)
        self.max_attempts = int(self.requested.get("max_attempts") or 3)
        self._client = None
        self._cluster = None
        self._threads = None  # worker threads of the cluster, counted when connecting
        self._lock = threading.Lock()

    def client(self):
        distributed = import_distributed()
        with self._lock:
            if self._client is None:
                # a LocalCluster's scheduler (in this process) gives up after max_attempts; a remote
                # scheduler keeps its own limit, and the task itself refuses to start beyond max_attempts
                import dask

                dask.config.set({"distributed.scheduler.allowed-failures": max(0, self.max_attempts - 1)})
                address = self.requested.get("scheduler_address")
                try:
                    if address:
                        self._client = distributed.Client(address, timeout="20s", set_as_default=False)
                    else:
                        dask.config.set(QUIET_WORKER_CONFIG)
                        self._cluster = distributed.LocalCluster(
                            n_workers=int(self.requested.get("n_workers") or os.cpu_count() or 1),
                            threads_per_worker=int(self.requested.get("threads_per_worker") or 1),
                            processes=True, dashboard_address=None)
                        self._client = distributed.Client(self._cluster, set_as_default=False)
                except OSError as e:
                    raise StepLaunchError(f"could not reach the Dask scheduler of compute target {self.name!r} "
                                          f"at {address}: {e}; start it (`dask scheduler`) or fix the address "
                                          "(`canalis compute list`)") from e
                self.count_threads(self._client)
            return self._client

    def count_threads(self, client) -> int | None:
        """The cluster's worker threads now (0: no worker), kept for `in_flight`; None when the
        scheduler does not answer (not counted as a lost worker)."""
        try:
            workers = client.scheduler_info().get("workers") or {}
        except Exception:  # noqa: BLE001 - the scheduler does not answer
            return None
        threads = sum(int(w.get("nthreads") or 1) for w in workers.values())
        if threads:
            self._threads = threads
        return threads

    def in_flight(self) -> int | None:
        """How many steps of this target the executor keeps submitted at once: two per worker
        thread of the cluster (counted when it connected), or None before it is connected."""
        threads = self._threads
        if threads is None:
            return None
        return max(1, min(MAX_IN_FLIGHT, IN_FLIGHT_PER_THREAD * threads))

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None


class DaskRunner:
    """Runs steps on one Dask cluster. Same `run(...)` as the local runner, plus `on_placed`
    and `on_lost` callbacks for where each attempt runs and which worker was lost."""

    name = "dask"

    def __init__(self, cluster: DaskCluster):
        self.cluster = cluster
        self._live: dict[str, object] = {}  # work folder -> future
        self._lock = threading.Lock()
        self._stopping = False

    def run(self, bound, layout, env, on_line, on_start=None, python=None, *, on_placed=None, on_lost=None,
            source=None, docker=None) -> int:
        """`source`: (store objects folder, source tree), from which an attempt after a lost one
        checks the step's source out again; `layout.channel` gets a line where each attempt starts.
        `docker`: the container settings of a step whose environment runs in Docker (image,
        mounts, network, shm_size): the worker starts the container with the `docker` command
        of its machine (runners/docker.py `run_argv`)."""
        client = self.cluster.client()
        key = f"canalis-step-{Path(layout.root).name}-{uuid.uuid4().hex[:8]}"
        if docker is not None:
            from canalis.executor.runners.docker import run_argv

            argv = run_argv(bound, layout, env, python, **docker)
            container = key
        else:
            argv, container = bound.render(layout, python or sys.executable), None
        root = Path(layout.root)
        (root / _FOLDER).mkdir(exist_ok=True)
        folders = [str(layout.output(o.name)) for o in bound.spec.outputs if o.folder]
        future = client.submit(run_step_task, argv, str(layout.src), dict(env), str(root), folders,
                               self.cluster.max_attempts, source, str(layout.channel), container,
                               key=key, pure=False)
        with self._lock:
            self._live[str(root)] = future
            stopping = self._stopping
        if stopping:
            self._kill(future, root)
        try:
            return self._follow(client, future, root, on_line, on_start, on_placed, on_lost)
        finally:
            with self._lock:
                self._live.pop(str(root), None)

    def _follow(self, client, future, root: Path, on_line, on_start, on_placed, on_lost) -> int:
        seen: list[dict] = []
        tails: dict[str, _Tail] = {}
        no_worker_since = None
        ended = threading.Event()  # set by the client's loop when the task ends: no wait for the next poll
        future.add_done_callback(lambda _f: ended.set())
        checked = time.monotonic()
        while True:
            done = future.done()
            for n in range(len(seen) + 1, 1000):
                placed = _read_attempt(root, n)
                if placed is None:
                    break
                if seen:  # a new attempt: the previous one's worker was lost
                    self._drain(tails, on_line)
                    if on_lost:
                        on_lost(seen[-1], f"worker {seen[-1]['worker']} was lost during attempt {n - 1}", True)
                    tails.clear()
                seen.append(placed)
                if n == 1 and on_start:
                    on_start(placed.get("pid"))
                if on_placed:
                    on_placed(placed)
                tails = {s: _Tail(root / _FOLDER / f"attempt-{n}.{s}", s) for s in ("stdout", "stderr")}
            self._drain(tails, on_line)
            if done:
                break
            if time.monotonic() - checked >= WORKER_CHECK_S:  # a round trip to the scheduler: not every poll
                checked = time.monotonic()
                if self.cluster.count_threads(client) != 0:
                    no_worker_since = None
                else:
                    no_worker_since = no_worker_since or checked
                    if checked - no_worker_since > NO_WORKER_WAIT_S:
                        client.cancel(future)
                        last = seen[-1]["worker"] if seen else "none"
                        self._lost(seen, on_lost, "the cluster has no worker left")
                        raise WorkerLost(f"the Dask cluster of compute target {self.cluster.name!r} has had no worker "
                                         f"for {NO_WORKER_WAIT_S:.0f} s (last worker running the step: {last}); "
                                         "start workers (`dask worker ADDRESS`) and resume the run")
            ended.wait(POLL_S)
        try:
            result = future.result()
        except Exception as e:  # noqa: BLE001 - the task did not finish: lost workers or a canceled task
            name = type(e).__name__
            if name == "KilledWorker":
                worker = seen[-1]["worker"] if seen else getattr(e, "last_worker", None)
                worker = getattr(worker, "address", worker)
                self._lost(seen, on_lost, f"worker {worker} was lost")
                raise WorkerLost(f"the step was started {len(seen) or 1} time(s) on the Dask cluster of compute target "
                                 f"{self.cluster.name!r} and each time its worker was lost (last: {worker}); "
                                 f"the limit is {self.cluster.max_attempts} attempt(s)") from e
            if name in ("CancelledError", "FutureCancelledError") and self._stopping:
                return 130
            raise StepLaunchError(f"the Dask task of the step failed: {name}: {e}") from e
        if isinstance(result, dict) and "error" in result:
            raise StepLaunchError(result["error"])
        if isinstance(result, dict) and "lost" in result:  # started again after its last allowed attempt
            last = result["lost"]
            self._lost([last], on_lost, f"worker {last['worker']} was lost during attempt {last['attempt']}")
            raise WorkerLost(f"the worker running the step ({last['worker']}, on {last.get('host')}) was lost during "
                             f"attempt {last['attempt']} and compute target {self.cluster.name!r} allows "
                             f"{self.cluster.max_attempts} attempt(s) (DaskCompute max_attempts)")
        self._drain(tails, on_line, final=True)
        return int(result["exit_code"])

    @staticmethod
    def _lost(seen, on_lost, error):
        if seen and on_lost:
            on_lost(seen[-1], error, False)

    @staticmethod
    def _drain(tails, on_line, final=False):
        for tail in tails.values():
            tail.pump(on_line, final)

    def stop_all(self, grace_s: float = 10.0) -> None:
        """Stop every running step (SIGTERM to its process group on its worker, SIGKILL after
        `grace_s`) and any step started from now on."""
        with self._lock:
            self._stopping = True
            live = list(self._live.items())
        for root, future in live:
            threading.Thread(target=self._kill, args=(future, Path(root), grace_s), daemon=True).start()

    def _kill(self, future, root: Path, grace_s: float = 10.0) -> None:
        try:
            client = self.cluster.client()
        except Exception:  # noqa: BLE001 - no cluster: nothing of the step runs there
            return
        placed = _latest_attempt(root)
        if placed is not None:
            try:  # `stop_group` returns at once (its SIGKILL waits in a thread): no need for wait=False,
                # which `Client.run` refuses for a plain function
                client.run(stop_group, placed["pid"], grace_s, workers=[placed["worker"]])
            except Exception:  # noqa: BLE001 - the worker is gone already, and its step with it
                pass
        try:
            client.cancel(future)
        except Exception:  # noqa: BLE001 - the task is gone already
            pass


class _Tail:
    """Passes what appears in a log file to `on_line`, whole lines at a time."""

    def __init__(self, path: Path, stream: str):
        self.path, self.stream, self.offset, self.pending = path, stream, 0, b""

    def pump(self, on_line, final=False) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        self.pending += data
        cut = self.pending.rfind(b"\n") + 1
        if final:
            cut = len(self.pending)
        if cut:
            on_line(self.stream, self.pending[:cut])
            self.pending = self.pending[cut:]


def _read_attempt(root: Path, n: int) -> dict | None:
    try:
        return json.loads((root / _FOLDER / f"attempt-{n}.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _latest_attempt(root: Path) -> dict | None:
    found = None
    for n in range(1, 1000):
        placed = _read_attempt(root, n)
        if placed is None:
            return found
        found = placed


# -- on the worker ---------------------------------------------------------------------------


def run_step_task(argv, cwd, env, root, folders, max_attempts, source=None, channel=None, container=None) -> dict:
    """The task a worker runs: start the step's process in its working folder, write where it
    runs and what it prints into the folder, return its exit code. An attempt after a lost one
    starts from a clean folder: empty outputs and, given `source` (objects folder, tree), the
    source checked out again (the lost attempt may have changed or added files there). Each
    attempt says on the step's `channel` where it starts, so that the executor keeps only what
    the last attempt said. One beyond `max_attempts` does not start the step and returns the
    lost attempt (`{"lost": ...}`).

    With `container` (a name), `argv` is a `docker run` command line: the attempt's container is
    named `<container>-<attempt>`, the `docker` command gets this worker's PATH and DOCKER_*
    variables, a lost attempt's container is removed before the next starts (when the same
    engine runs both), and the container is removed when its `docker` process ends, however."""
    from distributed import get_worker

    work = Path(root) / _FOLDER
    n = 1
    while (work / f"attempt-{n}.json").exists():
        n += 1
    if n > max_attempts:
        return {"lost": _read_attempt(Path(root), n - 1)}
    if n > 1:
        if container is not None:
            _remove_container(f"{container}-{n - 1}")
        _reset_outputs(Path(root), folders)
        if source is not None:
            _reset_source(Path(cwd), *source)
    if container is not None:
        argv = [*argv[:2], "--name", f"{container}-{n}", *argv[2:]]
        env = {**env, **_docker_env()}
    if channel is not None:
        from canalis.executor.channel import ChannelWriter

        ChannelWriter(channel).send({"op": ATTEMPT_OP, "attempt": n})
    worker = get_worker()
    out = open(work / f"attempt-{n}.stdout", "wb")
    err = open(work / f"attempt-{n}.stderr", "wb")
    try:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    start_new_session=True, preexec_fn=_die_with_parent)
        except OSError as e:
            need = " (a step in a Docker container needs the `docker` command on the workers)" if container else ""
            return {"error": f"could not start {argv[0]!r} in {cwd} on worker {worker.address}{need}: {e}"}
        tmp = work / f".attempt-{n}.json.tmp"
        tmp.write_text(json.dumps({"attempt": n, "worker": worker.address, "worker_name": str(worker.name),
                                   "host": socket.gethostname(), "pid": proc.pid}))
        os.rename(tmp, work / f"attempt-{n}.json")
        code = proc.wait()
        if container is not None and code < 0:  # its `docker` process was killed while the container ran
            _remove_container(f"{container}-{n}")
        return {"exit_code": code, "worker": worker.address}
    finally:
        out.close()
        err.close()


def _docker_env() -> dict:
    """What this worker's `docker` command needs of its environment: PATH and the DOCKER_* variables."""
    return {k: v for k, v in os.environ.items() if k == "PATH" or k.startswith("DOCKER_")}


def _remove_container(name: str) -> None:
    """Remove a step's container if it is still there (quietly: usually `--rm` removed it)."""
    try:
        subprocess.run(["docker", "rm", "--force", name], env=_docker_env(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        pass


def _reset_outputs(root: Path, folders) -> None:
    outputs = root / "outputs"
    shutil.rmtree(outputs, ignore_errors=True)
    outputs.mkdir(parents=True, exist_ok=True)
    for folder in folders:
        Path(folder).mkdir(parents=True, exist_ok=True)


def _reset_source(src: Path, objects: str, tree: str) -> None:
    from canalis.store.local import LocalStore

    shutil.rmtree(src, ignore_errors=True)
    LocalStore(objects).checkout(tree, src, readonly=False)


def _die_with_parent() -> None:
    """In the step's process before it runs: SIGKILL it when the worker that started it dies,
    so that a lost worker leaves no step running beside its retry (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: the step outlives its worker
        pass


def stop_group(pgid: int, grace_s: float) -> None:
    """On a worker: SIGTERM the step's process group, SIGKILL after `grace_s`."""
    from canalis.executor.runners.local import signal_group

    signal_group(pgid, signal.SIGTERM)

    def later():
        time.sleep(grace_s)
        signal_group(pgid, signal.SIGKILL)

    threading.Thread(target=later, daemon=True).start()
