"""`canalis submit | runs | show | logs | metrics | experiments | datasets`."""
from __future__ import annotations

import json
import os
import runpy
import sys
import time
from pathlib import Path

import click

from canalis import reports
from canalis.cli.common import fail_on_canalis_errors, json_option, print_json, short_digest, workspace_option
from canalis.ledger.status import RunStatus, StepStatus


def _table(title, columns, rows):
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for i, c in enumerate(columns):
        # ids stay whole so they can be copied; other columns fold instead of ending in "..."
        t.add_column(c, no_wrap=(i == 0), overflow="fold")
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    # on a terminal rich fits the table to the window; piped output keeps whole lines
    Console(width=None if sys.stdout.isatty() else 200).print(t)


def _parse_param(text: str):
    if "=" not in text:
        raise click.BadParameter(f"{text!r} is not NAME=VALUE")
    name, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name, value


@click.command()
@click.argument("target")
@click.option("--experiment", "-e", required=True, help="Experiment to submit to.")
@click.option("--param", "params", multiple=True, help="Pipeline parameter NAME=VALUE (VALUE read as JSON when it parses).")
@click.option("--regenerate-outputs", is_flag=True, help="Run every step; reuse nothing.")
@click.option("--continue-on-step-failure", is_flag=True,
              help="After a step fails, still run every step whose inputs exist (default: start no new step).")
@click.option("--max-concurrent-steps", type=int, default=None, help="Independent steps run at once (default: cores).")
@click.option("--quiet", "-q", is_flag=True, help="Do not stream step output.")
@click.option("--allow-secret-values", is_flag=True, default=None,
              help="Submit parameter, argument and environment values that look like credentials anyway "
                   "(they are recorded readable; see docs/secrets.md).")
@click.option("--workspace", type=click.Path(file_okay=False), default=None,
              help="Workspace root for Workspace.from_config() in FILE (default: found upward).")
@json_option
@fail_on_canalis_errors
def submit(target, experiment, params, regenerate_outputs, continue_on_step_failure, max_concurrent_steps, quiet,
           allow_secret_values, workspace, as_json):
    """Submit the pipeline object in FILE.py[:NAME] (NAME defaults to `pipeline`)."""
    if workspace:
        os.environ["CANALIS_WORKSPACE"] = str(Path(workspace).resolve())
    from canalis.core.experiment import Experiment
    from canalis.pipeline.core.run import watch
    from canalis.executor.errors import PlanError
    from canalis.executor.session import SubmitOptions
    from canalis.pipeline.core.pipeline import Pipeline

    path, _, name = target.partition(":")
    name = name or "pipeline"
    file = Path(path)
    if not file.is_file():
        raise click.ClickException(f"{file} is not a file; pass FILE.py[:NAME]")
    sys.path.insert(0, str(file.resolve().parent))
    namespace = runpy.run_path(str(file), run_name="__canalis_submit__")
    obj = namespace.get(name)
    if not isinstance(obj, Pipeline):
        found = sorted(k for k, v in namespace.items() if isinstance(v, Pipeline))
        raise click.ClickException(f"{file} defines no Pipeline named {name!r} (Pipelines found: {', '.join(found) or 'none'}); use {file}:NAME")
    ws = obj.workspace
    from canalis.pipeline.core.compile import refuse_secret_values

    try:
        handle = ws.session.submit(
            experiment, lambda store: obj.plan(), dict(_parse_param(p) for p in params),
            options=SubmitOptions(regenerate_outputs=regenerate_outputs, continue_on_step_failure=continue_on_step_failure,
                                  max_concurrent_steps=max_concurrent_steps),
            description=obj.description,
            vet=lambda plan, values: refuse_secret_values(plan, values, allow_secret_values or None))
    except PlanError as e:
        raise click.ClickException(str(e)) from None
    run = watch(Experiment(ws, experiment), handle)
    status = run.wait_for_completion(show_output=not (quiet or as_json), raise_on_error=False)
    summary = reports.run_summary(obj.workspace.ledger, run.id)
    if as_json:
        print_json(summary)
    sys.exit(0 if status == RunStatus.Completed else 1)


