"""The Docker runner: a step in a container of its environment's image, on the local engine.

The image (executor/images.py) holds the environment's packages; the container gets the
step's working folder mounted at the same path as on the host, so the rendered argv and
`context.json` (channel, replies, inputs, outputs) mean the same inside and out:

- the working folder read-write (the source snapshot is the container's working folder,
  outputs are written there), each input folder again, read-only, over it;
- canalis's own modules (executor/runtime.py) and the store's objects folder (files a step
  uploads), at their host paths;
- no network (`--network none`) unless the environment sets `docker.network`;
- the caller's uid:gid as the container's user, so files it writes are the caller's.

Stdout and stderr are streamed line by line like a local step's. The container is removed
when the step ends, whatever the ending: exit, failure, or a cancel (`stop_all` kills the
live containers; the run's interrupt handler calls it).
"""
from __future__ import annotations

import os
import threading

from canalis.executor.errors import DockerUnavailable, StepLaunchError

#: variables of the executor's own environment that describe the host, not the step
_HOST_ONLY = ("PATH", "HOME", "PWD", "OLDPWD", "SHELL", "VIRTUAL_ENV", "PYTHONHOME", "LD_LIBRARY_PATH",
              "LD_PRELOAD", "TMPDIR", "HOSTNAME", "USER", "LOGNAME")


def client():
    """A client of the local Docker engine (DOCKER_HOST or the default socket)."""
    try:
        import docker
    except ImportError as e:
        raise DockerUnavailable("the step runs in Docker and the `docker` Python package is missing; "
                                "`pip install docker`") from e
    try:
        c = docker.from_env()
        c.ping()
        return c
    except Exception as e:  # noqa: BLE001 - any failure to reach the engine
        raise DockerUnavailable(
            f"the step runs in Docker and no Docker engine answers ({e}); start one (`dockerd`, or "
            "`systemctl start docker`) or point DOCKER_HOST at it") from e


class DockerRunner:
    name = "docker"

    def __init__(self):
        self._live: dict = {}
        self._lock = threading.Lock()
        self._stopping = False

    def run(self, bound, layout, env, on_line, on_start=None, python=None, *, image, mounts=(), network=None,
            shm_size=None) -> int:
        """Run `bound` in a container of `image` with `python` (its path in the image); returns
        the exit code. `mounts` are extra (host folder, path in the container, read-only) to mount."""
        from docker.types import Mount

        c = client()
        argv = bound.render(layout, python or "python3")
        root = str(layout.root)
        binds = [Mount(target, source, type="bind", read_only=read_only)
                 for source, target, read_only in _mounts(bound, layout, mounts)]
        step_env = container_env(env)
        try:
            container = c.containers.create(
                image, argv, working_dir=str(layout.src), environment=step_env, mounts=binds,
                user=f"{os.getuid()}:{os.getgid()}", network_mode=network or "none", shm_size=shm_size,
                labels={"canalis.step": root}, detach=True)
        except Exception as e:  # noqa: BLE001
            raise StepLaunchError(f"could not create the step's container from image {image!r}: {e}") from e
        try:
            with self._lock:
                self._live[container.id] = container
                stopping = self._stopping
            if stopping:
                return 130
            container.start()
            container.reload()
            if on_start:
                on_start(int(container.attrs["State"]["Pid"]) or None)
            readers = [threading.Thread(target=_pump, args=(container, s, on_line), daemon=True)
                       for s in ("stdout", "stderr")]
            for t in readers:
                t.start()
            code = int(container.wait()["StatusCode"])
            for t in readers:
                t.join()
            return code
        finally:
            with self._lock:
                self._live.pop(container.id, None)
            try:
                container.remove(force=True)
            except Exception:  # noqa: BLE001 - already gone
                pass

    def stop_all(self, grace_s: float = 10.0) -> None:
        """Kill every running step's container (and any started from now on); each is removed
        by the thread that runs it."""
        with self._lock:
            self._stopping = True
            live = list(self._live.values())

        def stop(container):
            try:
                container.stop(timeout=int(grace_s))  # SIGTERM, SIGKILL after grace_s
            except Exception:  # noqa: BLE001 - it ended meanwhile
                pass

        for container in live:
            threading.Thread(target=stop, args=(container,), name="canalis-stop-container", daemon=True).start()


def _mounts(bound, layout, mounts) -> list[tuple[str, str, bool]]:
    """(host folder, path in the container, read-only) of every mount of a step's container."""
    root = str(layout.root)
    out = [(root, root, False)]
    for i in bound.inputs:
        p = str(layout.input(i.name))
        out.append((p, p, True))
    out += [(str(source), str(target), bool(read_only)) for source, target, read_only in mounts]
    return out


def container_env(env: dict) -> dict:
    """The step's environment variables as its container gets them (none that describe the host)."""
    step_env = {k: v for k, v in env.items() if k not in _HOST_ONLY}
    step_env["HOME"] = "/tmp"
    return step_env


def run_argv(bound, layout, env: dict, python=None, *, image, mounts=(), network=None, shm_size=None) -> list[str]:
    """The `docker run` command line that runs `bound` as `DockerRunner.run` does, for a process
    that cannot use the engine's API itself (a Dask worker, executor/runners/dask.py). The
    variables are passed by name (`-e NAME`): their values come from the environment of the
    `docker` process, so that none shows in a process listing. The image is never pulled
    (`--pull never`): it must be in the engine already. The caller adds `--name`."""
    argv = ["docker", "run", "--rm", "--pull", "never", "--user", f"{os.getuid()}:{os.getgid()}",
            "--network", network or "none", "--workdir", str(layout.src), "--label", f"canalis.step={layout.root}"]
    if shm_size:
        argv += ["--shm-size", str(shm_size)]
    for source, target, read_only in _mounts(bound, layout, mounts):
        argv += ["--mount", f"type=bind,source={source},target={target}" + (",readonly" if read_only else "")]
    for name in sorted(container_env(env)):
        argv += ["--env", "HOME=/tmp" if name == "HOME" else name]
    return [*argv, image, *bound.render(layout, python or "python3")]


def _pump(container, stream: str, on_line) -> None:
    """Pass the container's `stream` to `on_line` a line at a time."""
    pending = b""
    for chunk in container.logs(stdout=stream == "stdout", stderr=stream == "stderr", stream=True, follow=True):
        pending += chunk
        cut = pending.rfind(b"\n") + 1
        if cut:
            on_line(stream, pending[:cut])
            pending = pending[cut:]
    if pending:
        on_line(stream, pending)
