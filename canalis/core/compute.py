"""Compute targets, as objects as in SDK v1. Offline, every target runs steps on this machine:
SDK v1 code that creates an AmlCompute cluster or a compute instance gets a named target of that
class running steps with canalis's local runner instead, with a note; a target made with
`DockerCompute.provisioning_configuration()` runs the steps that name it in Docker containers
on this machine (docs/environments.md). A Dask cluster is attached the SDK v1 way,
`ComputeTarget.attach(ws, "dask", DaskCompute.attach_configuration(scheduler_address=...))`
(or `local_cluster=True` to try it on this machine): steps naming it run as tasks on the
cluster's workers (docs/dask.md).

`ws.compute_targets[name]` and `ComputeTarget(ws, name)` give an `AmlCompute`,
`ComputeInstance`, `DockerCompute` or `LocalCompute` (by what was created under that name);
`.status` and `get_status()` give a status object with the fields SDK v1 code prints and
`.serialize()`.
"""
from __future__ import annotations

import datetime as _dt

from canalis.exceptions import ComputeTargetException, NotSupportedOfflineError

_NOTED = set()
#: SDK v1 type names of the targets canalis makes; the built-in "local" target is "local"
LOCAL, AML, INSTANCE, DOCKER = "local", "AmlCompute", "ComputeInstance", "docker"
DASK = "dask"


def _recorded(workspace) -> dict:
    """name -> config entry ({"type", "requested", "created"}) of every target, "local" included."""
    targets = {"local": {"type": LOCAL}}
    for name, entry in workspace._config.get("compute_targets", {}).items():
        entry = dict(entry)
        if entry.get("type") == "local" and "requested" in entry:  # recorded before targets had a class
            entry["type"] = AML
        targets[name] = entry
    return targets


class ComputeTarget:
    """A named compute target; its class follows what was created under the name."""

    _type = LOCAL

    def __new__(cls, workspace=None, name=None, *args, **kwargs):
        if cls is ComputeTarget and workspace is not None and name is not None:
            entry = _recorded(workspace).get(name)
            if entry is not None:
                cls = _CLASSES.get(entry.get("type"), LocalCompute)
        return super().__new__(cls)

    def __init__(self, workspace, name):
        targets = _recorded(workspace)
        if name not in targets:
            raise ComputeTargetException(
                f"no compute target named {name!r} in workspace {workspace.name!r} (known: {', '.join(sorted(targets))}); "
                "create it with ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(...))"
            )
        self.workspace = workspace
        self.name = name
        self._entry = targets[name]
        self.type = self._entry.get("type", LOCAL)
        self.provisioning_state = "Succeeded"
        self.provisioning_errors = None
        self.location = workspace.location
        self.cluster_location = workspace.location
        self.tags = None
        self.description = ("runs steps in Docker containers on this machine" if self.type == DOCKER
                            else _dask_description(self._entry) if self.type == DASK
                            else "runs steps on this machine with canalis's local runner")

    @staticmethod
    def create(workspace, name, provisioning_configuration):
        """Record `name` as a target of the class the provisioning configuration is for; it runs
        steps on this machine (a note says so once per name)."""
        kind = getattr(provisioning_configuration, "_kind", AML)
        entry = {"type": kind, "requested": provisioning_configuration.as_dict(),
                 "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        workspace._update_config(lambda cfg: cfg.setdefault("compute_targets", {}).__setitem__(name, entry))
        if name not in _NOTED and kind != DOCKER:
            _NOTED.add(name)
            print(f"note: compute target {name!r} ({kind}) runs steps on this machine with canalis's local runner")
        return ComputeTarget(workspace, name)

    @staticmethod
    def attach(workspace, name, attach_configuration):
        """Record `name` as an attached target; only a Dask cluster
        (`DaskCompute.attach_configuration(...)`) can be attached offline."""
        if getattr(attach_configuration, "_kind", None) == DASK:
            entry = {"type": DASK, "requested": attach_configuration.as_dict(),
                     "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
            workspace._update_config(lambda cfg: cfg.setdefault("compute_targets", {}).__setitem__(name, entry))
            return ComputeTarget(workspace, name)
        raise NotSupportedOfflineError(f"compute target {name!r} cannot be attached: canalis runs steps on this machine; "
                                       "use compute_target='local' or create an AmlCompute target")

    @staticmethod
    def list(workspace):
        return [ComputeTarget(workspace, n) for n in sorted(_recorded(workspace))]

    def wait_for_completion(self, show_output=False, min_node_count=None, timeout_in_minutes=25, is_delete_operation=False):
        if show_output:
            print(f"{self.name}: {self.provisioning_state} (steps run on this machine)")

    @property
    def status(self):
        return self.get_status()

    def get_status(self):
        """The target's status: provisioning "Succeeded", allocation "Steady", the node counts
        it was created with (`.serialize()` gives them as SDK v1 did)."""
        requested = self._entry.get("requested", {})
        return ComputeStatus(vm_size=requested.get("vm_size") or None, vm_priority=requested.get("vm_priority", "dedicated"),
                             min_nodes=int(requested.get("min_nodes") or 0),
                             max_nodes=int(requested.get("max_nodes") or 1),
                             idle_seconds=int(requested.get("idle_seconds_before_scaledown") or 1800),
                             created=self._entry.get("created"))

    def refresh_state(self):
        """Nothing to refresh: the state of this machine is read when asked."""

    def serialize(self) -> dict:
        return {"id": self.name, "name": self.name, "location": self.location, "tags": self.tags,
                "properties": {"computeType": self.type, "provisioningState": self.provisioning_state,
                               "description": self.description, "status": self.get_status().serialize()}}

    def delete(self):
        self.workspace._update_config(lambda cfg: cfg.get("compute_targets", {}).pop(self.name, None))

    def detach(self):
        self.delete()

    def __repr__(self):
        return f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name!r}, type={self.type!r})"


