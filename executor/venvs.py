"""Virtual environments of materialised environments, one per digest: `.canalis/envs/<digest>/`.

A step whose environment lists packages (executor/envspec.py) runs on the local runner in a
virtual environment made for its environment digest, once: the first step that needs it
builds it under an exclusive lock (`.canalis/locks/env-<digest>.lock`, a `flock` the OS
releases if the builder dies), and every other step (in this run, another run, another
process) waits for the lock and then uses it. Building is:

1. `python -m venv` from this interpreter (or the `pythonX.Y` on PATH the environment asks
   for); with conda packages, `conda create --prefix` instead (conda must be on PATH);
2. `pip install` with the environment's pip options (`--find-links=DIR --no-index` installs
   from a local wheelhouse, fully offline) and its pip packages;
3. reading what it holds (executor/freeze.py);
4. writing `canalis-env.json` into it, last: a folder without it is a build that did not
   finish, removed and built again.

A virtual environment made from another interpreter than the one now asked for (canalis
moved to a new Python) is rebuilt. The build's output goes to `<digest>.log` beside it and
to whoever watches (the step's stderr).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import field
from pathlib import Path
from typing import Callable

from canalis.executor import freeze
from canalis.executor.envspec import EnvSpec, find_python
from canalis.executor.errors import EnvironmentBuildError
from canalis.executor.locks import single_flight
from canalis.executor.records import record

MARKER = "canalis-env.json"
#: lines of pip's output quoted in a build error
ERROR_LINES = 12


@record
class Materialized:
    """A built environment as a step uses it."""

    kind: str  # "venv" | "image"
    location: str  # the folder, or the image tag
    python: str  # the interpreter a step runs with (its path where the step runs)
    packages: tuple  # "name==version", sorted
    interpreter: dict  # python, implementation, platform
    built: bool  # this call built it (the caller records environment.built)
    duration_s: float = 0.0
    image_id: str | None = None
    base_image: str | None = None
    base_image_id: str | None = None
    extra: dict = field(default_factory=dict)


def venv_python(folder: Path) -> Path:
    return folder / "bin" / "python"


def ensure_venv(spec: EnvSpec, envs_dir: Path, locks_dir: Path, say: Callable[[str], None]) -> Materialized:
    """The virtual environment of `spec`'s digest, built if it is not there yet (see the module
    docstring). Raises EnvironmentBuildError naming what could not be installed."""
    folder = Path(envs_dir) / spec.digest
    base = _base_interpreter(spec)
    with single_flight(locks_dir, f"env-{spec.digest}"):
        found = _read_marker(folder)
        if found is not None and found.get("base") == base and venv_python(folder).exists():
            return Materialized("venv", str(folder), str(venv_python(folder)), tuple(found["packages"]),
                                dict(found["interpreter"]), built=False)
        if folder.exists():
            say(f"canalis: removing {folder} (an unfinished build, or made from another interpreter)")
            shutil.rmtree(folder)
        t0 = time.monotonic()
        log_path = Path(envs_dir) / f"{spec.digest}.log"
        try:
            with open(log_path, "w", encoding="utf-8") as log:
                _build(spec, folder, base, _Say(say, log))
            out = _run([str(venv_python(folder)), freeze.__file__], None)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        packages, interpreter = freeze.parse(out)
        marker = {"digest": spec.digest, "name": spec.name, "base": base, "packages": packages,
                  "interpreter": interpreter, "provided": list(spec.provided)}
        tmp = folder / f".{MARKER}.tmp"
        tmp.write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, folder / MARKER)
        return Materialized("venv", str(folder), str(venv_python(folder)), tuple(packages), interpreter,
                            built=True, duration_s=round(time.monotonic() - t0, 3))


def _base_interpreter(spec: EnvSpec) -> str:
    """The interpreter the environment is built from, as a resolved path."""
    exe = find_python(spec.python) if spec.python else sys.executable
    base = getattr(sys, "_base_executable", exe) if exe == sys.executable else exe
    return os.path.realpath(base)


def _read_marker(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class _Say:
    """Build output: to the watcher, to the log file, and the last lines kept for an error."""

    def __init__(self, say, log):
        self.say, self.log, self.lines = say, log, []

    def __call__(self, line: str) -> None:
        line = line.rstrip("\n")
        self.log.write(line + "\n")
        self.log.flush()
        self.lines = (self.lines + [line])[-200:]
        self.say(line)


def _build(spec: EnvSpec, folder: Path, base: str, say: _Say) -> None:
    say(f"canalis: building {spec.label()} in {folder}")
    if spec.conda:
        conda = shutil.which("conda") or shutil.which("mamba") or shutil.which("micromamba")
        if conda is None:
            raise EnvironmentBuildError(
                f"{spec.label()} lists conda packages ({', '.join(spec.conda)}); canalis installs them with conda, "
                "and no conda (or mamba, micromamba) is on PATH. Install one (e.g. Miniforge) and put it on PATH, "
                "or list the packages as pip packages instead")
        channels = [w for c in spec.channels for w in ("-c", c)]
        python = [f"python={spec.python}" if spec.python else f"python={sys.version_info[0]}.{sys.version_info[1]}"]
        _checked([conda, "create", "--yes", "--prefix", str(folder), *channels, *python, "pip", *spec.conda],
                 spec, say, "conda could not create it")
    else:
        _checked([base, "-m", "venv", str(folder)], spec, say, "python -m venv could not create it")
    if spec.pip:
        options = [w for o in spec.pip_options for w in _option_words(o)]
        _checked([str(venv_python(folder)), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                  *options, *spec.pip], spec, say, "pip could not install its packages")


def _option_words(option: str) -> list[str]:
    """One pip option as written ("--find-links=DIR", "--find-links DIR", "-f DIR") as argv words."""
    import shlex

    return shlex.split(option)


def _checked(argv: list[str], spec: EnvSpec, say: _Say, what: str) -> None:
    say("$ " + " ".join(argv))
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, text=True, errors="replace")
    except OSError as e:
        raise EnvironmentBuildError(f"{spec.label()} could not be built: {what}: cannot start {argv[0]!r}: {e}") from e
    assert proc.stdout is not None
    for line in proc.stdout:
        say(line)
    if proc.wait() != 0:
        raise EnvironmentBuildError(build_failure(spec, what, say.lines))


def build_failure(spec: EnvSpec, what: str, lines: list[str]) -> str:
    """The error of a failed build: what failed, the package pip names, pip's error lines."""
    errors = [ln.strip() for ln in lines if re.match(r"\s*(ERROR|error|E:|CondaError|PackagesNotFoundError)", ln)]
    named = []
    for ln in errors:
        m = re.search(r"(?:distribution found for|satisfies the requirement|requirement) ([^\s;,()]+)", ln)
        if m and m.group(1) not in named:
            named.append(m.group(1))
    head = f"{spec.label()} could not be built: {what}"
    if named:
        head += f" (package{'s' if len(named) > 1 else ''} {', '.join(repr(n) for n in named)})"
    quoted = (errors or [ln for ln in lines if ln.strip()])[-ERROR_LINES:]
    return head + (":\n" + "\n".join(quoted) if quoted else "")


def _run(argv: list[str], cwd) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise EnvironmentBuildError(f"{argv[0]} could not list its packages: {proc.stderr.strip()[-500:]}")
    return proc.stdout
