"""The click command group `canalis`: every command line that canalis/cli/entry.py (the
installed command) does not run itself goes through it."""
from __future__ import annotations

import importlib
import os
import sys

import click

from canalis.cli.startup import collect_later, freeze_imports

# name -> "module:attribute" of a click command or group
COMMANDS = {
    "init": "canalis.cli.init_cmd:init",
    "store": "canalis.cli.store_cmds:store",
    "ledger": "canalis.cli.ledger_cmds:ledger",
    "submit": "canalis.cli.run_cmds:submit",
    "plan": "canalis.cli.run_cmds:plan",
    "runs": "canalis.cli.run_cmds:runs",
    "show": "canalis.cli.run_cmds:show",
    "logs": "canalis.cli.run_cmds:logs",
    "cancel": "canalis.cli.run_cmds:cancel",
    "metrics": "canalis.cli.run_cmds:metrics",
    "experiments": "canalis.cli.run_cmds:experiments",
    "datasets": "canalis.cli.run_cmds:datasets",
    "models": "canalis.cli.model_cmds:models",
    "environments": "canalis.cli.registry_cmds:environments",
    "resume": "canalis.cli.audit_cmds:resume",
    "why": "canalis.cli.audit_cmds:why",
    "diff": "canalis.cli.audit_cmds:diff",
    "compare": "canalis.cli.compare_cmd:compare",
    "reproduce": "canalis.cli.audit_cmds:reproduce",
    "verify": "canalis.cli.audit_cmds:verify",
    "gc": "canalis.cli.audit_cmds:gc",
    "lineage": "canalis.cli.audit_cmds:lineage",
    "quickstart": "canalis.cli.quickstart_cmd:quickstart",
    "serve": "canalis.cli.serve_cmds:serve",
    "token": "canalis.cli.serve_cmds:token",
    "pipelines": "canalis.cli.serve_cmds:pipelines",
    "endpoints": "canalis.cli.serve_cmds:endpoints",
    "schedules": "canalis.cli.serve_cmds:schedules",
    "publish": "canalis.cli.serve_cmds:publish",
    "completion": "canalis.cli.completion:completion",
    "exec": "canalis.cli.compat_cmds:exec_",
    "compat": "canalis.cli.compat_cmds:compat",
    "env": "canalis.cli.env_cmds:env",
    "compute": "canalis.cli.compute_cmds:compute",
    "warm": "canalis.cli.warm_cmds:warm",
}


#: commands that always start a run's executor: it is started as they start (see `_prestart_executor`).
#: Not `submit`: a submit whose every step is reused records the run itself and starts no
#: process (executor/noop.py), and one started ahead would cost it an interpreter's start.
STARTS_A_RUN = ("resume", "reproduce")


def _prestart_executor(args: list[str]) -> None:
    """For a command that starts a run, start the run's executor now, as a standby
    (executor/standby.py): it imports and opens the workspace while the command loads the
    pipeline and records the run, instead of after. The workspace is the one the command
    will most likely use (--workspace, CANALIS_WORKSPACE, else found upward from the current
    folder); when it is another, or no run is started, the standby quits unused."""
    import os

    from canalis import layout as _layout
    from canalis.errors import CanalisError
    from canalis.executor import standby

    root = None
    for i, arg in enumerate(args):
        if arg == "--workspace" and i + 1 < len(args):
            root = args[i + 1]
        elif arg.startswith("--workspace="):
            root = arg.split("=", 1)[1]
    root = root or os.environ.get("CANALIS_WORKSPACE")
    try:
        lay = _layout.at(root) if root else _layout.find()
    except CanalisError:
        return  # no workspace here: the command says so itself
    if lay.runs.is_dir():
        standby.prestart(lay.executor_argv(), lay.runs)


class LazyGroup(click.Group):
    def main(self, args=None, *rest, **kwargs):
        if args is None:  # this process is the `canalis` command (a caller's CliRunner passes its args)
            collect_later()
            freeze_imports()
        argv = sys.argv[1:] if args is None else list(args)
        if argv[:1] and argv[0] in STARTS_A_RUN and "--help" not in argv:
            _prestart_executor(argv[1:])
        from canalis.cli.errors import reported

        if args is not None:  # a caller's CliRunner: what the command opens stays the caller's to close
            with reported():  # no traceback for a user error (canalis/cli/errors.py)
                return super().main(args, *rest, **kwargs)
        from canalis.opened import closed_after

        # the ledgers and stores the command opens are closed before the process exits, however it ends
        with closed_after(), reported():
            return super().main(args, *rest, **kwargs)

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is not None or name not in COMMANDS:
            return cmd
        module, attr = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr)


def _set_debug(ctx, param, value):
    if value:
        from canalis.cli.errors import DEBUG_ENV

        os.environ[DEBUG_ENV] = "1"


@click.group(cls=LazyGroup)
@click.version_option(package_name="canalis")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
              help="Show the traceback of an error (also CANALIS_DEBUG=1).")
def main():
    """canalis: reproducible ML pipelines on your own machine.

    Every command finds the workspace upward from the current folder, or takes
    --workspace DIR. Errors say what is wrong and what to do (exit code 2 for a usage
    error, 1 for a failure).
    """
