"""`canalis submit | plan | runs | show | logs | metrics | experiments | datasets`.

Only what every command here needs is imported at the top: `canalis submit` of a run whose
steps are all reused reads no report (canalis/reports.py) and looks at no executor process
(executor/orphans.py), so the commands that do import them themselves."""
from __future__ import annotations

import contextlib
import json
import os
import runpy
import sys
import time
from pathlib import Path

import click

from canalis.cli.common import (
    DURATION, duration_help, fail_on_canalis_errors, json_option, print_json, short_digest, workspace_option,
)
from canalis.cli.errors import UsageFailure, as_click_error
from canalis.cli.completion import complete_dataset, complete_experiment, complete_run
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


quiet_option = click.option("--quiet", "-q", is_flag=True,
                            help="Print only the run id and its final status (and a failed step's error, on stderr).")
plain_option = click.option("--plain", is_flag=True,
                            help="Print line by line (as when the output is not a terminal) instead of the live view.")


def format_duration(seconds) -> str:
    """canalis/durations.py's, imported when a command shows a duration (a submit shows none)."""
    from canalis.durations import format_duration as format_

    return format_(seconds)


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
@click.option("--experiment", "-e", default=None,
              help="Experiment to submit to (needed unless FILE submits its run itself).")
@click.option("--param", "params", multiple=True, help="Pipeline parameter NAME=VALUE (VALUE read as JSON when it parses).")
@click.option("--regenerate-outputs", is_flag=True, help="Run every step; reuse nothing.")
@click.option("--continue-on-step-failure", is_flag=True,
              help="After a step fails, still run every step whose inputs exist (default: start no new step).")
@click.option("--max-concurrent-steps", type=int, default=None, help="Independent steps run at once (default: cores).")
@click.option("--compute", "compute_target", default=None, metavar="NAME",
              help="Run every step on compute target NAME (`canalis compute list`), whatever the steps name.")
@click.option("--detach", "-d", is_flag=True,
              help="Print the run id once its executor has started, and return; the run goes on "
                   "(`canalis logs RUN --follow` follows it, `canalis cancel RUN` stops it).")
@quiet_option
@plain_option
@click.option("--dry-run", is_flag=True,
              help="Print the plan: each step, whether it would be reused (from which run) or run and why; run nothing.")
@click.option("--allow-secret-values", is_flag=True, default=None,
              help="Submit parameter, argument and environment values that look like credentials anyway "
                   "(they are recorded readable; see docs/secrets.md).")
@click.option("--workspace", type=click.Path(file_okay=False), default=None,
              help="Workspace root for Workspace.from_config() in FILE (default: found upward).")
@json_option
@fail_on_canalis_errors
def submit(target, experiment, params, regenerate_outputs, continue_on_step_failure, max_concurrent_steps, compute_target,
           detach, quiet, plain, dry_run, allow_secret_values, workspace, as_json):
    """Submit the pipeline object in FILE.py[:NAME] (NAME defaults to `pipeline`), then wait
    for the run, streaming its steps' output. Ctrl-C cancels the run.

    The run executes in a process of its own, which goes on whatever happens to this one;
    --detach returns as soon as it has started. A FILE that submits a run itself while it is
    loaded (`Experiment(ws, name).submit(pipeline)` at top level) is not submitted again: the
    run it submitted is the one reported."""
    if workspace:
        os.environ["CANALIS_WORKSPACE"] = str(Path(workspace).resolve())
    from canalis.core import submit_capture

    path, _, name = target.partition(":")
    name = name or "pipeline"
    file = Path(path)
    if not file.is_file():
        raise UsageFailure(f"{file} is not a file; pass FILE.py[:NAME]")
    sys.path.insert(0, str(file.resolve().parent))
    # with --json, what FILE prints while loaded (its own wait's output) goes to stderr: stdout is the JSON
    quiet_stdout = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    dry = submit_capture.dry_run() if dry_run else contextlib.nullcontext()
    intercepted = None
    with submit_capture.capturing() as captured, quiet_stdout, dry:
        try:
            namespace = runpy.run_path(str(file), run_name="__canalis_submit__")
        except submit_capture.DrySubmit as d:  # FILE's own submit, in a dry run: preview that one
            namespace, intercepted = {}, d
        except KeyboardInterrupt:  # in FILE's own wait for the run it submitted
            for run in captured:
                _cancel_interrupted(run, show_output=not (quiet or as_json))
            sys.exit(130)
    if dry_run:
        return _dry_run(file, name, namespace, intercepted, params, regenerate_outputs, allow_secret_values, as_json)
    if captured:
        runs = captured
        ignored = [o for o, given in (("--param", params), ("--regenerate-outputs", regenerate_outputs),
                                      ("--continue-on-step-failure", continue_on_step_failure),
                                      ("--max-concurrent-steps", max_concurrent_steps),
                                      ("--compute", compute_target),
                                      ("--experiment", experiment not in (None, runs[0].experiment.name))) if given]
        if ignored:
            click.echo(f"canalis: {file} submitted run {', '.join(r.id for r in runs)} itself while loading; "
                       f"{', '.join(ignored)} applied only to a pipeline canalis submit submits, and were not used", err=True)
    else:
        runs = [_submit_pipeline(file, name, namespace, experiment, params, regenerate_outputs, continue_on_step_failure,
                                 max_concurrent_steps, allow_secret_values, compute_target)]
    if detach:
        _report_detached(runs, as_json)
        return
    statuses = [follow_run(run, show_output=not (quiet or as_json), plain=plain, quiet=quiet and not as_json)
                 for run in runs]
    if as_json:
        from canalis import reports

        summaries = [reports.run_summary(r.experiment.workspace.ledger, r.id) for r in runs]
        print_json(summaries[0] if len(summaries) == 1 else summaries)
    sys.exit(0 if all(s == RunStatus.Completed for s in statuses) else 1)


