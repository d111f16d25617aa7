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
from canalis.cli.common import fail_on_canalis_errors, json_option, print_json, workspace_option


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


def _short(digest):
    return digest[:12] if digest else ""


@click.command()
@click.argument("target")
@click.option("--experiment", "-e", required=True, help="Experiment to submit to.")
@click.option("--param", "params", multiple=True, help="Pipeline parameter NAME=VALUE (VALUE read as JSON when it parses).")
@click.option("--regenerate-outputs", is_flag=True, help="Run every step; reuse nothing.")
@click.option("--max-concurrent-steps", type=int, default=None, help="Independent steps run at once (default: cores).")
@click.option("--quiet", "-q", is_flag=True, help="Do not stream step output.")
@click.option("--workspace", type=click.Path(file_okay=False), default=None,
              help="Workspace root for Workspace.from_config() in FILE (default: found upward).")
@json_option
@fail_on_canalis_errors
def submit(target, experiment, params, regenerate_outputs, max_concurrent_steps, quiet, workspace, as_json):
    """Submit the pipeline object in FILE.py[:NAME] (NAME defaults to `pipeline`)."""
    if workspace:
        os.environ["CANALIS_WORKSPACE"] = str(Path(workspace).resolve())
    from canalis.core.experiment import Experiment
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
    run = Experiment(obj.workspace, experiment).submit(
        obj, pipeline_parameters=dict(_parse_param(p) for p in params), regenerate_outputs=regenerate_outputs,
        max_concurrent_steps=max_concurrent_steps,
    )
    status = run.wait_for_completion(show_output=not (quiet or as_json), raise_on_error=False)
    summary = reports.run_summary(obj.workspace.ledger, run.id)
    if as_json:
        print_json(summary)
    sys.exit(0 if status == "Completed" else 1)


@click.command()
@click.option("--experiment", "-e", default=None)
@workspace_option
@json_option
@fail_on_canalis_errors
def runs(layout, experiment, as_json):
    """List runs, newest first."""
    rows = reports.run_list(layout.open_ledger(), experiment)
    if as_json:
        return print_json(rows)
    _table("runs", ["run", "experiment", "status", "submitted", "duration s", "steps", "reused"],
           [(r["run_id"], r["experiment"], r["status"], _fmt_t(r["submitted_at"]), _fmt_s(r["duration_s"]), r["steps"], r["reused"]) for r in rows])


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
           [(x["step"], x["status"], "reused" if x["reused"] else ("ran" if x["status"] in ("Completed", "Failed") else "-"),
             _fmt_s(x["duration_s"]), " ".join(f"{k}={_short(v)}" for k, v in x["outputs"].items())) for x in s["steps"]])
    for x in s["steps"]:
        if x["status"] == "Failed" and x["error"]:
            click.echo(f"step {x['step']} failed: {x['error']}", err=True)


@click.command()
@click.argument("run")
@click.argument("step", required=False)
@click.option("--follow", "-f", is_flag=True, help="Keep printing output of running steps until the run ends.")
@workspace_option
@fail_on_canalis_errors
def logs(layout, run, step, follow):
    """stdout and stderr of a run's steps (or of STEP)."""
    ledger = layout.open_ledger()
    store = layout.open_store()
    run_id = reports.resolve_run(ledger, run)
    printed: dict[str, dict[str, int]] = {}
    while True:
        rows = [r for r in ledger.step_runs(run_id) if step in (None, r["step_name"])]
        if step and not rows and not follow:
            raise click.ClickException(f"run {run_id} has no step {step!r}")
        for r in rows:
            seen = printed.setdefault(r["step_run_id"], {"stdout": 0, "stderr": 0})
            for stream in ("stdout", "stderr"):
                text = _log_text(layout, store, ledger, run_id, r, stream)
                if len(text) > seen[stream]:
                    if seen[stream] == 0:
                        click.echo(f"== {r['step_name']} {stream} ==", err=stream == "stderr")
                    click.echo(text[seen[stream]:], nl=False, err=stream == "stderr")
                    seen[stream] = len(text)
        status = (ledger.run(run_id) or {}).get("status")
        if not follow or status in ("Completed", "Failed", "Canceled"):
            break
        time.sleep(0.5)