class ComputeStatus:
    """What SDK v1's `AmlComputeStatus` held, for a target that is this machine."""

    def __init__(self, vm_size=None, vm_priority="dedicated", min_nodes=0, max_nodes=1, idle_seconds=1800, created=None):
        self.provisioning_state = "Succeeded"
        self.provisioning_errors = None
        self.allocation_state = "Steady"
        self.allocation_state_transition_time = created
        self.creation_time = created
        self.modified_time = created
        self.current_node_count = 1
        self.target_node_count = 1
        self.requested_node_count = 1
        self.node_state_counts = NodeStateCounts()
        self.errors = None
        self.vm_size = vm_size
        self.vm_priority = vm_priority
        self.scale_settings = ScaleSettings(min_nodes, max_nodes, idle_seconds)

    def serialize(self) -> dict:
        return {
            "currentNodeCount": self.current_node_count, "targetNodeCount": self.target_node_count,
            "nodeStateCounts": self.node_state_counts.serialize(), "allocationState": self.allocation_state,
            "allocationStateTransitionTime": self.allocation_state_transition_time, "errors": self.errors,
            "creationTime": self.creation_time, "modifiedTime": self.modified_time,
            "provisioningState": self.provisioning_state, "provisioningStateTransitionTime": self.creation_time,
            "scaleSettings": self.scale_settings.serialize(), "vmPriority": self.vm_priority, "vmSize": self.vm_size,
        }

    def __repr__(self):
        return f"ComputeStatus({self.serialize()!r})"


class NodeStateCounts:
    def __init__(self):
        self.idle_node_count = 1
        self.running_node_count = 0
        self.preparing_node_count = 0
        self.unusable_node_count = 0
        self.leaving_node_count = 0
        self.preempted_node_count = 0

    def serialize(self) -> dict:
        return {"idleNodeCount": self.idle_node_count, "runningNodeCount": self.running_node_count,
                "preparingNodeCount": self.preparing_node_count, "unusableNodeCount": self.unusable_node_count,
                "leavingNodeCount": self.leaving_node_count, "preemptedNodeCount": self.preempted_node_count}


class ScaleSettings:
    def __init__(self, minimum_node_count=0, maximum_node_count=1, idle_seconds=1800):
        self.minimum_node_count = minimum_node_count
        self.maximum_node_count = maximum_node_count
        self.node_idle_time_before_scale_down = idle_seconds

    def serialize(self) -> dict:
        return {"minNodeCount": self.minimum_node_count, "maxNodeCount": self.maximum_node_count,
                "nodeIdleTimeBeforeScaleDown": f"PT{self.node_idle_time_before_scale_down}S"}


class LocalCompute(ComputeTarget):
    _type = LOCAL


