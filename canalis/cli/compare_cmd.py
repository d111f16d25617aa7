"""`canalis compare RUN RUN [RUN...]`: runs side by side (canalis/run_compare.py)."""
from __future__ import annotations

import sys

import click

from canalis import reports
from canalis.cli.common import fail_on_canalis_errors, json_option, print_json, workspace_option
from canalis.cli.completion import complete_run
from canalis.cli.errors import UsageFailure
from canalis.durations import format_duration

#: what marks a row whose values differ (also without colour, in a pipe)
DIFFERS = "≠"


def _cell(section: str, value) -> str:
    from canalis.cli.run_cmds import _metric_cell

    if value is None:
        return "–"
    if section == "duration":
        return format_duration(value)
    if section in ("metric", "parameter"):
        return _metric_cell(value)
    return str(value)


@click.command()
@click.argument("runs", nargs=-1, required=True, shell_complete=complete_run)
@click.option("--differences", "only_differences", is_flag=True, help="Show only the rows whose values differ.")
@workspace_option
@json_option
@fail_on_canalis_errors
def compare(layout, runs, only_differences, as_json):
    """Put two or more runs side by side: parameters, metrics (a series as its last value
    [min..max]), step states, git commits and durations. Rows whose values differ are marked
    ≠ (and highlighted on a terminal). RUN is a run id, a unique prefix, latest, latest~N or
    EXPERIMENT:latest."""
    from rich.console import Console
    from rich.table import Table

    from canalis.run_compare import compare as compare_runs

    if len(runs) < 2:
        raise UsageFailure("compare needs at least two runs (e.g. `canalis compare latest~1 latest`)")
    ledger = layout.open_ledger()
    ids = [reports.resolve_run(ledger, r) for r in runs]
    if len(set(ids)) < len(ids):
        raise UsageFailure(f"{' '.join(runs)} name the same run more than once ({', '.join(ids)}); give different runs")
    result = compare_runs(ledger, ids)
    if only_differences:
        result["rows"] = [r for r in result["rows"] if r["differs"]]
    if as_json:
        return print_json(result)
    t = Table(title=f"{len(ids)} runs compared", show_lines=False)
    t.add_column("", no_wrap=True)
    t.add_column("", style="dim", no_wrap=True)
    t.add_column("", no_wrap=True)
    for run_id in ids:
        t.add_column(run_id, overflow="fold")
    for row in result["rows"]:
        t.add_row(DIFFERS if row["differs"] else "", row["section"], row["name"],
                  *(_cell(row["section"], v) for v in row["values"]), style="bold yellow" if row["differs"] else None)
    Console(width=None if sys.stdout.isatty() else 250).print(t)
    n = sum(1 for r in result["rows"] if r["differs"])
    click.echo(f"{n} row(s) differ ({DIFFERS}).")
