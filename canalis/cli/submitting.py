"""What `canalis submit` does once its command line is parsed, without click: run_cmds.submit
(the click command) and canalis/cli/entry.py (which parses a plain submit itself) both call
`submit`, so the two write the same output and raise the same errors. click is imported only
to raise a usage error (canalis/cli/errors.py), where the error path reports it anyway."""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from canalis.cli.output import echo, print_json
from canalis.cli.pipeline_file import run_file
from canalis.ledger.status import RunStatus

#: modules every submit loads, whatever its pipeline and whether its steps run or are reused:
#: the `canalis` command imports them before the pipeline file runs, so that they count as the
#: process's start (canalis/cli/startup.py `freeze_imports`). tests/canalis/test_submit_costs.py
#: checks that a first submit and a reused one each load all of them anyway.
EVERY_SUBMIT_LOADS = (
    "canalis.core.workspace", "canalis.core.experiment", "canalis.pipeline.core.pipeline",
    "canalis.pipeline.core.compile", "canalis.executor.session", "canalis.executor.engine",
    "canalis.executor.noop", "canalis.ledger.log", "canalis.store.local", "canalis.store.snapshot",
    "canalis.core.environment", "canalis.core.conda_dependencies", "canalis.core.sdk_config",
    "canalis.core.secret_values", "canalis.core.submit_capture",
)


def _usage(message: str):
    """A usage error (exit code 2, no usage text): canalis/cli/errors.py's UsageFailure."""
    from canalis.cli.errors import UsageFailure

    return UsageFailure(message)


def _click_error(e: BaseException):
    from canalis.cli.errors import as_click_error

    return as_click_error(e)


def _parse_param(text: str):
    """`NAME=VALUE` of a --param: VALUE read as JSON when it parses, else kept as text."""
    if "=" not in text:
        from click import BadParameter

        raise BadParameter(f"{text!r} is not NAME=VALUE")
    name, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name, value


def submit(target, experiment, params, regenerate_outputs, continue_on_step_failure, max_concurrent_steps, compute_target,
           detach, quiet, plain, dry_run, allow_secret_values, workspace, as_json):
    """Submit the pipeline object in FILE.py[:NAME] and follow its run, as documented on the
    click command (canalis/cli/run_cmds.py `submit`). Ends the process with the run's exit code
    (0 when every run completed, 1 otherwise, 130 after Ctrl-C); returns after --detach or
    --dry-run."""
    if workspace:
        os.environ["CANALIS_WORKSPACE"] = str(Path(workspace).resolve())
    from canalis.core import submit_capture

    path, _, name = target.partition(":")
    name = name or "pipeline"
    file = Path(path)
    if not file.is_file():
        raise _usage(f"{file} is not a file; pass FILE.py[:NAME]")
    sys.path.insert(0, str(file.resolve().parent))
    # with --json, what FILE prints while loaded (its own wait's output) goes to stderr: stdout is the JSON
    quiet_stdout = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    dry = submit_capture.dry_run() if dry_run else contextlib.nullcontext()
    intercepted = None
    with submit_capture.capturing() as captured, quiet_stdout, dry:
        try:
            namespace = run_file(str(file), run_name="__canalis_submit__")
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
            echo(f"canalis: {file} submitted run {', '.join(r.id for r in runs)} itself while loading; "
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


def _pipeline_in(file, name, namespace):
    """The Pipeline FILE defines as `name`, or a usage error naming the Pipelines it defines."""
    from canalis.pipeline.core.pipeline import Pipeline

    obj = namespace.get(name)
    if not isinstance(obj, Pipeline):
        found = sorted(k for k, v in namespace.items() if isinstance(v, Pipeline))
        raise _usage(f"{file} defines no Pipeline named {name!r} (Pipelines found: {', '.join(found) or 'none'}); "
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
            raise _usage(f"{file} submits {obj!r}, not a Pipeline: a dry run previews pipelines only")
        given = {**(kwargs.get("pipeline_parameters") or {}), **given}
        regenerate_outputs = regenerate_outputs or bool(kwargs.get("regenerate_outputs"))
    else:
        obj = _pipeline_in(file, name, namespace)
    from canalis.executor.errors import PlanError

    try:
        result = obj._preview(given, regenerate_outputs=regenerate_outputs,
                              allow_secret_values=allow_secret_values or None)
    except PlanError as e:
        raise _click_error(e) from None
    if as_json:
        return print_json(plan_report.to_json(result))
    echo("\n".join(plan_report.lines(result)))


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
        raise _usage(f"{file} submits nothing itself; name the experiment to submit {name!r} to "
                           "with --experiment NAME")
    ws = obj.workspace
    if compute_target is not None and compute_target not in ws.compute_targets:
        raise _usage(f"no compute target named {compute_target!r} (known: {', '.join(sorted(ws.compute_targets))}); "
                           "see `canalis compute list`")
    try:
        handle = ws.session.submit(
            experiment, lambda store: _on_target(obj.plan(), compute_target), dict(_parse_param(p) for p in params),
            options=SubmitOptions(regenerate_outputs=regenerate_outputs, continue_on_step_failure=continue_on_step_failure,
                                  max_concurrent_steps=max_concurrent_steps),
            description=obj.description,
            vet=lambda plan, values: refuse_secret_values(plan, values, allow_secret_values or None))
    except (PlanError, ExecutorError) as e:
        raise _click_error(e) from None
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
        echo(r["run_id"])
    echo(f"the run goes on in its executor process (log: {out[-1]['executor_log']}); "
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
        echo(f"{run.id} {status}")
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
    echo(f"\ncanceling run {run.id} (Ctrl-C); waiting for its executor to stop its steps "
               "(Ctrl-C again stops waiting)", err=True)
    try:
        status = run._follow(show_output=show_output)
    except KeyboardInterrupt:
        echo(f"stopped waiting; run {run.id} is being canceled by its executor (`canalis show {run.id}`)", err=True)
        return
    advice = (" A canceled run cannot be resumed: submit again, and the steps that completed are reused"
              if status == RunStatus.Canceled else "")
    echo(f"run {run.id}: {status}.{advice}", err=True)
