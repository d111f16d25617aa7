"""A step's environment as the executor reads it from the plan, and what running it takes.

A planned step records `{"digest", "definition"[, "runner": "docker", "docker": {...}]}`
(canalis/core/environment.py writes it). `EnvSpec.of` reads that into one shape and
decides the questions the runners ask:

- Does the step run on the **current interpreter**? Yes when the environment is
  user-managed (`python.user_managed_dependencies`), or lists no packages to install and
  asks for no other Python version. Otherwise it is **materialised**: a virtual
  environment (local runner) or an image (Docker runner), built once per digest.
- Which packages are installed, with which pip options. Packages named `azureml-*` (the
  SDK v1 distributions: `azureml-defaults`, `azureml-core` ...) are not installed: canalis
  provides those names itself, to every step; they are listed as `provided`.

What an interpreter has installed is read by executor/freeze.py.
"""
from __future__ import annotations

import re
import sys

from canalis.executor.errors import EnvironmentBuildError
from canalis.executor.records import record

DEFAULT_BASE_IMAGE = "canalis/base:bookworm-python3"
# (patterns as text: compiled, and kept by `re`, when an environment lists packages, not at import)
#: requirement names canalis provides itself (SDK v1 distributions)
_PROVIDED = r"^azureml([-_.][A-Za-z0-9_.-]*)?(\[.*\])?\s*($|[=<>!~;@ ])"
#: conda entries that are not packages to install: the interpreter and pip themselves
_NOT_CONDA_PACKAGES = r"^(python|pip)\s*($|[=<>!~ ])"


@record
class EnvSpec:
    digest: str
    name: str
    user_managed: bool
    interpreter_path: str
    python: str | None  # the Python version asked for ("3.11", ">=3.10"), or None
    channels: tuple
    conda: tuple  # conda packages to install
    pip: tuple  # pip requirements to install
    pip_options: tuple
    provided: tuple  # requirements canalis provides (azureml-*), not installed
    base_image: str
    base_dockerfile: str | None
    network: str | None  # the container's network; None: "none"
    runner: str  # "local" | "docker"
    shm_size: str | None

    @classmethod
    def of(cls, environment: dict) -> "EnvSpec":
        d = environment.get("definition") or {}
        py = d.get("python") or {}
        cd = py.get("conda_dependencies") or {}
        dk = d.get("docker") or {}
        pip, provided, options = [], [], list(cd.get("pip_options") or [])
        for req in cd.get("pip") or []:
            req = str(req).strip()
            if req.startswith("-"):  # an option written among the packages
                options.append(req)
            elif re.match(_PROVIDED, req, re.IGNORECASE):
                provided.append(req)
            elif req:
                pip.append(req)
        conda = [str(c).strip() for c in cd.get("conda") or [] if not re.match(_NOT_CONDA_PACKAGES, str(c).strip())]
        return cls(
            digest=str(environment.get("digest") or ""), name=str(d.get("name") or "unnamed"),
            user_managed=bool(py.get("user_managed_dependencies")),
            interpreter_path=str(py.get("interpreter_path") or "python"),
            python=str(cd["python"]) if cd.get("python") else None,
            channels=tuple(cd.get("channels") or ()), conda=tuple(conda), pip=tuple(pip), pip_options=tuple(options),
            provided=tuple(provided), base_image=str(dk.get("base_image") or DEFAULT_BASE_IMAGE),
            base_dockerfile=dk.get("base_dockerfile"), network=dk.get("network"),
            runner=str(environment.get("runner") or "local"),
            shm_size=(environment.get("docker") or {}).get("shm_size"),
        )

    @property
    def has_packages(self) -> bool:
        return bool(self.pip or self.conda)

    @property
    def current_interpreter(self) -> bool:
        """Whether the local runner runs this step with the current interpreter (no build)."""
        if self.user_managed:
            return True
        return not self.has_packages and (self.python is None or python_satisfies(self.python, current_python()))

    def label(self) -> str:
        return f"environment {self.name!r} ({self.digest[:12]})"


def current_python() -> str:
    import platform

    return platform.python_version()


def python_satisfies(asked: str, version: str) -> bool:
    """Whether Python `version` ("3.11.7") is what an environment asks for: a conda-style
    version ("3.11", "3.11.*", "3") matches by its dotted prefix; a specifier (">=3.10")
    as pip reads it."""
    asked = asked.strip()
    if asked[:1] in "<>!~=":
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            return SpecifierSet(asked).contains(version)
        except InvalidSpecifier:
            raise EnvironmentBuildError(f"the Python version asked for, {asked!r}, is not a version or specifier; "
                                        "write e.g. 'python=3.11' or 'python>=3.10'") from None
    want = asked.rstrip("*").rstrip(".").split(".")
    return version.split(".")[:len(want)] == want


def find_python(asked: str) -> str:
    """The interpreter to build a virtual environment from: the current one when it is what
    the environment asks for, else `pythonX.Y` on PATH; an error naming the version otherwise."""
    if python_satisfies(asked, current_python()):
        return sys.executable
    digits = re.findall(r"\d+", asked)
    if len(digits) >= 2:
        import shutil

        found = shutil.which(f"python{digits[0]}.{digits[1]}")
        if found:
            return found
    raise EnvironmentBuildError(
        f"the environment asks for Python {asked}, and this interpreter is {current_python()} with no matching "
        f"python{'.'.join(digits[:2]) or '3.X'} on PATH; install that Python (on PATH), or remove the version "
        "from the environment's conda dependencies to use this interpreter")