def _log_text(layout, store, ledger, run_id, row, stream) -> str:
    digest = row.get(stream)
    if digest is None and row.get("reused_from"):
        origin = ledger.step_run(row["reused_from"]) or {}
        digest = origin.get(stream)
    if digest:
        return store.get_bytes(digest).decode(errors="replace")
    live = layout.runs / run_id / row["step_run_id"] / f"{stream}.txt"
    return live.read_text(errors="replace") if live.exists() else ""


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
    rows = layout.open_ledger().experiments()
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
    out = [{"name": r["name"], "version": r["version"], "kind": r["kind"], "tree": r["tree"], "id": r["dataset_id"],
            "registered_at": r.get("registered_at"), "run_id": r.get("run_id"), "description": r.get("description")} for r in rows]
    if as_json:
        return print_json(out)
    _table("datasets", ["name", "version", "kind", "tree", "registered", "from run"],
           [(r["name"], r["version"], r["kind"], _short(r["tree"]), r["registered_at"], r["run_id"]) for r in out])


@click.command()
@click.argument("run")
@click.option("--force", is_flag=True, help="Resume even if the recorded executor process may still exist.")
@click.option("--quiet", "-q", is_flag=True, help="Do not stream step output.")
@workspace_option
@json_option
@fail_on_canalis_errors
def resume(layout, run, force, quiet, as_json):
    """Finish RUN after its submitting process died: completed steps keep their results,
    a step that started and never ended is recorded as abandoned and runs again."""
    from canalis.core.experiment import resume_run
    from canalis.core.workspace import Workspace

    ws = Workspace(path=layout.root)
    run_id = reports.resolve_run(ws.ledger, run)
    r = resume_run(ws, run_id, force=force)
    status = r.wait_for_completion(show_output=not (quiet or as_json), raise_on_error=False)
    if as_json:
        print_json(reports.run_summary(ws.ledger, run_id))
    sys.exit(0 if status == "Completed" else 1)


@click.command()
@click.argument("run")
@click.argument("step")
@workspace_option
@json_option
@fail_on_canalis_errors
def why(layout, run, step, as_json):
    """Why STEP of RUN was reused, or ran: which part of its reuse key changed."""
    from canalis.executor.errors import ExecutorError
    from canalis.executor.why import explain

    ledger = layout.open_ledger()
    try:
        result = explain(ledger, layout.open_store(), reports.resolve_run(ledger, run), step)
    except ExecutorError as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        return print_json(result)
    click.echo(f"{step}: {result['decision']}: {result['reason']}")
    for d in result.get("differences", []):
        click.echo("  " + _describe_difference(d))


def _describe_difference(d: dict) -> str:
    files = d.get("files")
    listed = ""
    if files:
        parts = [f"{k} {', '.join(v)}" for k, v in files.items() if v]
        listed = f" ({'; '.join(parts)})" if parts else ""
    if d["part"] == "parameter":
        return f"parameter {d['name']}: {d['before']!r} -> {d['after']!r}"
    if d["part"] == "input":
        return f"input {d['name']}: {d['change']}{listed}"
    if d["part"] == "source":
        return f"source snapshot changed{listed}"
    if d["part"] == "hash_path":
        return f"hash_paths entry {d['name']} changed"
    if d["part"] == "environment":
        return f"environment changed ({_short(d['before'])} -> {_short(d['after'])})"
    return f"{d['part']}: {d['before']!r} -> {d['after']!r}"