@click.command("plan")
@click.argument("target")
@click.option("--param", "params", multiple=True, help="Pipeline parameter NAME=VALUE (VALUE read as JSON when it parses).")
@click.option("--regenerate-outputs", is_flag=True, help="Plan as a submit that reuses nothing would run.")
@click.option("--workspace", type=click.Path(file_okay=False), default=None,
              help="Workspace root for Workspace.from_config() in FILE (default: found upward).")
@json_option
@click.pass_context
def plan(ctx, target, params, regenerate_outputs, workspace, as_json):
    """Print what `canalis submit FILE.py[:NAME]` would do, running nothing: each step, whether
    it would be reused (and from which run) or run, and why (the words of `canalis why`).
    The same as `canalis submit --dry-run`; nothing is written to the ledger."""
    ctx.invoke(submit, target=target, params=params, regenerate_outputs=regenerate_outputs, dry_run=True,
               workspace=workspace, as_json=as_json)


def _pipeline_in(file, name, namespace):
    """The Pipeline FILE defines as `name`, or a usage error naming the Pipelines it defines."""
    from canalis.pipeline.core.pipeline import Pipeline

    obj = namespace.get(name)
    if not isinstance(obj, Pipeline):
        found = sorted(k for k, v in namespace.items() if isinstance(v, Pipeline))
        raise UsageFailure(f"{file} defines no Pipeline named {name!r} (Pipelines found: {', '.join(found) or 'none'}); "
                           f"use {file}:NAME")
    return obj


def _dry_run(file, name, namespace, intercepted, params, regenerate_outputs, allow_secret_values, as_json) -> None:
    """Print what a submit would do (canalis/plan_report.py); run and record nothing."""
    from canalis import plan_report
    from canalis.pipeline.core.pipeline import Pipeline

    given = dict(_parse_param(p) for p in params)
    if intercepted is not None:  # the submit FILE makes itself, with its own parameters and options
        obj, kwargs = intercepted.config, intercepted.kwargs
        if not isinstance(obj, Pipeline):
            raise UsageFailure(f"{file} submits {obj!r}, not a Pipeline: a dry run previews pipelines only")
        given = {**(kwargs.get("pipeline_parameters") or {}), **given}
        regenerate_outputs = regenerate_outputs or bool(kwargs.get("regenerate_outputs"))
    else:
        obj = _pipeline_in(file, name, namespace)
    from canalis.executor.errors import PlanError

    try:
        result = obj._preview(given, regenerate_outputs=regenerate_outputs,
                              allow_secret_values=allow_secret_values or None)
    except PlanError as e:
        raise as_click_error(e) from None
    if as_json:
        return print_json(plan_report.to_json(result))
    click.echo("\n".join(plan_report.lines(result)))