@click.command()
@click.option("--experiment", "-e", default=None)
@workspace_option
@json_option
@fail_on_canalis_errors
def runs(layout, experiment, as_json):
    """List runs, newest first, and the disk space working folders kept after failed steps hold."""
    from canalis.executor.workdirs import DEFAULT_KEEP_FAILED, bytes_by_run

    ledger = layout.open_ledger()
    rows = reports.run_list(ledger, experiment)
    kept = bytes_by_run(ledger, layout.runs)
    for r in rows:
        r["failed_folders_bytes"] = kept.get(r["run_id"], 0)
    if as_json:
        return print_json(rows)
    _table("runs", ["run", "experiment", "status", "submitted", "duration s", "steps", "reused"],
           [(r["run_id"], r["experiment"], r["status"], _fmt_t(r["submitted_at"]), _fmt_s(r["duration_s"]), r["steps"], r["reused"]) for r in rows])
    total, holding = sum(r["failed_folders_bytes"] for r in rows), sum(1 for r in rows if r["failed_folders_bytes"])
    click.echo(f"working folders kept after failed steps: {_size(total)} in {holding} run(s)"
               + (f"; `canalis gc` removes those older than {DEFAULT_KEEP_FAILED} (--keep-failed)" if total else ""))


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _fmt_t(v):
    return v[:19].replace("T", " ") if isinstance(v, str) else v


def _fmt_s(v):
    return f"{v:.2f}" if isinstance(v, (int, float)) else v


@click.command()
@click.argument("run")
@workspace_option
@json_option
@fail_on_canalis_errors
def show(layout, run, as_json):
    """A run and its steps: status, reused or ran, duration, output digests."""
    ledger = layout.open_ledger()
    s = reports.run_summary(ledger, reports.resolve_run(ledger, run))
    if as_json:
        return print_json(s)
    click.echo(f"run {s['run_id']}  experiment {s['experiment']}  status {s['status']}  duration {_fmt_s(s['duration_s'])} s")
    if s["parameters"]:
        click.echo("parameters: " + ", ".join(f"{k}={v!r}" for k, v in s["parameters"].items()))
    if s["git"]:
        g = s["git"]
        click.echo(f"git: {g.get('commit', '')[:12]} on {g.get('branch')}{' (dirty)' if g.get('dirty') else ''}")
    _table(None, ["step", "status", "reused/ran", "duration s", "outputs"],
           [(x["step"], x["status"], "reused" if x["reused"] else ("ran" if x["status"] in StepStatus.ran() else "-"),
             _fmt_s(x["duration_s"]), " ".join(f"{k}={short_digest(v)}" for k, v in x["outputs"].items())) for x in s["steps"]])
    for x in s["steps"]:
        if x["status"] == StepStatus.Failed and x["error"]:
            click.echo(f"step {x['step']} failed: {x['error']}", err=True)


@click.command()
@click.argument("run")
@click.option("--reason", default=None, help="Why; recorded in the ledger with the cancel.")
@click.option("--wait/--no-wait", "wait_", default=True, show_default=True,
              help="Wait until the run's executor has stopped its steps.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait at most.")
@workspace_option
@json_option
@fail_on_canalis_errors
def cancel(layout, run, reason, wait_, timeout, as_json):
    """Cancel RUN: running steps are stopped (SIGTERM, then SIGKILL after 10 s), steps not
    started are skipped, and the run ends as Canceled. Works from any process."""
    from canalis.executor.cancel import CANCEL_REQUESTED, RunNotCancelable, request_cancel

    ledger = layout.open_ledger()
    run_id = reports.resolve_run(ledger, run)
    try:
        outcome = request_cancel(ledger, run_id, reason)
    except RunNotCancelable as e:
        raise click.ClickException(str(e)) from None
    deadline = time.monotonic() + timeout
    while wait_ and outcome != RunStatus.Canceled and time.monotonic() < deadline:
        time.sleep(0.2)
        row = ledger.run(run_id)
        if row is not None and row.status in RunStatus.terminal():
            outcome = row.status
    if as_json:
        return print_json({"run_id": run_id, "status": outcome})
    if outcome == CANCEL_REQUESTED:
        click.echo(f"cancel of run {run_id} requested; its executor has not stopped yet (`canalis show {run_id}`)")
    else:
        click.echo(f"run {run_id}: {outcome}")


