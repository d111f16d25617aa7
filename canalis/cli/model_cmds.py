"""`canalis models` and `canalis models show NAME[:VERSION]`."""
from __future__ import annotations

import click

from canalis import registrations
from canalis.cli.common import fail_on_canalis_errors, json_option, print_json, short_digest, workspace_option


def _table(title, columns, rows):
    from canalis.cli.run_cmds import _table as table

    table(title, columns, rows)


@click.group(invoke_without_command=True)
@click.option("--workspace", type=click.Path(file_okay=False), envvar="CANALIS_WORKSPACE", default=None,
              help="Workspace root (default: found upward from the current folder).")
@json_option
@click.pass_context
@fail_on_canalis_errors
def models(ctx, workspace, as_json):
    """Registered models (the latest version of each), with the run and step that made them.

    `canalis models show NAME[:VERSION]` tells one version: its files and lineage."""
    if ctx.invoked_subcommand is not None:
        return
    from canalis import layout as _layout

    lay = _layout.at(workspace) if workspace else _layout.find()
    out = registrations.model_list(lay.open_ledger())
    if as_json:
        return print_json(out)
    _table("models", ["name", "version", "tree", "registered", "run", "step", "datasets"],
           [(m["name"], m["version"], short_digest(m["tree"]), m["registered_at"], m["run_id"], m["step"],
             " ".join(f"{d['name']}:{d['version']}" for d in m["datasets"])) for m in out])


@models.command("show")
@click.argument("ref", metavar="NAME[:VERSION]")
@workspace_option
@json_option
@fail_on_canalis_errors
def show(layout, ref, as_json):
    """One model version (the latest when VERSION is left out): tags, files, and where it came
    from (run, step, datasets; `canalis lineage model:NAME` follows them to the code)."""
    m = registrations.model_detail(layout.open_ledger(), layout.open_store(), ref)
    if as_json:
        return print_json(m)
    click.echo(f"model {m['name']} version {m['version']} (versions: {', '.join(map(str, m['versions']))})")
    click.echo(f"tree {m['tree']}  registered {m['registered_at']}")
    if m["description"]:
        click.echo(f"description: {m['description']}")
    for label, key in (("tags", "tags"), ("properties", "properties")):
        if m[key]:
            click.echo(f"{label}: " + ", ".join(f"{k}={v!r}" for k, v in m[key].items()))
    if m["run_id"]:
        step = f", step {m['step']} ({m['step_run_id']})" if m["step_run_id"] else ""
        click.echo(f"made by run {m['run_id']}{step}")
    if m["automl"]:
        best = m["automl"]["best_trial"]
        click.echo(f"AutoML step {m['automl']['step']}: best of {m['automl']['trials']} trials is iteration "
                   f"{best['iteration']} ({best['model']})")
        click.echo("best trial's metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in best["metrics"].items()))
    for d in m["datasets"]:
        click.echo(f"from dataset {d['name']}:{d['version']}" + (f" ({d['purpose']})" if d["purpose"] else ""))
    _table("files", ["path", "size", "digest"], [(f["path"], f["size"], short_digest(f["digest"])) for f in m["files"]])