def _submit_pipeline(file, name, namespace, experiment, params, regenerate_outputs, continue_on_step_failure,
                     max_concurrent_steps, allow_secret_values, compute_target=None):
    """Submit the Pipeline FILE defines as `name`; returns its PipelineRun (already executing)."""
    from canalis.core.experiment import Experiment
    from canalis.executor.errors import ExecutorError, PlanError
    from canalis.executor.session import SubmitOptions
    from canalis.pipeline.core.compile import refuse_secret_values
    from canalis.pipeline.core.run import watch

    obj = _pipeline_in(file, name, namespace)
    if not experiment:
        raise UsageFailure(f"{file} submits nothing itself; name the experiment to submit {name!r} to "
                           "with --experiment NAME")
    ws = obj.workspace
    if compute_target is not None and compute_target not in ws.compute_targets:
        raise UsageFailure(f"no compute target named {compute_target!r} (known: {', '.join(sorted(ws.compute_targets))}); "
                           "see `canalis compute list`")
    try:
        handle = ws.session.submit(
            experiment, lambda store: _on_target(obj.plan(), compute_target), dict(_parse_param(p) for p in params),
            options=SubmitOptions(regenerate_outputs=regenerate_outputs, continue_on_step_failure=continue_on_step_failure,
                                  max_concurrent_steps=max_concurrent_steps),
            description=obj.description,
            vet=lambda plan, values: refuse_secret_values(plan, values, allow_secret_values or None))
    except (PlanError, ExecutorError) as e:
        raise as_click_error(e) from None
    return watch(Experiment(ws, experiment), handle)


def _on_target(plan, compute_target):
    """The plan with every step on `compute_target` (`--compute`); a ParallelRunStep keeps its own
    process here and sends its mini-batches where its config says."""
    if compute_target is None:
        return plan
    import dataclasses

    plan.steps = [s if s.kind == "parallel" else dataclasses.replace(s, compute_target=compute_target)
                  for s in plan.steps]
    return plan


def _report_detached(runs, as_json) -> None:
    from canalis.executor.launch import log_path

    out = [{"run_id": r.id, "status": r.get_status(),
            "executor_log": str(log_path(r.experiment.workspace.session.runs_dir, r.id))} for r in runs]
    if as_json:
        return print_json(out[0] if len(out) == 1 else out)
    for r in out:
        click.echo(r["run_id"])
    click.echo(f"the run goes on in its executor process (log: {out[-1]['executor_log']}); "
               f"`canalis logs {out[-1]['run_id']} --follow` follows it, `canalis cancel {out[-1]['run_id']}` stops it",
               err=True)


def follow_run(run, show_output: bool, plain: bool = False, quiet: bool = False) -> str:
    """Wait for a run this command started and return its status, showing it live on a
    terminal (line by line with `plain` or into a pipe); `quiet` prints only `RUN STATUS`.
    Ctrl-C cancels the run (and the command exits with 130)."""
    run._plain = True if plain else None
    try:
        status = run._follow(show_output=show_output)
    except KeyboardInterrupt:
        _cancel_interrupted(run, show_output)
        sys.exit(130)
    if quiet:
        click.echo(f"{run.id} {status}")
        if status != RunStatus.Completed:  # a completed run has no failed step to tell of
            run._print_failures()
    return status


def _cancel_interrupted(run, show_output: bool) -> None:
    """Ctrl-C while `canalis submit` waits: cancel the run and wait for its executor to stop its
    steps (a second Ctrl-C stops the waiting only), then say how to go on."""
    from canalis.exceptions import UserErrorException

    try:
        run.cancel("interrupted (Ctrl-C)")
    except UserErrorException:  # it had ended meanwhile
        return
    click.echo(f"\ncanceling run {run.id} (Ctrl-C); waiting for its executor to stop its steps "
               "(Ctrl-C again stops waiting)", err=True)
    try:
        status = run._follow(show_output=show_output)
    except KeyboardInterrupt:
        click.echo(f"stopped waiting; run {run.id} is being canceled by its executor (`canalis show {run.id}`)", err=True)
        return
    advice = (" A canceled run cannot be resumed: submit again, and the steps that completed are reused"
              if status == RunStatus.Canceled else "")
    click.echo(f"run {run.id}: {status}.{advice}", err=True)


def _statuses(ctx, param, values):
    from canalis.run_list import RunFilterError, parse_status

    try:
        return frozenset(parse_status(v) for text in values for v in text.split(","))
    except RunFilterError as e:
        raise click.BadParameter(str(e)) from None


