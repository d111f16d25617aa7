"""`canalis environments` and `canalis environments show NAME[:VERSION]`: registered
environments, where each version came from, and its definition."""
from __future__ import annotations

import json

import click

from canalis import registrations
from canalis.cli.common import fail_on_canalis_errors, json_option, print_json, short_digest, workspace_option


@click.group(invoke_without_command=True)
@click.option("--workspace", type=click.Path(file_okay=False), envvar="CANALIS_WORKSPACE", default=None,
              help="Workspace root (default: found upward from the current folder).")
@json_option
@click.pass_context
@fail_on_canalis_errors
def environments(ctx, workspace, as_json):
    """Registered environments (the latest version of each) and where they came from.

    `canalis environments show NAME[:VERSION]` tells one version, with its definition."""
    if ctx.invoked_subcommand is not None:
        return
    from canalis import layout as _layout
    from canalis.cli.run_cmds import _table

    lay = _layout.at(workspace) if workspace else _layout.find()
    out = registrations.registration_list(lay.open_ledger(), "environments")
    if as_json:
        return print_json(out)
    _table("environments", ["name", "version", "digest", "registered", "run"],
           [(e["name"], e["version"], short_digest(e["digest"]), e["registered_at"], e["run_id"] or "") for e in out])


@environments.command("show")
@click.argument("ref", metavar="NAME[:VERSION]")
@workspace_option
@json_option
@fail_on_canalis_errors
def show(layout, ref, as_json):
    """One environment version (the latest when VERSION is left out) and its definition."""
    e = registrations.registration_detail(layout.open_ledger(), layout.open_store(), "environments", ref)
    if as_json:
        return print_json(e)
    click.echo(f"environment {e['name']} version {e['version']} (versions: {', '.join(map(str, e['versions']))})")
    click.echo(f"digest {e['digest']}  registered {e['registered_at']}" + (f"  by run {e['run_id']}" if e["run_id"] else ""))
    if e["description"]:
        click.echo(f"description: {e['description']}")
    click.echo(json.dumps(e["definition"], indent=2, sort_keys=True))
