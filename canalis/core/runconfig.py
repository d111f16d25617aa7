"""`RunConfiguration`: the compute target and environment of a step; `DockerConfiguration`:
whether its step runs in a Docker container (docs/environments.md)."""
from canalis.ignored_keywords import given, warn_ignored
from canalis.core.environment import DEFAULT_CPU_IMAGE, DEFAULT_GPU_IMAGE, DockerSection, Environment, PythonSection


class RunConfiguration:
    def __init__(self, script=None, arguments=None, framework=None, communicator=None, conda_dependencies=None, _history_enabled=None, _path=None, _name=None, command=None):
        self.script = script
        self.arguments = list(arguments or [])
        self.target = "local"
        self.environment = Environment("canalis-runconfig")
        self.environment.python.user_managed_dependencies = True
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
            self.environment.python.user_managed_dependencies = False
        self.node_count = 1
        ignored = given(_history_enabled=_history_enabled, _path=_path, _name=_name)
        ignored += [] if framework in (None, "Python", "python") else ["framework"]
        ignored += [] if communicator in (None, "None") else ["communicator"]
        warn_ignored("RunConfiguration", ignored)
        self.command = command  # a CommandStep without a command of its own runs this one
        self.docker = DockerConfiguration()

    @property
    def environment_variables(self):
        return self.environment.environment_variables


class DockerConfiguration:
    """SDK v1's `azureml.core.runconfig.DockerConfiguration`: `use_docker=True` runs the step
    in a container of the image built from its environment (`environment.docker.base_image`
    plus its packages). `shm_size` (e.g. "2g") is the container's /dev/shm. `arguments`
    (extra `docker run` words) and `shared_volumes=False` are not honoured, and say so."""

    def __init__(self, use_docker=False, shared_volumes=True, arguments=None, shm_size=None):
        self.use_docker = bool(use_docker)
        self.shared_volumes = shared_volumes
        self.arguments = list(arguments or [])
        self.shm_size = shm_size
        warn_ignored("DockerConfiguration", (["arguments"] if self.arguments else [])
                     + ([] if shared_volumes else ["shared_volumes"]))


__all__ = ["DockerConfiguration", "RunConfiguration", "DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "DockerSection", "PythonSection"]