def _tags(ctx, param, values):
    from canalis.run_list import RunFilterError, parse_tag

    try:
        return dict(parse_tag(v) for v in values)
    except RunFilterError as e:
        raise click.BadParameter(str(e)) from None


def _since(ctx, param, value):
    from canalis.run_list import RunFilterError, parse_since

    try:
        return None if value is None else parse_since(value)
    except RunFilterError as e:
        raise click.BadParameter(str(e)) from None


@click.command()
@click.option("--experiment", "-e", default=None, metavar="NAME", shell_complete=complete_experiment,
              help="Only runs of this experiment.")
@click.option("--status", "statuses", multiple=True, callback=_statuses, metavar="STATUS",
              help="Only runs with this status (Queued, Running, Completed, Failed, Canceled, Orphaned); "
                   "repeat or separate with commas for several.")
@click.option("--since", callback=_since, default=None, metavar="DURATION|DATE",
              help="Only runs submitted since then: a DURATION ago (2h, 7d) or a date (2026-01-31, 2026-01-31T12:00 UTC).")
@click.option("--tag", "tags", multiple=True, callback=_tags, metavar="NAME[=VALUE]",
              help="Only runs with this tag (and value); repeat for several.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=None, metavar="N",
              help="List at most N runs, newest first (default 20).")
@click.option("--all", "all_", is_flag=True, help="List every matching run.")
@click.option("--metric", default=None, metavar="NAME",
              help="Add a column with this metric (logged on the run, else by a step; a series shows last [min..max]).")
@workspace_option
@json_option
@fail_on_canalis_errors
def runs(layout, experiment, statuses, since, tags, limit, all_, metric, as_json):
    """List runs, newest first, with their parameters (and a chosen --metric), and the disk
    space working folders kept after failed steps hold."""
    from canalis import run_list
    from canalis.executor.workdirs import DEFAULT_KEEP_FAILED, bytes_by_run

    if all_ and limit is not None:
        raise click.UsageError("--all and --limit cannot be combined")
    ledger = layout.open_ledger()
    flt = run_list.RunFilter(experiment=experiment, statuses=statuses, since=since, tags=tags,
                             limit=None if all_ else (limit or run_list.DEFAULT_LIMIT))
    selected, matched = run_list.select(ledger, flt)
    rows = run_list.describe(ledger, selected, metric)
    kept = bytes_by_run(ledger, layout.runs)
    for r in rows:
        r["failed_folders_bytes"] = kept.get(r["run_id"], 0)
    if as_json:
        return print_json(rows)
    params = list(dict.fromkeys(k for r in rows for k in r["parameters"]))
    columns = ["run", "experiment", "status", "submitted", "duration", "steps", "reused", *params]
    columns += [metric] if metric else []
    _table("runs", columns,
           [(r["run_id"], r["experiment"], r["status"], _fmt_t(r["submitted_at"]), format_duration(r["duration_s"]),
             r["steps"], r["reused"], *[_value(r["parameters"].get(p)) for p in params],
             *([_metric_cell(r["metric"]["value"])] if metric else [])) for r in rows])
    if matched > len(rows):
        click.echo(f"showing the newest {len(rows)} of {matched} matching runs; --limit N or --all for more")
    total, holding = sum(r["failed_folders_bytes"] for r in rows), sum(1 for r in rows if r["failed_folders_bytes"])
    click.echo(f"working folders kept after failed steps: {_size(total)} in {holding} run(s)"
               + (f"; `canalis gc` removes those older than {DEFAULT_KEEP_FAILED} (--keep-failed)" if total else ""))


def _value(v) -> str:
    return "" if v is None else (v if isinstance(v, str) else json.dumps(v))


def _metric_cell(v) -> str:
    if isinstance(v, dict) and set(v) == {"last", "min", "max", "count"}:
        return f"{_num(v['last'])} [{_num(v['min'])}..{_num(v['max'])}]"
    return "" if v is None else (_num(v) if isinstance(v, (int, float)) else json.dumps(v)[:40])


