"""`canalis serve`, `canalis token`, and the listings of published pipelines, pipeline
endpoints and schedules; `canalis publish FILE.py[:NAME]`."""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

import click

from canalis.cli.common import fail_on_canalis_errors, json_option, print_json, workspace_option


def _workspace(layout):
    from canalis.core.workspace import Workspace

    return Workspace(path=layout.root)


def _executor_errors():
    """Executor refusals (not found, a taken name ...) as one-line messages."""
    import contextlib

    from canalis.executor.errors import ExecutorError

    @contextlib.contextmanager
    def guard():
        try:
            yield
        except ExecutorError as e:
            raise click.ClickException(str(e)) from None

    return guard()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (another than 127.0.0.1 makes the API reachable from other machines).")
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True,
              help="Port to listen on (0 picks a free one; the one chosen is recorded in .canalis/server.json).")
@workspace_option
@fail_on_canalis_errors
def serve(host, port, layout):
    """Serve the REST API of published pipelines, pipeline endpoints and runs, and run the
    schedules, until stopped (Ctrl-C or SIGTERM). Every route but GET /health needs a bearer
    token (`canalis token create NAME`); runs started go on when the server stops. The web UI
    is at the same address (docs/web-ui.md): its pages open without a token only when the
    server listens on 127.0.0.1."""
    from canalis.server.serve import serve as run_server

    run_server(_workspace(layout), layout.dir, host, port, announce=lambda line: click.echo(line))


@click.group()
def token():
    """Bearer tokens of the REST API: create, list, revoke."""


@token.command("create")
@click.argument("name")
@workspace_option
@fail_on_canalis_errors
def token_create(name, layout):
    """Make a token named NAME and print it, once, alone on the last line (the workspace keeps
    only its digest: copy it now)."""
    ws = _workspace(layout)
    with _executor_errors():
        row, text = ws.session.create_token(name)
    click.echo(f"token {row.name!r} created (id {row.id}); it is shown once, keep it secret:", err=True)
    click.echo(text)


@token.command("list")
@workspace_option
@json_option
@fail_on_canalis_errors
def token_list(layout, as_json):
    """Tokens, valid and revoked (never their text)."""
    rows = _workspace(layout).ledger.tokens()
    if as_json:
        print_json([{"id": r.id, "name": r.name, "user": r.user, "host": r.host, "created_at": r.created_at,
                     "revoked_at": r.revoked_at} for r in rows])
        return
    if not rows:
        click.echo("no tokens; `canalis token create NAME` makes one")
    for r in rows:
        state = f"revoked {r.revoked_at}" if r.revoked_at else "valid"
        click.echo(f"{r.name:<20} {r.id}  created {r.created_at} by {r.user or '?'}  {state}")


@token.command("revoke")
@click.argument("name_or_id")
@workspace_option
@fail_on_canalis_errors
def token_revoke(name_or_id, layout):
    """Revoke the valid token NAME (or id): requests with it get 401 from now on."""
    with _executor_errors():
        row = _workspace(layout).session.revoke_token(name_or_id)
    click.echo(f"token {row.name!r} ({row.id}) revoked")


def _pipeline_dict(row, base):
    from canalis.server.address import pipeline_url

    return {"id": row.pipeline_id, "name": row.name, "version": row.version, "description": row.description,
            "status": "Active" if row.enabled else "Disabled", "endpoint": pipeline_url(base, row.pipeline_id),
            "parameters": dict(row.plan.get("parameters") or {}), "published_at": row.published_at,
            "published_from_run": row.published_from_run}


def _base(ws, layout):
    from canalis.server.address import base_url

    return base_url(layout.dir, ws.settings)


@click.command()
@workspace_option
@json_option
@fail_on_canalis_errors
def pipelines(layout, as_json):
    """Published pipelines: id, name, version, status and the URL that runs each."""
    ws = _workspace(layout)
    rows = [_pipeline_dict(r, _base(ws, layout)) for r in ws.ledger.pipelines()]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no published pipelines; Pipeline.publish(name=...) or `canalis publish FILE.py --name N` makes one")
    for r in rows:
        click.echo(f"{r['id']}  {r['name']:<24} v{r['version'] or '-':<6} {r['status']:<8} {r['endpoint']}")


