"""`canalis resume | why | diff | reproduce | verify | gc | lineage`: the run history as a tool."""
from __future__ import annotations

import sys

import click

from canalis import reports
from canalis.cli.common import (
    DURATION, duration_help, fail_on_canalis_errors, json_option, print_json, workspace_option,
)
from canalis.cli.completion import complete_run
from canalis.plan_report import describe_difference
from canalis.cli.run_cmds import follow_run, plain_option, quiet_option
from canalis.durations import format_duration
from canalis.ledger.status import RunStatus


@click.command()
@click.argument("run", shell_complete=complete_run)
@click.option("--force", is_flag=True, help="Resume even if the recorded executor process may still exist.")
@click.option("--regenerate-outputs", is_flag=True,
              help="Reuse nothing for the steps still to run (a run submitted with it keeps it anyway).")
@quiet_option
@plain_option
@workspace_option
@json_option
@fail_on_canalis_errors
def resume(layout, run, force, regenerate_outputs, quiet, plain, as_json):
    """Finish RUN after its executor process died: completed steps keep their results,
    a step that started and never ended is recorded as abandoned and runs again. A run that
    failed only for causes outside its steps (no space left on device, a step's process
    killed from outside) is resumed the same way: its failed steps run again. The options
    of the submit (--regenerate-outputs, --continue-on-step-failure) hold for the resume."""
    from canalis.pipeline.core.run import resume_run
    from canalis.core.workspace import Workspace

    ws = Workspace(path=layout.root)
    run_id = reports.resolve_run(ws.ledger, run)
    r = resume_run(ws, run_id, force=force, regenerate_outputs=regenerate_outputs)
    status = follow_run(r, show_output=not (quiet or as_json), plain=plain, quiet=quiet and not as_json)
    if as_json:
        print_json(reports.run_summary(ws.ledger, run_id))
    sys.exit(0 if status == RunStatus.Completed else 1)


@click.command()
@click.argument("run", shell_complete=complete_run)
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
        click.echo("  " + describe_difference(d))
    for kind, items in (result.get("packages_changed") or {}).items():
        if items:
            click.echo(f"  packages {kind}: {', '.join(items)}")


@click.command()
@click.argument("run_a", shell_complete=complete_run)
@click.argument("run_b", shell_complete=complete_run)
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
            notes.append(describe_difference({"part": "source", "files": s["source"]}))
        if "environment" in s:
            notes.append("environment changed")
        for kind, items in (s.get("packages") or {}).items():
            if items:
                notes.append(f"packages {kind}: {', '.join(items)}")
        for n in s.get("inputs", {}):
            notes.append(f"input {n} changed")
        same = [o for o, v in s["outputs"].items() if v["identical"]]
        differ = [o for o, v in s["outputs"].items() if not v["identical"]]
        notes.append(f"outputs identical: {', '.join(same) or '-'}; differ: {', '.join(differ) or '-'}")
        click.echo(f"step {s['step']}: " + "; ".join(notes))


@click.command()
@click.argument("run", shell_complete=complete_run)
@click.option("--verify", "check", is_flag=True, help="Report per step whether outputs are byte-identical to the original's.")
@quiet_option
@plain_option
@workspace_option
@json_option
@fail_on_canalis_errors
def reproduce(layout, run, check, quiet, plain, as_json):
    """Run RUN again from the ledger and the store alone (reuse off), as a new run."""
    from canalis.pipeline.core.run import reproduce_run
    from canalis.core.workspace import Workspace
    from canalis.executor.compare import verify_reproduction

    ws = Workspace(path=layout.root)
    original = reports.resolve_run(ws.ledger, run)
    r = reproduce_run(ws, original)
    status = follow_run(r, show_output=not (quiet or as_json), plain=plain, quiet=quiet and not as_json)
    result = {"original": original, "reproduction": r.id, "status": status}
    if check:
        result["verify"] = verify_reproduction(ws.ledger, original, r.id)
    if as_json:
        print_json(result)
    else:
        if not quiet:
            click.echo(f"reproduction {r.id} of {original}: {status}")
        for s in result.get("verify", {}).get("steps", []):  # asked for with --verify: also with -q
            click.echo(f"  {s['step']}: {s['verdict']}")
    ok = status == RunStatus.Completed and (not check or result["verify"]["identical"])
    sys.exit(0 if ok else 1)


