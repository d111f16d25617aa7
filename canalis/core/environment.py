"""`Environment`: what a step runs with. Its definition's digest is part of every reuse key.

An environment without packages (or with `python.user_managed_dependencies = True`) runs
its steps with the current interpreter; one with pip (or conda) packages is materialised by
the executor once per digest: a virtual environment under `.canalis/envs/<digest>` on the
local runner, an image on the Docker runner (docs/environments.md). Here the definition is
recorded, hashed and registered, and `step_environment` says which runner a step uses.
"""
from __future__ import annotations

import json
from pathlib import Path

from canalis.core.conda_dependencies import CondaDependencies
from canalis.exceptions import UserErrorException

DEFAULT_CPU_IMAGE = "canalis/base:bookworm-python3"
DEFAULT_GPU_IMAGE = "canalis/base:bookworm-python3-gpu"


class PythonSection:
    def __init__(self):
        self.user_managed_dependencies = False
        self.interpreter_path = "python"
        self.conda_dependencies = CondaDependencies()
        self.conda_dependencies_file = None


class DockerSection:
    def __init__(self):
        self.enabled = False
        self.base_image = DEFAULT_CPU_IMAGE
        self.base_dockerfile = None
        self.shm_size = None
        self.arguments = []
        #: the network of the step's container: None (the default) is Docker's "none", no network;
        #: "bridge" (or "host") lets the step reach the network. Part of the definition when set.
        self.network = None


class SparkSection:
    """Spark packages of a cloud Spark cluster: accepted, not used offline (one note)."""

    def __init__(self, repositories=None, packages=None, precache_packages=True):
        self.repositories = list(repositories or [])
        self.packages = list(packages or [])
        self.precache_packages = precache_packages

    def _used(self) -> bool:
        return bool(self.repositories or self.packages)


class DatabricksSection:
    """Libraries of a Databricks cluster: accepted, not used offline (one note)."""

    def __init__(self):
        self.maven_libraries, self.pypi_libraries, self.rcran_libraries = [], [], []
        self.jar_libraries, self.egg_libraries = [], []

    def _used(self) -> bool:
        return any((self.maven_libraries, self.pypi_libraries, self.rcran_libraries, self.jar_libraries,
                    self.egg_libraries))


class RSection:
    """An R environment of SDK v1: accepted, not used offline (one note)."""

    def __init__(self, r_version=None, user_managed=False, rscript_path=None, snapshot_date=None):
        self.r_version, self.user_managed, self.rscript_path = r_version, user_managed, rscript_path
        self.snapshot_date = snapshot_date
        self.cran_packages, self.github_packages, self.custom_url_packages, self.bioconductor_packages = [], [], [], []

    def _used(self) -> bool:
        return True


#: SDK v1 curated environments are named like this; they run with the current interpreter
CURATED_PREFIX = "AzureML-"
_noted: set = set()


def _note_once(key, text) -> None:
    import sys

    if key not in _noted:
        _noted.add(key)
        print(text, file=sys.stderr, flush=True)