@click.command()
@click.argument("run")
@click.argument("step", required=False)
@click.option("--follow", "-f", is_flag=True, help="Keep printing output of running steps until the run ends.")
@click.option("--head", type=click.IntRange(min=0), default=None, metavar="N",
              help="Print only the first N lines of each step's stdout and stderr.")
@click.option("--tail", type=click.IntRange(min=0), default=None, metavar="N",
              help="Print only the last N lines of each step's stdout and stderr (with --follow: then what follows).")
@workspace_option
@fail_on_canalis_errors
def logs(layout, run, step, follow, head, tail):
    """stdout and stderr of a run's steps (or of STEP).

    Logs are streamed from the store (or from a running step's live file), byte for byte, in
    bounded memory whatever their size."""
    from canalis.core.run_logs import LogFollower, chunks, head_chunks

    if head is not None and (tail is not None or follow):
        raise click.UsageError("--head cannot be combined with --tail or --follow")
    ledger = layout.open_ledger()
    store = layout.open_store()
    run_id = reports.resolve_run(ledger, run)
    follower = LogFollower(ledger, store, str(layout.runs), run_id, step=step, tail=tail)
    out = {"stdout": click.get_binary_stream("stdout"), "stderr": click.get_binary_stream("stderr")}
    if head is not None:
        for row in _rows(follower, run_id, step, follow):
            for stream in ("stdout", "stderr"):
                f = follower.source.open(row, stream)
                if f is None:
                    continue
                with f:
                    for i, data in enumerate(head_chunks(chunks(f), head)):
                        if i == 0:
                            out[stream].write(f"== {row.step_name} {stream} ==\n".encode())
                        out[stream].write(data)
                out[stream].flush()
        return

    def emit(row, stream, data, first):
        if first:
            out[stream].write(f"== {row.step_name} {stream} ==\n".encode())
        out[stream].write(data)
        out[stream].flush()

    while True:
        _rows(follower, run_id, step, follow)
        follower.poll(emit)
        row = ledger.run(run_id)
        if not follow or (row is not None and row.status in RunStatus.terminal()):
            if follow:
                follower.poll(emit)  # what was written between the last poll and the end
            break
        time.sleep(0.5)


def _rows(follower, run_id, step, follow) -> list:
    rows = follower.rows()
    if step and not rows and not follow:
        raise click.ClickException(f"run {run_id} has no step {step!r}")
    return rows


@click.command()
@click.argument("run")
@workspace_option
@json_option
@fail_on_canalis_errors
def metrics(layout, run, as_json):
    """Metrics a run and its steps logged."""
    ledger = layout.open_ledger()
    m = reports.run_metrics(ledger, reports.resolve_run(ledger, run))
    if as_json:
        return print_json(m)
    rows = [("(run)", k, v) for k, v in m["run"].items()]
    for step_name, values in m["steps"].items():
        rows += [(step_name, k, v) for k, v in values.items()]
    _table("metrics", ["step", "name", "value"], rows)


@click.command()
@workspace_option
@json_option
@fail_on_canalis_errors
def experiments(layout, as_json):
    """Experiments with their run counts."""
    rows = [e.to_dict() for e in layout.open_ledger().experiments()]
    if as_json:
        return print_json(rows)
    _table("experiments", list(rows[0].keys()) if rows else ["name"], [tuple(r.values()) for r in rows])


@click.command()
@click.argument("name", required=False)
@workspace_option
@json_option
@fail_on_canalis_errors
def datasets(layout, name, as_json):
    """Registered datasets (latest versions), or every version of NAME."""
    ledger = layout.open_ledger()
    rows = ledger.dataset_versions(name) if name else ledger.datasets()
    out = [{"name": r.name, "version": r.version, "kind": r.kind, "tree": r.digest, "id": r.id,
            "registered_at": r.registered_at, "run_id": (r.lineage or {}).get("run_id"),
            "description": r.description} for r in rows]
    if as_json:
        return print_json(out)
    _table("datasets", ["name", "version", "kind", "tree", "registered", "from run"],
           [(r["name"], r["version"], r["kind"], short_digest(r["tree"]), r["registered_at"], r["run_id"]) for r in out])
