"""The installed `canalis` command (and `python -m canalis`).

A plain `canalis submit FILE ...` (canalis/cli/submit_args.py says which) is parsed and run
here without importing click: loading click and the CLI's modules costs a fully reused
submit a fair share of its time, and such a submit is what one types again and again. Every
other command line, and a submit written any other way, goes unchanged to the click command
group (canalis/cli/group.py), so its behaviour and messages are click's.

Both ways run the same submit (canalis/cli/submitting.py) and write the same output, and both
close the ledgers and stores the command opened before the process exits, however it ends
(canalis/opened.py). An error
is reported as the click command reports it: it is handed to click's own handling (on that
path importing click costs nothing that matters), through fail_on_canalis_errors and
`reported` as on the click path; the same message and exit code, the traceback with --debug
or CANALIS_DEBUG=1.

When the workspace has a warm process (`canalis warm start`, docs/warm.md), a plain submit is
handed to it instead: a child it forks runs `run_submit`, with this process's arguments,
folder, environment and terminal, and this process exits with the child's exit code.

CANALIS_CLICK_ONLY=1 sends every command line to click (to compare the two ways).
"""
from __future__ import annotations

import os
import sys

#: set to 1 to parse every command line with click
CLICK_ONLY_ENV = "CANALIS_CLICK_ONLY"


def _completing() -> bool:
    """Whether a shell asks for completions (`_CANALIS_COMPLETE=...`): click answers those."""
    return any(k.startswith("_") and k.endswith("_COMPLETE") and v for k, v in os.environ.items())


def fast_submit_args(argv: list[str]) -> dict | None:
    """The submit's keyword arguments when this command line is a submit run here, else None."""
    if argv[:1] != ["submit"] or os.environ.get(CLICK_ONLY_ENV, "").strip() not in ("", "0") or _completing():
        return None
    from canalis.cli.submit_args import parse

    return parse(argv[1:])


def main(prog_name: str | None = None, complete_var: str | None = None):
    """Run the command line in sys.argv: a plain submit here, anything else with click."""
    kwargs = fast_submit_args(sys.argv[1:])
    if kwargs is None:
        from canalis.cli.group import main as click_main

        extra = {k: v for k, v in (("prog_name", prog_name), ("complete_var", complete_var)) if v is not None}
        return click_main(**extra)
    from canalis.warm.client import hand_over

    code = hand_over(kwargs)  # to the workspace's warm process, when one serves it (docs/warm.md)
    if code is not None:
        from canalis.warm.client import exit_now

        exit_now(code)
    from canalis.cli.startup import collect_later, freeze_imports

    collect_later()  # as the click group does in the `canalis` process
    from canalis.cli import submitting

    freeze_imports(submitting.EVERY_SUBMIT_LOADS)  # before FILE runs: none of its objects are frozen
    run_submit(kwargs)


def run_submit(kwargs: dict):
    """Run the plain submit `kwargs` (fast_submit_args) and exit with its exit code: in the
    `canalis` process, or in a child of the warm process (canalis/warm/child.py)."""
    from canalis.cli import submitting
    from canalis.opened import closed_after

    with closed_after():  # the ledgers and stores the submit opens are closed before the process exits
        try:
            submitting.submit(**kwargs)
        except SystemExit:
            raise
        except BaseException as e:  # noqa: BLE001 - reported exactly as the click command would
            _report(e)
    sys.exit(0)


def _report(error: BaseException):
    """Report `error` (raised by the submit) as the click command does, and exit: it goes through
    fail_on_canalis_errors, a click command's main (ClickException, Ctrl-C, a closed pipe) and
    `reported` (canalis/cli/errors.py), just as an error of run_cmds.submit does."""
    import click

    from canalis.cli.common import fail_on_canalis_errors
    from canalis.cli.errors import reported

    @fail_on_canalis_errors
    def again():
        raise error

    with reported():
        click.Command("submit", callback=again).main([], prog_name="canalis submit")