class Environment:
    def __init__(self, name):
        self.name = name
        self.version = None
        self.python = PythonSection()
        self.docker = DockerSection()
        self.environment_variables: dict = {}
        self.inferencing_stack_version = None
        self.spark = SparkSection()  # cloud-only sections, accepted and not used (note_cloud_sections)
        self.databricks = DatabricksSection()
        self.r = None

    def note_cloud_sections(self, where: str) -> list[str]:
        """One note when this environment sets sections only the cloud used (spark, databricks,
        r): canalis accepts and ignores them. Returns their names."""
        used = [n for n in ("spark", "databricks", "r") if getattr(self, n, None) is not None
                and getattr(getattr(self, n), "_used", lambda: True)()]
        if used:
            _note_once(("sections", self.name, tuple(used)),
                       f"note: {where}: environment {self.name!r} sets {', '.join(used)}, which only the cloud used; "
                       "canalis ignores them")
        return used

    # -- construction -----------------------------------------------------------------------
    @staticmethod
    def from_pip_requirements(name, file_path, pip_version=None):
        """An environment with the pip packages of a requirements file; its option lines
        (`--find-links DIR`, `--no-index`, `--index-url URL`) become pip options."""
        path = Path(file_path)
        if not path.is_file():
            raise UserErrorException(f"pip requirements file {str(path)!r} does not exist; give the path of a "
                                     "requirements.txt (one requirement a line)")
        env = Environment(name)
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
            if line.startswith("-"):
                env.python.conda_dependencies.set_pip_option(line)
            elif line:
                env.python.conda_dependencies.add_pip_package(line)
        return env

    @staticmethod
    def from_conda_specification(name, file_path):
        env = Environment(name)
        env.python.conda_dependencies = CondaDependencies(conda_dependencies_file_path=file_path)
        return env

    @staticmethod
    def get(workspace, name, version=None, label=None):
        """A registered environment; an SDK v1 curated environment (`AzureML-...`) that is not
        registered runs steps with the current interpreter, as its packages' stand-in (one note)."""
        row = workspace.ledger.registration("environments", name, int(version) if version is not None else None)
        if row is None and str(name).startswith(CURATED_PREFIX) and version is None:
            return Environment._curated(name)
        if row is None:
            versions = [r.version for r in workspace.ledger.registrations("environments", name)]
            if not versions:
                raise UserErrorException(f"no environment named {name!r} is registered; register it with env.register(ws)")
            raise UserErrorException(f"environment {name!r} has no version {version!r} (known: {versions})")
        return Environment._from_definition(row.definition, int(row.version))

    @staticmethod
    def _curated(name) -> "Environment":
        import sys

        env = Environment(name)
        env.python.user_managed_dependencies = True
        _note_once(("curated", name),
                   f"note: curated environment {name!r} is an Azure image; canalis runs its steps with this Python "
                   f"({sys.executable}): install the packages the steps need into it")
        return env

    @staticmethod
    def list(workspace):
        return {r.name: Environment._from_definition(r.definition, int(r.version))
                for r in workspace.ledger.registrations("environments")}

    def register(self, workspace):
        """Record this definition as a version of its name (the same definition as the latest
        version is that version)."""
        row = workspace.session.register("environment", self.name, self.digest(), definition=self.definition())
        self.version = int(row.version)
        return self

    # -- identity ---------------------------------------------------------------------------
    def definition(self) -> dict:
        cd = self.python.conda_dependencies
        docker = {"enabled": bool(self.docker.enabled), "base_image": self.docker.base_image,
                  "base_dockerfile": self.docker.base_dockerfile}
        if self.docker.network is not None:  # only when set: environments without it keep their digest
            docker["network"] = str(self.docker.network)
        return {
            "name": self.name,
            "python": {
                "user_managed_dependencies": bool(self.python.user_managed_dependencies),
                "interpreter_path": self.python.interpreter_path,
                "conda_dependencies": cd.as_dict() if cd is not None else None,
            },
            "docker": docker,
            "environment_variables": dict(sorted(self.environment_variables.items())),
        }

    def digest(self) -> str:
        return definition_digest(self.definition())

    @staticmethod
    def _from_definition(d: dict, version=None):
        env = Environment(d["name"])
        env.version = version
        py = d.get("python", {})
        env.python.user_managed_dependencies = py.get("user_managed_dependencies", False)
        env.python.interpreter_path = py.get("interpreter_path", "python")
        if py.get("conda_dependencies") is not None:
            env.python.conda_dependencies = CondaDependencies.from_dict(py["conda_dependencies"])
        dk = d.get("docker", {})
        env.docker.enabled = dk.get("enabled", False)
        env.docker.base_image = dk.get("base_image", DEFAULT_CPU_IMAGE)
        env.docker.base_dockerfile = dk.get("base_dockerfile")
        env.docker.network = dk.get("network")
        env.environment_variables = dict(d.get("environment_variables", {}))
        return env

    def __repr__(self):
        return f"Environment(name={self.name!r}, version={self.version!r})"


def default_environment() -> Environment:
    env = Environment("canalis-default")
    env.python.user_managed_dependencies = True
    return env


def definition_digest(definition: dict) -> str:
    """The digest of an environment's definition (`Environment.digest`)."""
    import blake3  # here, not at the top: a step that imports the SDK (in any interpreter) does not need it

    return blake3.blake3(_digest_encoder.encode(definition).encode()).hexdigest()


#: what `json.dumps(definition, sort_keys=True, separators=(",", ":"))` makes for each call, made once
_digest_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def environment_of(runconfig) -> Environment:
    env = getattr(runconfig, "environment", None) if runconfig is not None else None
    return env if env is not None else default_environment()


def step_environment(workspace, runconfig, compute_target=None, env: Environment | None = None) -> dict:
    """What a planned step records about its environment: the definition and its digest, and,
    for a step that runs in a Docker container, `"runner": "docker"` with the container's
    options. Docker is chosen the SDK v1 ways: `runconfig.docker = DockerConfiguration(use_docker=True)`
    (also through `ScriptRunConfig(docker_runtime_config=...)`), `environment.docker.enabled`,
    or a compute target of Docker kind (`DockerCompute`). The runner is not in the reuse key.
    `env`: `environment_of(runconfig)`, when the caller has it already."""
    env = environment_of(runconfig) if env is None else env
    definition = env.definition()
    found = {"digest": definition_digest(definition), "definition": definition}
    docker = getattr(runconfig, "docker", None) if runconfig is not None else None
    use = bool(getattr(docker, "use_docker", False)) or bool(env.docker.enabled)
    if compute_target is None and runconfig is not None:
        compute_target = getattr(runconfig, "target", None)
    if not use and compute_target is not None and workspace is not None:
        from canalis.core.compute import compute_target_kind

        use = compute_target_kind(workspace, compute_target) == "docker"
    if use:
        found["runner"] = "docker"
        shm = getattr(docker, "shm_size", None) or env.docker.shm_size
        found["docker"] = {"shm_size": shm} if shm else {}
    return found
