"""The `canalis` command. Subcommands live in their own modules and are imported only
when used, so that a quick command (a warm snapshot, `ledger head`) does not pay for
importing pandas or the whole SDK."""
from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command or group
COMMANDS = {
    "init": "canalis.cli.init_cmd:init",
    "store": "canalis.cli.store_cmds:store",
    "ledger": "canalis.cli.ledger_cmds:ledger",
    "submit": "canalis.cli.run_cmds:submit",
    "runs": "canalis.cli.run_cmds:runs",
    "show": "canalis.cli.run_cmds:show",
    "logs": "canalis.cli.run_cmds:logs",
    "cancel": "canalis.cli.run_cmds:cancel",
    "metrics": "canalis.cli.run_cmds:metrics",
    "experiments": "canalis.cli.run_cmds:experiments",
    "datasets": "canalis.cli.run_cmds:datasets",
    "models": "canalis.cli.model_cmds:models",
    "resume": "canalis.cli.audit_cmds:resume",
    "why": "canalis.cli.audit_cmds:why",
    "diff": "canalis.cli.audit_cmds:diff",
    "reproduce": "canalis.cli.audit_cmds:reproduce",
    "verify": "canalis.cli.audit_cmds:verify",
    "gc": "canalis.cli.audit_cmds:gc",
    "lineage": "canalis.cli.audit_cmds:lineage",
    "quickstart": "canalis.cli.quickstart_cmd:quickstart",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is not None or name not in COMMANDS:
            return cmd
        module, attr = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup)
@click.version_option(package_name="canalis")
def main():
    """canalis: reproducible ML pipelines on your own machine.

    Every command finds the workspace upward from the current folder, or takes
    --workspace DIR.
    """