@click.command()
@click.option("--deep", "--read-data", "deep", is_flag=True,
              help="Also decompress and re-hash every blob and checkout-cache file (reads everything; default: structure only).")
@click.option("--repair", is_flag=True,
              help="Repair the store as `canalis store verify --repair` does (pack index, quarantine, caches, temp files).")
@workspace_option
@json_option
@fail_on_canalis_errors
def verify(layout, deep, repair, as_json):
    """Check the whole workspace: the ledger's hash chain; the store's structure (headers,
    pack index, every tree's entry sizes against its blobs; with --deep every blob's digest);
    that every digest the ledger names is still in the store (unless collected). A tree whose
    entries disagree with their blobs is traced to the runs, datasets and models that used it."""
    from canalis.cli.verify_output import workspace_lines
    from canalis.executor.integrity import verify_workspace

    result = verify_workspace(layout.open_ledger(), layout.open_store(), deep=deep, repair=repair)
    if as_json:
        print_json(result)
    else:
        for line in workspace_lines(result):
            click.echo(line)
        for u in result["unfinished_collections"]:
            click.echo(f"unfinished collection: gc {u['gc_id']} batch {u['batch']} meant to remove {u['objects']} objects "
                       f"({u['removed']} already removed; they are not missing); `canalis gc` finishes it")
    sys.exit(0 if result["ok"] else 1)


@click.command()
@click.option("--keep-last", type=int, default=None, help="Keep the N newest runs of each experiment.")
@click.option("--older-than", type=DURATION, default=None,
              help=duration_help("Collect runs submitted longer ago than this."))
@click.option("--grace", type=DURATION, default="1h", show_default=True,
              help=duration_help("Keep objects no event names while younger than this."))
@click.option("--keep-failed", type=DURATION, default="7d", show_default=True,
              help=duration_help("Keep working folders of failed steps (.canalis/runs/) that ended less than this long ago."))
@click.option("--dry-run", is_flag=True, help="Report what would be removed; change nothing.")
@workspace_option
@json_option
@fail_on_canalis_errors
def gc(layout, keep_last, older_than, grace, keep_failed, dry_run, as_json):
    """Remove from the store what no kept run, registered dataset or model, or published
    pipeline needs. Without --keep-last or --older-than every run is kept and only objects
    no event names (older than --grace) are removed. Working folders of failed steps go
    once they are older than --keep-failed. An interrupted collection is finished first."""
    from canalis.executor.gc import collect_garbage

    report = collect_garbage(layout.open_ledger(), layout.open_store(), layout.locks, keep_last=keep_last,
                             older_than=older_than, dry_run=dry_run, grace_seconds=grace,
                             runs_dir=layout.runs, keep_failed=keep_failed)
    if as_json:
        return print_json(report.to_dict())
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {report.removed_objects} objects ({_mb(report.removed_bytes)}); "
               f"runs kept {report.runs_kept}, collected {report.runs_collected}; {report.seconds:.2f} s")
    for reason, k in sorted(report.kept.items()):
        click.echo(f"  kept for {reason}: {k['objects']} objects ({_mb(k['bytes'])})")
    ff = report.failed_folders
    if ff.get("removed") or ff.get("kept"):
        click.echo(f"  working folders of failed steps: {verb} {ff['removed']} ({_mb(ff['removed_bytes'])}), "
                   f"kept {ff['kept']} ({_mb(ff['kept_bytes'])}) that ended within {format_duration(keep_failed)}")
    w = report.workspace
    if w.get("run_folders") is not None:
        click.echo(f"  .canalis/runs: {w['run_folders']} run folder(s); {w['step_folders']} step working folder(s) "
                   f"({_mb(w['step_folders_bytes'])}); {w['executor_logs']} executor log(s) ({_mb(w['executor_logs_bytes'])})")
    if w.get("lock_files"):
        click.echo(f"  .canalis/locks: {w['lock_files']} lock file(s), {w['unused_lock_files']} unused "
                   f"({'would be removed' if dry_run else 'removed'})")
    fin = report.finished
    if fin["collections"]:
        click.echo(f"  {'would finish' if dry_run else 'finished'} {len(fin['collections'])} interrupted collection batch(es): "
                   f"{fin['objects']} objects removed, {fin['spared']} named again since and kept")


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