@click.command()
@workspace_option
@json_option
@fail_on_canalis_errors
def endpoints(layout, as_json):
    """Pipeline endpoints: their versions and default version."""
    from canalis.server.address import endpoint_url

    ws = _workspace(layout)
    base = _base(ws, layout)
    rows = [{"id": r.endpoint_id, "name": r.name, "description": r.description, "default_version": r.default_version,
             "versions": r.versions, "status": "Active" if r.enabled else "Disabled",
             "endpoint": endpoint_url(base, r.endpoint_id)} for r in ws.ledger.endpoints()]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no pipeline endpoints; PipelineEndpoint.publish(ws, name, description, pipeline) makes one")
    for r in rows:
        click.echo(f"{r['id']}  {r['name']:<24} default {r['default_version']} of {len(r['versions'])}  "
                   f"{r['status']:<8} {r['endpoint']}")


@click.command()
@workspace_option
@json_option
@fail_on_canalis_errors
def schedules(layout, as_json):
    """Schedules: what each runs, when it fires, and its last fire."""
    ws = _workspace(layout)
    rows = [{"id": r.schedule_id, "name": r.name, "status": "Active" if r.enabled else "Disabled",
             "pipeline_id": r.pipeline_id, "pipeline_endpoint_id": r.pipeline_endpoint_id, "experiment": r.experiment,
             "recurrence": r.recurrence, "datastore": r.datastore, "path_on_datastore": r.path_on_datastore,
             "polling_interval": r.polling_interval, "parameters": r.parameters or {},
             "last_triggered_at": r.last_triggered_at, "trigger_count": r.trigger_count or 0,
             "last_error": r.last_error} for r in ws.ledger.schedules()]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no schedules; Schedule.create(ws, name, pipeline_id=..., ...) makes one")
    for r in rows:
        when = (f"every {r['recurrence']['interval']} {r['recurrence']['frequency']}" if r["recurrence"]
                else f"on changes in {r['datastore']}:{r['path_on_datastore'] or '/'}")
        click.echo(f"{r['id']}  {r['name']:<24} {r['status']:<8} {when}; fired {r['trigger_count']} times"
                   + (f"; last error: {r['last_error']}" if r["last_error"] else ""))


@click.command()
@click.argument("target")
@click.option("--name", required=True, help="Name the published pipeline is listed under.")
@click.option("--description", default=None, help="Its description (default: the pipeline's).")
@click.option("--version", "version", default=None, help="Its version text.")
@click.option("--continue-on-step-failure", is_flag=True, help="Runs of it keep going after a step fails.")
@click.option("--workspace", type=click.Path(file_okay=False), default=None,
              help="Workspace root for Workspace.from_config() in FILE (default: found upward).")
@json_option
@fail_on_canalis_errors
def publish(target, name, description, version, continue_on_step_failure, workspace, as_json):
    """Publish the pipeline object in FILE.py[:NAME] (NAME defaults to `pipeline`): its sources
    are snapshotted now and kept; print its id and the URL that runs it."""
    import os

    from canalis.exceptions import UserErrorException
    from canalis.pipeline.core.pipeline import Pipeline

    if workspace:
        os.environ["CANALIS_WORKSPACE"] = str(Path(workspace).resolve())
    path, _, attr = target.partition(":")
    attr = attr or "pipeline"
    file = Path(path)
    if not file.is_file():
        raise click.ClickException(f"{file} is not a file; pass FILE.py[:NAME]")
    sys.path.insert(0, str(file.resolve().parent))
    namespace = runpy.run_path(str(file), run_name="__canalis_publish__")
    obj = namespace.get(attr)
    if not isinstance(obj, Pipeline):
        found = sorted(k for k, v in namespace.items() if isinstance(v, Pipeline))
        raise click.ClickException(f"{file} defines no Pipeline named {attr!r} (Pipelines found: "
                                   f"{', '.join(found) or 'none'}); use {file}:NAME")
    try:
        published = obj.publish(name=name, description=description, version=version,
                                continue_on_step_failure=continue_on_step_failure)
    except UserErrorException as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        print_json({"id": published.id, "name": published.name, "version": published.version,
                    "endpoint": published.endpoint, "parameters": published.parameters})
        return
    click.echo(f"published {published.name!r} as {published.id}")
    click.echo(f"run it: POST {published.endpoint}")
