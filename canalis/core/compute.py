"""Compute targets. Offline, every name maps to canalis's local runner; SDK v1 code that
creates an AmlCompute cluster gets a named local target instead, with a note. A target
made with `DockerCompute.provisioning_configuration()` runs the steps that name it in
Docker containers on this machine (docs/environments.md)."""
from __future__ import annotations

from canalis.exceptions import ComputeTargetException, NotSupportedOfflineError

_NOTED = set()


class ComputeTarget:
    def __init__(self, workspace, name):
        targets = compute_targets(workspace)
        if name not in targets:
            raise ComputeTargetException(
                f"no compute target named {name!r} in workspace {workspace.name!r} (known: {', '.join(sorted(targets))}); "
                "create it with ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(...))"
            )
        self.workspace = workspace
        self.name = name
        self.type = targets[name]["type"]
        self.provisioning_state = "Succeeded"

    @staticmethod
    def create(workspace, name, provisioning_configuration):
        kind = getattr(provisioning_configuration, "kind", "local")
        entry = {"type": kind, "requested": provisioning_configuration.as_dict()}
        workspace._update_config(lambda cfg: cfg.setdefault("compute_targets", {}).__setitem__(name, entry))
        if name not in _NOTED and kind == "local":
            _NOTED.add(name)
            print(f"note: compute target {name!r} runs steps on this machine with canalis's local runner")
        return ComputeTarget(workspace, name)

    def wait_for_completion(self, show_output=False, min_node_count=None, timeout_in_minutes=25, is_delete_operation=False):
        return None

    def get_status(self):
        return "Succeeded"

    def delete(self):
        self.workspace._update_config(lambda cfg: cfg.get("compute_targets", {}).pop(self.name, None))


class AmlCompute(ComputeTarget):
    @staticmethod
    def provisioning_configuration(vm_size="", vm_priority="dedicated", min_nodes=0, max_nodes=None, **kwargs):
        return _Provisioning(vm_size=vm_size, min_nodes=min_nodes, max_nodes=max_nodes)


class ComputeInstance(AmlCompute):
    pass


class DockerCompute(ComputeTarget):
    """A compute target whose steps run in Docker containers on this machine, each in the image
    of its environment: `ComputeTarget.create(ws, "docker", DockerCompute.provisioning_configuration())`."""

    @staticmethod
    def provisioning_configuration(**kwargs):
        return _Provisioning(kind="docker", **kwargs)


class _Provisioning:
    def __init__(self, kind="local", **kwargs):
        self.kind = kind
        self._values = kwargs

    def as_dict(self):
        return dict(self._values)


def compute_targets(workspace) -> dict:
    targets = {"local": {"type": "local"}}
    targets.update(workspace._config.get("compute_targets", {}))
    return targets


def compute_target_kind(workspace, target) -> str:
    """"local" or "docker": how the compute target `target` (a name or a ComputeTarget) runs
    steps. A name the workspace does not know runs on the local runner, as SDK v1 scripts
    naming their cloud cluster expect."""
    name = target if isinstance(target, str) else getattr(target, "name", "local")
    return compute_targets(workspace).get(name, {}).get("type", "local")


def _not_offline(kind):
    def fail(*args, **kwargs):
        raise NotSupportedOfflineError(f"{kind} is a cloud service and is not supported offline; use the local runner (compute_target='local')")

    return fail


class DatabricksCompute:
    attach_configuration = staticmethod(_not_offline("DatabricksCompute"))


class AdlaCompute:
    attach_configuration = staticmethod(_not_offline("AdlaCompute"))


class KustoCompute:
    attach_configuration = staticmethod(_not_offline("KustoCompute"))


class BatchCompute:
    attach_configuration = staticmethod(_not_offline("BatchCompute"))
