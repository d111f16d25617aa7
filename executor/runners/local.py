"""The default runner: a subprocess on this machine with the current interpreter."""
from __future__ import annotations

import subprocess
import threading

from canalis.executor.errors import StepLaunchError


class LocalRunner:
    name = "local"

    def run(self, argv, cwd, env, on_line, on_start=None) -> int:
        try:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
            )
        except OSError as e:
            raise StepLaunchError(f"could not start {argv[0]!r} in {cwd}: {e}") from e
        if on_start:
            on_start(proc.pid)
        readers = [
            threading.Thread(target=_pump, args=(proc.stdout, "stdout", on_line), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, "stderr", on_line), daemon=True),
        ]
        for t in readers:
            t.start()
        code = proc.wait()
        for t in readers:
            t.join()
        return code


def _pump(pipe, stream, on_line):
    with pipe:
        for raw in iter(pipe.readline, b""):
            on_line(stream, raw.decode(errors="replace"))