@click.command()
@click.argument("run_a")
@click.argument("run_b")
@workspace_option
@json_option
@fail_on_canalis_errors
def diff(layout, run_a, run_b, as_json):
    """What differs between two runs: parameters, snapshot files, input data, environment,
    and per step whether the outputs are identical."""
    from canalis.executor.compare import diff_runs

    ledger = layout.open_ledger()
    result = diff_runs(ledger, layout.open_store(), reports.resolve_run(ledger, run_a), reports.resolve_run(ledger, run_b))
    if as_json:
        return print_json(result)
    click.echo(f"a = {result['a']}\nb = {result['b']}")
    for k, v in result["parameters"].items():
        click.echo(f"parameter {k}: {v['a']!r} -> {v['b']!r}")
    if result["git"]:
        click.echo(f"git: {(result['git']['a'] or {}).get('commit')} -> {(result['git']['b'] or {}).get('commit')}")
    for s in result["steps"]:
        if s["in"] != "both":
            click.echo(f"step {s['step']}: only in {s['in']}")
            continue
        notes = []
        if "source" in s:
            notes.append(_describe_difference({"part": "source", "files": s["source"]}))
        if "environment" in s:
            notes.append("environment changed")
        for n in s.get("inputs", {}):
            notes.append(f"input {n} changed")
        same = [o for o, v in s["outputs"].items() if v["identical"]]
        differ = [o for o, v in s["outputs"].items() if not v["identical"]]
        notes.append(f"outputs identical: {', '.join(same) or '-'}; differ: {', '.join(differ) or '-'}")
        click.echo(f"step {s['step']}: " + "; ".join(notes))


@click.command()
@click.argument("run")
@click.option("--verify", "check", is_flag=True, help="Report per step whether outputs are byte-identical to the original's.")
@click.option("--quiet", "-q", is_flag=True, help="Do not stream step output.")
@workspace_option
@json_option
@fail_on_canalis_errors
def reproduce(layout, run, check, quiet, as_json):
    """Run RUN again from the ledger and the store alone (reuse off), as a new run."""
    from canalis.core.experiment import reproduce_run
    from canalis.core.workspace import Workspace
    from canalis.executor.compare import verify_reproduction

    ws = Workspace(path=layout.root)
    original = reports.resolve_run(ws.ledger, run)
    r = reproduce_run(ws, original)
    status = r.wait_for_completion(show_output=not (quiet or as_json), raise_on_error=False)
    result = {"original": original, "reproduction": r.id, "status": status}
    if check:
        result["verify"] = verify_reproduction(ws.ledger, original, r.id)
    if as_json:
        print_json(result)
    else:
        click.echo(f"reproduction {r.id} of {original}: {status}")
        for s in result.get("verify", {}).get("steps", []):
            click.echo(f"  {s['step']}: {s['verdict']}")
    ok = status == "Completed" and (not check or result["verify"]["identical"])
    sys.exit(0 if ok else 1)


@click.command()
@workspace_option
@json_option
@fail_on_canalis_errors
def verify(layout, as_json):
    """Check the whole workspace: the ledger's hash chain, every blob's digest, and that
    every digest the ledger names is still in the store (unless collected)."""
    from canalis.executor.integrity import verify_workspace

    result = verify_workspace(layout.open_ledger(), layout.open_store())
    if as_json:
        print_json(result)
    else:
        led, st = result["ledger"], result["store"]
        click.echo(f"ledger: {'ok' if led['ok'] else 'BROKEN at seq ' + str(led['first_bad_seq']) + ': ' + str(led['reason'])}"
                   f" ({led['checked']} events)")
        click.echo(f"store: {'ok' if st['ok'] else str(len(st['corrupt'])) + ' corrupt blob(s)'} ({st['checked']} objects)")
        for d in st["corrupt"]:
            click.echo(f"  corrupt {d}: {st['reasons'].get(d, '')}")
        click.echo(f"references: {result['references']} checked, {len(result['missing'])} missing")
        for m in result["missing"]:
            click.echo(f"  missing {m['digest']} ({m['why']})")
    sys.exit(0 if result["ok"] else 1)


