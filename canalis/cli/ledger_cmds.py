"""`canalis ledger ...`: read, verify, rebuild, export and annotate the event log.

A thin layer: every command is one call into canalis.ledger, then printing.
"""
from __future__ import annotations

import functools
import io
import sys
from pathlib import Path

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
@click.option("--against", "against", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Also prove the ledger extends this checkpoint (from `canalis ledger checkpoint`).")
@click.option("--key", "key", type=click.Path(dir_okay=False), default=None,
              help="With --against: the public key (ed25519) or HMAC key that signed it "
                   "(default: the workspace's default checkpoint key).")
@json_option
@workspace_option
@fail_on_canalis_errors
@_ledger_errors
def verify_cmd(against, key, as_json, layout):
    """Recompute the hash chain; exit 1 naming the first event that breaks it.

    With --against CHECKPOINT: exit 1 also when the checkpoint's signature is not valid for
    the key, or the ledger no longer holds the event it vouches for with the same hash (a
    rewritten history or a tail cut below it)."""
    if against:
        return _verify_against(against, key, as_json, layout)
    if key:
        raise click.UsageError("--key is used with --against CHECKPOINT")
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


def _verify_against(against, key, as_json, layout):
    from canalis.ledger.checkpoint import check_against
    from canalis.ledger.keys import load_verify_key

    key = key or layout.checkpoint_key()
    if key is None:
        raise click.ClickException("no key to check the checkpoint's signature with: pass --key PUBKEY_OR_HMACKEY "
                                   "(or name a default with `canalis ledger checkpoint --key KEY --set-default`)")
    vkey = load_verify_key(key)
    with open(against, "rb") as f:
        text = f.read(1 << 20)
    with _open(layout) as led:
        res = check_against(led, text, vkey, workspace=layout.read_config().get("name"))
    if as_json:
        print_json(res.to_dict())
    elif res.ok:
        click.echo(f"ok: {res.message}")
    else:
        click.echo(f"FAILED ({res.problem}): {res.message}", err=True)
    if not res.ok:
        sys.exit(1)


@ledger.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--hmac", "use_hmac", is_flag=True,
              help="Make an HMAC-SHA256 key (one secret file that both signs and checks) instead of an ed25519 pair.")
@json_option
@fail_on_canalis_errors
@_ledger_errors
def keygen_cmd(path, use_hmac, as_json):
    """Make a key for signing checkpoints: an ed25519 private key in PATH (mode 0600) and its
    public key in PATH.pub, or with --hmac one HMAC key file. PATH must lie outside every
    workspace: the key protects the workspace's ledger."""
    from canalis import layout as _layout
    from canalis.ledger.keys import ED25519, HMAC, generate_key

    full = _layout.refuse_inside_workspace(path, "a checkpoint key")
    made = generate_key(full, HMAC if use_hmac else ED25519)
    info = {"alg": made.alg, "key_id": made.key_id, "path": str(made.path),
            "public_path": str(made.public_path) if made.public_path else None}
    if as_json:
        print_json(info)
        return
    click.echo(f"{made.alg} key {made.key_id} written to {made.path} (mode 0600)")
    if made.public_path:
        click.echo(f"public key (give it to whoever checks checkpoints): {made.public_path}")


@ledger.command("checkpoint")
@click.option("--key", "key", type=click.Path(dir_okay=False), default=None,
              help="Private ed25519 key or HMAC key to sign with (default: the workspace's default key).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the checkpoint to FILE (default: print it).")
@click.option("--set-default", is_flag=True,
              help="Remember --key as the workspace's default key (used by automatic checkpoints).")
@click.option("--reason", default=None, help="A note stored in the checkpoint (e.g. 'before the audit').")
@workspace_option
@fail_on_canalis_errors
@_ledger_errors
def checkpoint_cmd(key, out, set_default, reason, layout):
    """Sign the ledger's head (seq, hash, time, workspace name, key id) and print it as JSON,
    or write it to FILE. Keep it (or the key) out of reach of whoever can write the
    workspace; `canalis ledger verify --against FILE` later proves the ledger extends it."""
    from canalis import layout as _layout
    from canalis.ledger.checkpoint import make_checkpoint, write_checkpoint_file
    from canalis.ledger.keys import load_signing_key

    if set_default and not key:
        raise click.UsageError("--set-default needs --key KEYFILE")
    key = key or layout.checkpoint_key()
    if key is None:
        raise click.ClickException("no key: pass --key KEYFILE (make one with `canalis ledger keygen PATH`), or name a "
                                   "default with --key KEYFILE --set-default")
    _layout.refuse_inside_workspace(key, "a checkpoint key", layout)
    skey = load_signing_key(key)
    if set_default:
        layout.set_checkpoint_key(key)
    name = layout.read_config().get("name", "")
    with _open(layout) as led:
        cp = make_checkpoint(led, skey, name, reason)
    if out:
        write_checkpoint_file(out, cp)
        click.echo(f"checkpoint of event {cp.seq} ({cp.hash[:16]}…) signed by {cp.key_alg} key {cp.key_id[:16]}… "
                   f"written to {out}", err=True)
    else:
        click.echo(cp.to_json(), nl=False)
    if set_default:
        click.echo(f"default checkpoint key of workspace {name!r}: {Path(key).resolve()}", err=True)


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
@click.option("--stream", default=None, help="The stream the note is about (e.g. run:RUN_ID).")
@click.option("--run", "run_ref", default=None,
              help="The run the note is about (a run id, a unique prefix, latest, latest~N, EXPERIMENT:latest).")
@click.option("--author", default=None, help="Who writes the note (default: the current user).")
@click.argument("message")
@json_option
@workspace_option
@fail_on_canalis_errors
@_ledger_errors
def annotate_cmd(stream, run_ref, author, message, as_json, layout):
    """Record an auditor's note as an annotation.added event, on --stream or on --run's stream.
    A stream the ledger has no event on is refused (exit code 2)."""
    import getpass

    from canalis.cli.errors import UsageFailure

    if (stream is None) == (run_ref is None):
        raise UsageFailure("give the note's subject with exactly one of --stream STREAM or --run RUN")
    if run_ref is not None:
        from canalis.run_refs import resolve_run

        with _open(layout) as led:
            stream = f"run:{resolve_run(led, run_ref)}"

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
