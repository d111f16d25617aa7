"""SDK v1 keyword arguments canalis accepts but cannot honour offline.

A script written for SDK v1 passes keywords that only meant something in the cloud
(`credential_passthrough`, `runconfig_pipeline_params`, a workspace's `sku` ...). canalis
accepts them, so the script runs unchanged, but never drops one silently: each is named in a
one-line warning on stderr, once per API and keyword in a process. Keywords with a meaning
offline are honoured and never warned about. The arguments that only identify a cloud
workspace (subscription, resource group, authentication, location, cloud) are accepted
without a warning: a canalis workspace is the folder it is in, so there is nothing to honour.
"""
from __future__ import annotations

import sys
import threading
from typing import Iterable

#: arguments of the Workspace constructors that only identify a cloud workspace
CLOUD_IDENTITY = frozenset({"subscription_id", "resource_group", "auth", "location", "_location", "cloud", "_cloud",
                            "id", "_workspace_id", "_disable_service_check"})

#: what to do instead, for keywords where canalis has an answer
HINTS = {
    "default_datastore": "intermediate data stays in the workspace's store; "
                         "OutputFileDatasetConfig(destination=(datastore, path)) copies an output into a datastore",
    "resolve_closure": "steps that produce what listed steps read are always included",
    "parent_run_id": "the run is not nested under another run",
    "credential_passthrough": "steps run as the user who submits",
    "runconfig_pipeline_params": "node and process counts do not apply to steps run on this machine",
    "version": "a step's content is its version: a changed script, input or parameter changes its reuse key",
    "max_run_duration_seconds": "no time limit is applied; `canalis cancel RUN` stops a run",
    "distributed_job_config": "a step runs as one process",
    "framework": "a step runs as one Python process",
    "communicator": "a step runs as one process",
    "arguments": "the container gets its working folder, inputs and outputs, and no network unless its "
                 "environment sets docker.network",
    "shared_volumes": "the step's folders are always mounted into its container",
    "resume_from": "a script run starts from scratch",
}

_warned: set[tuple[str, str]] = set()
_lock = threading.Lock()


def given(**values) -> list[str]:
    """The names among `values` that were passed (not None)."""
    return [name for name, value in values.items() if value is not None]


def warn_ignored(where: str, names: Iterable[str]) -> list[str]:
    """Print one line naming the keywords of `where` (an API, e.g. "Pipeline.submit") that
    canalis cannot honour, leaving out those already named for `where` in this process.
    Returns the names it printed."""
    with _lock:
        fresh = [n for n in dict.fromkeys(map(str, names)) if (where, n) not in _warned]
        _warned.update((where, n) for n in fresh)
    if fresh:
        parts = [f"{n}= ({HINTS[n]})" if n in HINTS else f"{n}=" for n in fresh]
        effect = "they have" if len(fresh) > 1 else "it has"
        print(f"canalis: warning: {where} ignores {', '.join(parts)}; {effect} no effect in canalis",
              file=sys.stderr, flush=True)
    return fresh


def warn_cloud(where: str, extra: dict) -> list[str]:
    """`warn_ignored` for the `**` arguments of a Workspace constructor, leaving out those that
    only identify a cloud workspace."""
    return warn_ignored(where, [n for n in extra if n not in CLOUD_IDENTITY])