@click.command()
@click.option("--keep-last", type=int, default=None, help="Keep the N newest runs of each experiment.")
@click.option("--older-than", default=None, help="Collect runs submitted longer ago than this (90s, 30m, 12h, 7d, 2w).")
@click.option("--grace", default="1h", show_default=True, help="Keep objects no event names while younger than this.")
@click.option("--dry-run", is_flag=True, help="Report what would be removed; change nothing.")
@workspace_option
@json_option
@fail_on_canalis_errors
def gc(layout, keep_last, older_than, grace, dry_run, as_json):
    """Remove from the store what no kept run, registered dataset or model, or published
    pipeline needs. Without --keep-last or --older-than every run is kept and only objects
    no event names (older than --grace) are removed."""
    from canalis.executor.gc import collect_garbage, parse_duration

    try:
        older = parse_duration(older_than) if older_than else None
        grace_s = parse_duration(grace)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    report = collect_garbage(layout.open_ledger(), layout.open_store(), layout.locks, keep_last=keep_last,
                             older_than=older, dry_run=dry_run, grace_seconds=grace_s)
    if as_json:
        return print_json(report.to_dict())
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {report.removed_objects} objects ({_mb(report.removed_bytes)}); "
               f"runs kept {report.runs_kept}, collected {report.runs_collected}; {report.seconds:.2f} s")
    for reason, k in sorted(report.kept.items()):
        click.echo(f"  kept for {reason}: {k['objects']} objects ({_mb(k['bytes'])})")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n} bytes"


@click.command()
@click.argument("ref")
@click.option("--dot", "as_dot", is_flag=True, help="Print a Graphviz dot graph.")
@workspace_option
@json_option
@fail_on_canalis_errors
def lineage(layout, ref, as_dot, as_json):
    """What REF came from and what used it. REF is a run, a step run, a digest,
    dataset:NAME[:VERSION] or model:NAME[:VERSION]."""
    from canalis.executor.lineage import LineageError, lineage as trace, to_dot

    ledger = layout.open_ledger()
    if ref == "latest":
        ref = reports.resolve_run(ledger, ref)
    try:
        result = trace(ledger, layout.open_store(), ref)
    except LineageError as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        return print_json(result)
    if as_dot:
        return click.echo(to_dot(result), nl=False)
    from rich.console import Console
    from rich.tree import Tree

    for title, root in (("came from", result["upstream"]), ("used by", result["downstream"])):
        tree = Tree(f"[bold]{result['node']}[/bold] {title}")
        _grow(tree, root)
        Console(width=None if sys.stdout.isatty() else 200).print(tree)


def _describe_node(n: dict) -> str:
    kind, ident = n["kind"], n["id"].partition(":")[2]
    if n.get("seen"):
        return f"{kind} {ident[:16]} (shown above)"
    if kind == "step":
        extra = f" reused from {n['reused_from'][:8]}" if n.get("reused_from") else ""
        params = f" params {n['parameters']}" if n.get("parameters") else ""
        return f"step {n['name']} ({ident[:8]}, run {n['run_id']}, {n['status']}){extra}{params}"
    if kind == "source":
        git = n.get("git") or {}
        commit = f" git {git.get('commit', '')[:12]}{' dirty' if git.get('dirty') else ''}" if git else ""
        return f"source {ident[:12]} {n.get('folder') or ''}{commit}"
    if kind == "data":
        return f"data {ident[:12]} {n.get('origin') or ''}".rstrip()
    label = n.get("input") or n.get("output")
    return f"{kind} {ident[:16] if kind == 'tree' else ident}" + (f" ({label})" if label else "")


def _grow(tree, node):
    for child in node.get("children", []):
        _grow(tree.add(_describe_node(child)), child)