def _num(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


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
@click.argument("run", shell_complete=complete_run)
@click.option("--graph", is_flag=True, help="Draw the pipeline's steps as a graph: data names on the edges, state marks.")
@workspace_option
@json_option
@fail_on_canalis_errors
def show(layout, run, graph, as_json):
    """A run and its steps: state (queued, running for how long, reused from which run,
    completed in how long, failed, skipped or canceled and why), output digests."""
    from canalis import reports, step_states

    ledger = layout.open_ledger()
    run_id = reports.resolve_run(ledger, run)
    s = reports.run_summary(ledger, run_id)
    if as_json:
        return print_json(s)
    states = step_states.step_states(ledger, run_id)
    done, total = step_states.progress(states)
    click.echo(f"run {s['run_id']}  experiment {s['experiment']}  status {s['status']}  {_run_time(s)}  "
               f"steps {done} of {total} ended")
    if s.get("canceled"):
        click.echo(step_states.describe_cancel(s["canceled"]))
    if s["parameters"]:
        click.echo("parameters: " + ", ".join(f"{k}={v!r}" for k, v in s["parameters"].items()))
    if s["git"]:
        g = s["git"]
        click.echo(f"git: {g.get('commit', '')[:12]} on {g.get('branch')}{' (dirty)' if g.get('dirty') else ''}")
    if graph:
        from rich.console import Console

        from canalis.cli import graph_view

        console = Console(width=None if sys.stdout.isatty() else 200, highlight=False)
        for line in graph_view.render(states):
            console.print(line)
        console.print(f"[dim]{graph_view.LEGEND}[/]")
    else:
        outputs = {x["step_run_id"]: x["outputs"] for x in s["steps"]}
        _table(None, ["step", "state", "outputs"],
               [(x.name, x.label(), " ".join(f"{k}={short_digest(v)}" for k, v in outputs.get(x.step_run_id, {}).items()))
                for x in states])
    for r in s["registered"]:
        by = f" by step {r['step']}" if r["step"] else ""
        reused = f" (reused: registered in run {r['registered_in']})" if r["reused_from"] else ""
        click.echo(f"registered {r['kind']} {r['name']}:{r['version']}{by}{reused}")
    for x in s["steps"]:
        if x["status"] == StepStatus.Failed and x["error"]:
            click.echo(f"step {x['step']} failed: {x['error']}", err=True)
            click.echo(f"  full log: canalis logs {run_id} {x['step']}", err=True)


def _run_time(s: dict) -> str:
    """'duration 9.8 s' for a run that ended, 'running for 12 s' (or queued) for one that has not."""
    if s["duration_s"] is not None:
        return f"duration {format_duration(s['duration_s'])}"
    if s.get("elapsed_s") is not None:
        return f"{str(s['status']).lower()} for {format_duration(s['elapsed_s'])}"
    return "duration -"


@click.command()
@click.argument("run", shell_complete=complete_run)
@click.option("--reason", default=None, help="Why; recorded in the ledger with the cancel.")
@click.option("--wait/--no-wait", "wait_", default=True, show_default=True,
              help="Wait until the run's executor has stopped its steps.")
@click.option("--timeout", type=DURATION, default="60s", show_default=True, help=duration_help("How long to wait at most."))
@workspace_option
@json_option
@fail_on_canalis_errors
def cancel(layout, run, reason, wait_, timeout, as_json):
    """Cancel RUN: running steps are stopped (SIGTERM, then SIGKILL after 10 s), steps not
    started are skipped, and the run ends as Canceled. Works from any process."""
    from canalis import reports
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
@click.argument("run", shell_complete=complete_run)
@click.argument("step", required=False)
@click.option("--follow", "-f", is_flag=True, help="Keep printing output of running steps until the run ends.")
@click.option("--head", type=click.IntRange(min=0), default=None, metavar="N",
              help="Print only the first N lines of each step's stdout and stderr.")
@click.option("--tail", type=click.IntRange(min=0), default=None, metavar="N",
              help="Print only the last N lines of each step's stdout and stderr (with --follow: then what follows).")
@workspace_option
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object per line of output: step, step_run_id, stream, line, time, text.")
@fail_on_canalis_errors
def logs(layout, run, step, follow, head, tail, as_json):
    """stdout and stderr of a run's steps (or of STEP).

    Logs are streamed from the store (or from a running step's live file), byte for byte, in
    bounded memory whatever their size. With --json, both streams go to standard output as
    JSON lines (docs/cli-json.md)."""
    from canalis import reports
    from canalis.core.run_logs import LogFollower, chunks, head_chunks
    from canalis.log_lines import JsonLines

    if head is not None and (tail is not None or follow):
        raise click.UsageError("--head cannot be combined with --tail or --follow")
    ledger = layout.open_ledger()
    store = layout.open_store()
    run_id = reports.resolve_run(ledger, run)
    follower = LogFollower(ledger, store, str(layout.runs), run_id, step=step, tail=tail)
    out = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
    lines = JsonLines() if as_json else None

    def emit(row, stream, data, first):
        if lines is not None:
            return lines.feed(row, stream, data)
        if first:
            out[stream].write(_log_header(row, stream))
        out[stream].write(data)
        out[stream].flush()

    if head is not None:
        for row in _rows(follower, run_id, step, follow):
            for stream in ("stdout", "stderr"):
                f = follower.source.open(row, stream)
                if f is None:
                    continue
                with f:
                    for i, data in enumerate(head_chunks(chunks(f), head)):
                        emit(row, stream, data, i == 0)
            if lines is not None:
                lines.finish()
        return

    from canalis.executor.orphans import effective_status

    while True:
        _rows(follower, run_id, step, follow)
        follower.poll(emit)
        row = ledger.run(run_id)
        # a run whose executor is gone writes nothing more: stop following it (`canalis resume` finishes it)
        if not follow or (row is not None and effective_status(row) in RunStatus.terminal() | {RunStatus.Orphaned}):
            if follow:
                follower.poll(emit)  # what was written between the last poll and the end
            break
        time.sleep(0.5)
    if lines is not None:
        lines.finish()


def _log_header(row, stream) -> bytes:
    """The line before a step's log; a reused step's log is the one of the run it reused."""
    reused = f" (reused from run {row.reused_run_id})" if row.reused_from else ""
    return f"== {row.step_name} {stream}{reused} ==\n".encode()


def _rows(follower, run_id, step, follow) -> list:
    rows = follower.rows()
    if step and not rows and not follow:
        known = sorted({r.step_name for r in follower.ledger.step_runs(run_id)})
        raise UsageFailure(f"run {run_id} has no step {step!r} (its steps: {', '.join(known) or 'none yet'})")
    return rows


@click.command()
@click.argument("run", shell_complete=complete_run)
@workspace_option
@json_option
@fail_on_canalis_errors
def metrics(layout, run, as_json):
    """Metrics a run and its steps logged. A reused step shows the metrics of the step run it
    reused, marked with the run they were logged in."""
    from canalis import reports

    ledger = layout.open_ledger()
    run_id = reports.resolve_run(ledger, run)
    if as_json:
        return print_json(reports.run_metrics(ledger, run_id))
    rows = reports.metric_table(ledger, run_id)
    _table("metrics", ["step", "name", "value", "reused from run"], rows)


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
@click.argument("name", required=False, shell_complete=complete_dataset)
@workspace_option
@json_option
@fail_on_canalis_errors
def datasets(layout, name, as_json):
    """Registered datasets (latest versions), or every version of NAME; NAME:VERSION tells
    one version: its files and where it came from."""
    ledger = layout.open_ledger()
    if name and ":" in name:
        return _dataset_version(layout, ledger, name, as_json)
    rows = ledger.dataset_versions(name) if name else ledger.datasets()
    out = [{"name": r.name, "version": r.version, "kind": r.kind, "tree": r.digest, "id": r.id,
            "registered_at": r.registered_at, "run_id": (r.lineage or {}).get("run_id"),
            "description": r.description} for r in rows]
    if as_json:
        return print_json(out)
    _table("datasets", ["name", "version", "kind", "tree", "registered", "from run"],
           [(r["name"], r["version"], r["kind"], short_digest(r["tree"]), r["registered_at"], r["run_id"]) for r in out])


def _dataset_version(layout, ledger, ref, as_json):
    from canalis import registrations

    d = registrations.registration_detail(ledger, layout.open_store(), "datasets", ref)
    if as_json:
        return print_json(d)
    click.echo(f"dataset {d['name']} version {d['version']} ({d['kind']}; versions: {', '.join(map(str, d['versions']))})")
    click.echo(f"tree {d['digest']}  registered {d['registered_at']}" + (f"  by run {d['run_id']}" if d["run_id"] else ""))
    if d["description"]:
        click.echo(f"description: {d['description']}")
    _table("files", ["path", "size", "digest"], [(f["path"], f["size"], short_digest(f["digest"])) for f in d["files"]])
