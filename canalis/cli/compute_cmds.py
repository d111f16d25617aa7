"""`canalis compute list`: the workspace's compute targets, what runs their steps and where."""
from __future__ import annotations

import click

from canalis.cli.common import fail_on_canalis_errors, json_option, print_json, workspace_option


@click.group()
def compute():
    """Compute targets of the workspace (created or attached from SDK v1 code)."""


def targets(layout) -> list[dict]:
    """name, type, where (a Dask scheduler's address) and what runs the steps, for each target."""
    from canalis.core.compute import DASK, _dask_description, _recorded

    class _Ws:  # what _recorded reads of a workspace
        _config = layout.read_config()

    out = []
    for name, entry in sorted(_recorded(_Ws).items()):
        kind = entry.get("type", "local")
        req = entry.get("requested", {})
        runs = ("Docker containers on this machine" if kind == "docker" else _dask_description(entry)[len("runs steps "):]
                if kind == DASK else "this machine (local runner)")
        out.append({"name": name, "type": kind, "address": req.get("scheduler_address") if kind == DASK else None,
                    "runs_steps_on": runs, "created": entry.get("created")})
    return out


@compute.command("list")
@workspace_option
@json_option
@fail_on_canalis_errors
def list_(layout, as_json):
    """Every compute target: its type and what runs the steps that name it."""
    out = targets(layout)
    if as_json:
        return print_json(out)
    from canalis.cli.run_cmds import _table

    _table("compute targets", ["name", "type", "runs steps on"], [(t["name"], t["type"], t["runs_steps_on"]) for t in out])
