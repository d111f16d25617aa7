"""Shell completion: commands and options (click's own), and the names only the workspace
knows: run ids (and `latest`, `EXPERIMENT:latest`), experiments, datasets and models.

`canalis completion bash|zsh|fish` prints the script to load in the shell; it is click's
completion (`_CANALIS_COMPLETE=bash_source canalis` prints the same). Completing never fails
and never writes: outside a workspace, or on any error, it offers no names.
"""
from __future__ import annotations

import os

import click

# click.shell_completion is imported when something is completed: every other command goes without it

PROG = "canalis"
COMPLETE_VAR = "_CANALIS_COMPLETE"
#: run ids offered at most
MAX_RUNS = 50


def _ledger(ctx):
    from canalis import layout as _layout

    root = None
    while ctx is not None and root is None:
        root = (ctx.params or {}).get("workspace")
        ctx = ctx.parent
    root = root or os.environ.get("CANALIS_WORKSPACE")
    lay = _layout.at(root) if root else _layout.find()
    return lay.open_ledger()


def _safely(names):
    """Completion callbacks offer nothing rather than fail (no workspace, a busy ledger ...)."""

    def wrap(fn):
        def complete(ctx, param, incomplete):
            try:
                return [c for c in fn(_ledger(ctx), incomplete) if c.value.startswith(incomplete)]
            except Exception:  # noqa: BLE001 - a completion must never break the shell's prompt
                return []

        complete.__name__ = f"complete_{names}"
        return complete

    return wrap


@_safely("run")
def complete_run(ledger, incomplete):
    from click.shell_completion import CompletionItem

    runs = ledger.runs(limit=MAX_RUNS) if not incomplete or incomplete.startswith("l") else []
    if incomplete and not incomplete.startswith("latest"):
        runs = [ledger.run(i) for i in ledger.run_ids_with_prefix(incomplete, MAX_RUNS)]
    items = [CompletionItem("latest", help="the run submitted last")] if runs else []
    items += [CompletionItem(f"{e.name}:latest", help=f"the last run of experiment {e.name}")
              for e in ledger.experiments()]
    items += [CompletionItem(r.run_id, help=f"{r.experiment} {r.status}") for r in runs if r is not None]
    return items


@_safely("experiment")
def complete_experiment(ledger, incomplete):
    from click.shell_completion import CompletionItem

    return [CompletionItem(e.name, help=f"{e.run_count} run(s)") for e in ledger.experiments()]


@_safely("dataset")
def complete_dataset(ledger, incomplete):
    from click.shell_completion import CompletionItem

    return [CompletionItem(d.name, help=f"version {d.version}") for d in ledger.datasets()]


@_safely("model")
def complete_model(ledger, incomplete):
    from click.shell_completion import CompletionItem

    return [CompletionItem(m.name, help=f"version {m.version}") for m in ledger.models()]


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell):
    """Print the shell completion script for SHELL. Load it in your shell's startup file:

    \b
      bash: eval "$(canalis completion bash)"       (in ~/.bashrc)
      zsh:  eval "$(canalis completion zsh)"        (in ~/.zshrc)
      fish: canalis completion fish > ~/.config/fish/completions/canalis.fish

    It completes commands, options, run ids (and latest, EXPERIMENT:latest), experiment,
    dataset and model names. Click's own recipe, `_CANALIS_COMPLETE=bash_source canalis`,
    prints the same script."""
    from click.shell_completion import get_completion_class

    from canalis.cli import main

    cls = get_completion_class(shell)
    click.echo(cls(main, {}, PROG, COMPLETE_VAR).source())


__all__ = ["complete_dataset", "complete_experiment", "complete_model", "complete_run", "completion"]
