"""`canalis warm start|status|stop`: the workspace's warm process, which runs plain
`canalis submit`s without paying for an interpreter's start and imports (docs/warm.md)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import click

from canalis.cli.common import DURATION, duration_help, fail_on_canalis_errors, json_option, print_json, workspace_option
from canalis.cli.output import echo
from canalis.errors import CanalisError

#: how long `start` waits for the new process to answer
START_TIMEOUT_S = 60.0


class WarmError(CanalisError):
    """The warm process could not be started, asked or stopped."""


@click.group()
def warm():
    """The workspace's warm process: it has imported what a submit loads and forks a child for
    each plain `canalis submit` of the workspace, so a submit costs about an interpreter's start."""


@warm.command("start")
@click.option("--idle", type=DURATION, default="1h", show_default=True,
              help=duration_help("End after this long without a submit; 0 never ends"))
@workspace_option
@json_option
@fail_on_canalis_errors
def start(layout, idle, as_json):
    """Start the warm process of the workspace (nothing to do when one is running)."""
    from canalis.warm import server, wire

    folder = str(layout.dir)
    running = server.status_of(folder)
    if running is None:
        with open(os.path.join(folder, wire.LOG_NAME), "ab") as log:
            popen = subprocess.Popen([sys.executable, "-m", "canalis.warm.server", folder, "--idle", repr(idle)],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=folder,
                                     start_new_session=True, close_fds=True)
        running = _answering(folder, popen)
    if as_json:
        return print_json(running)
    echo(f"warm process {running['pid']} serves {layout.root}: a plain `canalis submit` of this workspace is "
         f"handed to it (`canalis warm stop` stops it; it ends by itself "
         f"{'never' if not running['idle_s'] else 'after ' + _idle(running['idle_s']) + ' without a submit'})")


def _answering(folder: str, popen: subprocess.Popen) -> dict:
    from canalis.warm import server, wire

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        answer = server.status_of(folder)
        if answer is not None and answer.get("pid") == popen.pid:
            return answer
        if popen.poll() is not None:
            raise WarmError(f"the warm process ended as it started (exit code {popen.returncode}); "
                            f"{_tail(os.path.join(folder, wire.LOG_NAME))}")
        time.sleep(0.05)
    popen.terminate()
    raise WarmError(f"the warm process did not answer within {START_TIMEOUT_S:g} s, so it was stopped; "
                    f"{_tail(os.path.join(folder, wire.LOG_NAME))}")


def _tail(path: str, lines: int = 5) -> str:
    try:
        with open(path, errors="replace") as f:
            last = f.read().splitlines()[-lines:]
    except OSError:
        return f"its log {path} could not be read"
    return f"the end of its log {path}:\n" + "\n".join(last)


def _idle(seconds: float) -> str:
    from canalis.durations import format_duration

    return format_duration(seconds)


@warm.command("status")
@workspace_option
@json_option
@fail_on_canalis_errors
def status(layout, as_json):
    """Whether a warm process serves the workspace, and what it has done (exit code 1: none)."""
    from canalis.warm import server

    answer = server.status_of(str(layout.dir))
    if as_json:
        print_json({"running": answer is not None, **(answer or {})})
    elif answer is None:
        echo(f"no warm process serves {layout.root} (`canalis warm start` starts one)")
    else:
        echo(f"warm process {answer['pid']} serves {layout.root}: up {_idle(time.time() - answer['started'])}, "
             f"{answer['served']} submits run, {answer['declined']} declined, {len(answer['running'])} running now, "
             f"idle for {_idle(answer['idle_for_s'])} "
             f"(ends after {_idle(answer['idle_s']) if answer['idle_s'] else 'never'} idle); python {answer['python']}")
    if answer is None:
        sys.exit(1)


@warm.command("stop")
@workspace_option
@fail_on_canalis_errors
def stop(layout):
    """Stop the workspace's warm process; the submits it is running go on to their end."""
    from canalis.warm import server

    answer = server.ask(str(layout.dir), {"control": "stop"})
    if answer is None:
        return echo(f"no warm process serves {layout.root}")
    pid, running = answer["stopped"], answer.get("running") or []
    if running:
        return echo(f"stopped warm process {pid}: no submit is handed to it any more; it ends once the "
                    f"{len(running)} submits it runs have ended (processes {', '.join(map(str, running))})")
    deadline = time.monotonic() + 10
    from canalis.executor.orphans import process_alive

    while time.monotonic() < deadline and process_alive(pid):
        time.sleep(0.02)
    echo(f"stopped warm process {pid}")

