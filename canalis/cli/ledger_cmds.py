"""`canalis ledger ...`: read, verify, rebuild, export and annotate the event log.

A thin layer: every command is one call into canalis.ledger, then printing.
"""
from __future__ import annotations

import functools
import io
import sys

import click

from canalis.cli.common import fail_on_canalis_errors, json_option, print_json, workspace_option


def _ledger_errors(f):
    """Ledger errors become a one-line message and exit code 1 (the ledger cannot import the face's errors)."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from canalis.ledger.errors import LedgerError

        try:
            return f(*args, **kwargs)
        except LedgerError as e:
            raise click.ClickException(str(e)) from None

    return wrapper


def _open(layout):
    return layout.open_ledger()


@click.group()
def ledger():
    """The workspace's event log: every run, step, metric and registration, hash-chained."""


@ledger.command("events")
@click.option("--stream", default=None, help="Only events of this stream (e.g. run:RUN_ID, dataset:NAME).")
@click.option("--type", "type_", default=None, help="Only events of this type, or a type prefix (e.g. step.).")
@click.option("--since", type=int, default=None, help="Only events with a sequence number above N.")
@json_option
@workspace_option
@fail_on_canalis_errors
@_ledger_errors
def events_cmd(stream, type_, since, as_json, layout):
    """List events in sequence order."""
    with _open(layout) as led:
        recs = list(led.events(stream=stream, type=type_, since=since))
    if as_json:
        print_json([r.to_dict() for r in recs])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("seq", "time", "type", "stream", "payload", box=None)
    for r in recs:
        summary = ", ".join(f"{k}={v}" for k, v in r.payload.items() if isinstance(v, (str, int, float)) and k != "run_id")
        table.add_row(str(r.seq), r.time, f"{r.type} v{r.version}", r.stream, summary[:80])
    Console().print(table)


@ledger.command("head")
@json_option
@workspace_option
@fail_on_canalis_errors
@_ledger_errors
def head_cmd(as_json, layout):
    """The last sequence number and its hash (write it down to detect a later truncation)."""
    with _open(layout) as led:
        seq, h = led.head()
    if as_json:
        print_json({"seq": seq, "hash": h})
    else:
        click.echo(f"{seq} {h}")


@ledger.command("verify")
@json_option
@workspace_option
@fail_on_canalis_errors
@_ledger_errors
def verify_cmd(as_json, layout):
    """Recompute the hash chain; exit 1 naming the first event that breaks it."""
    with _open(layout) as led:
        res = led.verify()
    if as_json:
        print_json(res.to_dict())
    elif res.ok:
        click.echo(f"ok: {res.checked} events, chain intact, head {res.head_seq} {res.head_hash}")
    else:
        click.echo(f"BROKEN at event {res.first_bad_seq}: {res.reason} ({res.checked} events checked before it)", err=True)
    if not res.ok:
        sys.exit(1)


@ledger.command("rebuild")
@workspace_option
@fail_on_canalis_errors
@_ledger_errors
def rebuild_cmd(layout):
    """Drop every projection table and rebuild it from the events."""
    with _open(layout) as led:
        led.rebuild()
        n = led.count()
    click.echo(f"rebuilt projections from {n} events")


@ledger.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to FILE instead of stdout.")
@workspace_option
@fail_on_canalis_errors
@_ledger_errors
def export_cmd(fmt, output, layout):
    """The whole log, one canonical JSON event per line; verifiable without canalis (docs/events.md)."""
    with _open(layout) as led:
        if output:
            with open(output, "w", encoding="utf-8", newline="\n") as fp:
                n = led.export_jsonl(fp)
            click.echo(f"exported {n} events to {output}", err=True)
        else:
            out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
            try:
                led.export_jsonl(out)
                out.flush()
            finally:
                out.detach()


@ledger.command("annotate")
@click.option("--stream", required=True, help="The stream the note is about (e.g. run:RUN_ID).")
@click.option("--author", default=None, help="Who writes the note (default: the current user).")
@click.argument("message")
@json_option
@workspace_option
@fail_on_canalis_errors
@_ledger_errors
def annotate_cmd(stream, author, message, as_json, layout):
    """Record an auditor's note as an annotation.added event."""
    import getpass

    if author is None:
        try:
            author = getpass.getuser()
        except (KeyError, OSError):
            author = None
    with _open(layout) as led:
        rec = layout.open_session(ledger=led).annotate(stream, message, author)
    if as_json:
        print_json(rec.to_dict())
    else:
        click.echo(f"recorded event {rec.seq} on {stream}")
