"""The executor process of one run:

    python -m canalis.executor_main --workspace ROOT RUN_ID [--resume] [--max-concurrent-steps N]
    python -m canalis.executor_main --workspace ROOT --standby   (then, on stdin, {"args": [...], "env": {...}})

A submit, resume or reproduce records the run and starts this process detached, in a session
of its own, with its output appended to `.canalis/runs/<run>/executor.log`
(executor/launch.py). It opens the workspace through `canalis.layout` (format versions,
permissions), executes the recorded run (`Session.execute`) and exits when the run has
ended, closing the workspace's ledger and store first (canalis/opened.py), also when it fails
or is interrupted. It is the only process that writes the run's step events. It lives in the face
because opening a workspace does; it imports only what executing needs (no CLI, no SDK).

With `--standby` it is started before its run is recorded (executor/standby.py): it imports
and opens the workspace, then reads its run's arguments and environment on stdin, and from
there on is that run's executor, its output in the run's log. End-of-file instead makes it
quit, silently.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def _arguments(argv):
    ap = argparse.ArgumentParser(prog="python -m canalis.executor_main",
                                 description="Execute one recorded run of a canalis workspace until it ends.")
    ap.add_argument("--workspace", required=True, help="Workspace root (the folder holding .canalis/).")
    ap.add_argument("run_id", nargs="?")
    ap.add_argument("--resume", action="store_true", help="Finish a run whose executor died (steps done keep their results).")
    ap.add_argument("--max-concurrent-steps", type=int, default=None)
    ap.add_argument("--standby", action="store_true",
                    help='Get ready, then read {"args": [RUN_ID, ...], "env": {...}} on stdin (end of file: quit).')
    args = ap.parse_args(argv)
    if not args.standby and not args.run_id:
        ap.error("RUN_ID is required (or --standby)")
    return args


def _take_run(args, runs_dir):
    """A standby's run: its arguments and environment from stdin (None at end of file); stdin
    is then closed, and stdout and stderr go to the run's log, as for an executor started for
    its run."""
    from canalis.executor.launch import log_path

    line = sys.stdin.readline()
    if not line.strip():
        return None
    handed = json.loads(line)
    os.environ.clear()
    os.environ.update(handed["env"])
    taken = _arguments(["--workspace", args.workspace, *handed["args"]])
    log = log_path(runs_dir, taken.run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    devnull = os.open(os.devnull, os.O_RDONLY)
    out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(devnull)
    os.close(out)
    os.chdir(log.parent)
    return taken


def _say(text: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print(f"{stamp} canalis executor {os.getpid()}: {text}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = _arguments(argv)
    from canalis.opened import closed_after

    with closed_after():  # the workspace's ledger and store are closed before the process exits, however it ends
        return _execute(args)


def _execute(args) -> int:
    from canalis import layout as _layout
    from canalis.errors import CanalisError
    from canalis.executor.errors import ExecutorError
    from canalis.executor.nospace import RunNotRecorded

    if not args.standby:  # a line written first: on a full disk the messages that follow still fit in its block
        _say(f"{'resuming' if args.resume else 'starting'} run {args.run_id}")
    try:
        lay = _layout.at(args.workspace)
        root = lay.root

        def secret_values(names):  # read only when a step reads a secret
            from canalis.core.keyvault import read_secrets_at

            values = read_secrets_at(root)
            return [values[n] for n in names if n in values]

        session = lay.open_session(secret_values=secret_values)
        if args.standby:
            args = _take_run(args, session.runs_dir)
            if args is None:
                return 0  # no run came: nothing was written anywhere
            _say(f"{'resuming' if args.resume else 'starting'} run {args.run_id} (started ahead of it)")
        from canalis.compat.steps import step_environment

        os.environ.update(step_environment(os.environ))  # steps import `azureml` from canalis (canalis/compat/steps.py)
        status = session.execute(args.run_id, resumed=args.resume, max_concurrent_steps=args.max_concurrent_steps)
    except RunNotRecorded as e:  # a full disk: what to do, without a traceback
        _say(f"canalis: {e}")
        return 1
    except (CanalisError, ExecutorError) as e:
        _say(f"canalis: run {args.run_id} could not be executed: {e}")
        return 1
    _say(f"run {args.run_id} ended: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
