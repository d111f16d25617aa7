"""`RunConfiguration`: the compute target and environment of a step; `DockerConfiguration`:
whether its step runs in a Docker container (docs/environments.md); the distributed-job
configurations SDK v1 code passes (`MpiConfiguration`, `PyTorchConfiguration`,
`TensorflowConfiguration`), accepted and run as one process."""
import sys

from canalis.ignored_keywords import given, warn_ignored
from canalis.core.conda_dependencies import CondaDependencies
from canalis.core.environment import DEFAULT_CPU_IMAGE, DEFAULT_GPU_IMAGE, DockerSection, Environment, PythonSection

_noted: set = set()


class _Distributed:
    """What a distributed job asked for; canalis runs it as one process on this machine."""

    _kind = "distributed"

    def processes(self) -> int:
        return max(1, int(self.node_count or 1)) * max(1, int(self._per_node() or 1))

    def _per_node(self):
        return 1


class MpiConfiguration(_Distributed):
    _kind = "MPI"

    def __init__(self, process_count_per_node=1, node_count=1):
        self.process_count_per_node = process_count_per_node
        self.node_count = node_count

    def _per_node(self):
        return self.process_count_per_node


class PyTorchConfiguration(_Distributed):
    _kind = "PyTorch"

    def __init__(self, communication_backend_name="nccl", process_count=None, node_count=1):
        self.communication_backend_name = communication_backend_name
        self.process_count = process_count
        self.node_count = node_count

    def processes(self) -> int:
        return max(1, int(self.process_count or 0), int(self.node_count or 1))


class TensorflowConfiguration(_Distributed):
    _kind = "TensorFlow"

    def __init__(self, worker_count=1, parameter_server_count=1):
        self.worker_count = worker_count
        self.parameter_server_count = parameter_server_count
        self.node_count = 1

    def processes(self) -> int:
        return max(1, int(self.worker_count or 1)) + max(0, int(self.parameter_server_count or 0))


def note_single_process(where: str, config) -> None:
    """One line, once per kind and place: a distributed job runs as a single process here."""
    if config is None or not isinstance(config, _Distributed):
        return
    key = (where, config._kind)
    if key in _noted:
        return
    _noted.add(key)
    asked = config.processes()
    print(f"note: {where}: the {config._kind} configuration ({asked} process{'es' if asked != 1 else ''} asked) runs as "
          "a single process on this machine", file=sys.stderr, flush=True)


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
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.mpi = MpiConfiguration()
        self.pytorch = PyTorchConfiguration(process_count=1)
        self.tensorflow = TensorflowConfiguration(worker_count=1, parameter_server_count=0)
        ignored = given(_history_enabled=_history_enabled, _path=_path, _name=_name)
        ignored += [] if framework in (None, "Python", "python") else ["framework"]
        ignored += [] if communicator in (None, "None") else ["communicator"]
        warn_ignored("RunConfiguration", ignored)
        self.command = command  # a CommandStep without a command of its own runs this one
        self.docker = DockerConfiguration()

    @property
    def environment_variables(self):
        return self.environment.environment_variables

    def _distributed(self):
        """The distributed configuration this run configuration asks for, if any."""
        communicator = str(self.communicator or "None").lower()
        if communicator in ("intelmpi", "openmpi", "mpi") or str(self.framework).lower() == "mpi":
            return self.mpi
        if str(self.framework).lower() == "pytorch" or communicator == "nccl":
            return self.pytorch
        if str(self.framework).lower() == "tensorflow" or communicator == "parameterserver":
            return self.tensorflow
        if int(self.node_count or 1) > 1:
            return MpiConfiguration(node_count=self.node_count)
        return None

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


__all__ = ["RunConfiguration", "CondaDependencies", "DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "DockerConfiguration",
           "DockerSection", "Environment", "MpiConfiguration", "PyTorchConfiguration", "PythonSection",
           "TensorflowConfiguration"]