class AmlCompute(ComputeTarget):
    _type = AML

    @staticmethod
    def provisioning_configuration(vm_size="", vm_priority="dedicated", min_nodes=0, max_nodes=None,
                                   idle_seconds_before_scaledown=None, **kwargs):
        return _Provisioning(AML, vm_size=vm_size, vm_priority=vm_priority, min_nodes=min_nodes, max_nodes=max_nodes,
                             idle_seconds_before_scaledown=idle_seconds_before_scaledown)

    @staticmethod
    def supported_vmsizes(workspace, location=None):
        return [{"name": "local", "vCPUs": __import__("os").cpu_count() or 1, "gpus": 0}]


class ComputeInstance(ComputeTarget):
    _type = INSTANCE

    @staticmethod
    def provisioning_configuration(vm_size="", ssh_public_access=False, admin_user_ssh_public_key=None, **kwargs):
        return _Provisioning(INSTANCE, vm_size=vm_size, min_nodes=1, max_nodes=1)

    # the instance is this machine, which is running: starting, stopping and restarting it
    # change nothing
    def start(self, wait_for_completion=True, show_output=True):
        """Nothing to start: steps run on this machine."""

    def stop(self, wait_for_completion=True, show_output=True):
        """Nothing to stop: steps run on this machine."""

    def restart(self, wait_for_completion=True, show_output=True):
        """Nothing to restart: steps run on this machine."""


class DockerCompute(ComputeTarget):
    """A compute target whose steps run in Docker containers on this machine, each in the image
    of its environment: `ComputeTarget.create(ws, "docker", DockerCompute.provisioning_configuration())`."""

    _type = DOCKER

    @staticmethod
    def provisioning_configuration(**kwargs):
        return _Provisioning(DOCKER, **kwargs)


class DaskCompute(ComputeTarget):
    """A Dask cluster whose workers run the steps that name it (docs/dask.md):
    `ComputeTarget.attach(ws, "dask", DaskCompute.attach_configuration(scheduler_address="tcp://host:8786"))`,
    or `attach_configuration(local_cluster=True, n_workers=2)` for a cluster of worker
    processes on this machine, started by the run that needs it. Needs `pip install canalis[dask]`."""

    _type = DASK

    @staticmethod
    def attach_configuration(scheduler_address=None, local_cluster=False, n_workers=None, threads_per_worker=1,
                             max_attempts=3):
        """`scheduler_address` ("tcp://host:8786") of a running cluster, or `local_cluster=True`;
        `max_attempts` bounds how often a step whose worker is lost is started (1: never retried)."""
        if bool(scheduler_address) == bool(local_cluster):
            raise ComputeTargetException("DaskCompute.attach_configuration needs either scheduler_address="
                                         "'tcp://host:8786' (a running cluster) or local_cluster=True, not both")
        if scheduler_address is not None and "://" not in str(scheduler_address):
            raise ComputeTargetException(f"scheduler_address {scheduler_address!r} is not an address; give it as "
                                         "'tcp://host:8786'")
        if int(max_attempts) < 1:
            raise ComputeTargetException(f"max_attempts must be at least 1, got {max_attempts!r}")
        return _Provisioning(DASK, scheduler_address=scheduler_address, local_cluster=bool(local_cluster) or None,
                             n_workers=n_workers, threads_per_worker=threads_per_worker, max_attempts=int(max_attempts))

    @property
    def scheduler_address(self):
        return self._entry.get("requested", {}).get("scheduler_address")


def _dask_description(entry: dict) -> str:
    req = entry.get("requested", {})
    where = req.get("scheduler_address") or "a local cluster started by each run"
    return f"runs steps on the Dask cluster at {where}"


_CLASSES = {LOCAL: LocalCompute, AML: AmlCompute, INSTANCE: ComputeInstance, DOCKER: DockerCompute, DASK: DaskCompute}


class _Provisioning:
    def __init__(self, kind, **kwargs):
        self._kind = kind
        self._values = {k: v for k, v in kwargs.items() if v is not None}

    def as_dict(self):
        return dict(self._values)


def compute_targets(workspace) -> dict:
    """`ws.compute_targets`: name -> target object."""
    return {name: ComputeTarget(workspace, name) for name in _recorded(workspace)}


def compute_target_kind(workspace, target) -> str:
    """"local" or "docker": how the compute target `target` (a name or a ComputeTarget) runs
    steps. A name the workspace does not know runs on the local runner, as SDK v1 scripts
    naming their cloud cluster expect."""
    name = target if isinstance(target, str) else getattr(target, "name", "local")
    return DOCKER if _recorded(workspace).get(name, {}).get("type") == DOCKER else LOCAL


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
