"""The executor process of one run:

    python -m canalis.executor_main --workspace ROOT RUN_ID [--resume] [--max-concurrent-steps N]

A submit, resume or reproduce records the run and starts this process detached, in a session
of its own, with its output appended to `.canalis/runs/<run>/executor.log`
(executor/launch.py). It opens the workspace through `canalis.layout` (format versions,
permissions), executes the recorded run (`Session.execute`) and exits when the run has
ended. It is the only process that writes the run's step events. It lives in the face
because opening a workspace does; it imports only what executing needs (no CLI, no SDK).
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def _arguments(argv):
    ap = argparse.ArgumentParser(prog="python -m canalis.executor_main",
                                 description="Execute one recorded run of a canalis workspace until it ends.")
    ap.add_argument("--workspace", required=True, help="Workspace root (the folder holding .canalis/).")
    ap.add_argument("run_id")
    ap.add_argument("--resume", action="store_true", help="Finish a run whose executor died (steps done keep their results).")
    ap.add_argument("--max-concurrent-steps", type=int, default=None)
    return ap.parse_args(argv)


def _say(text: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print(f"{stamp} canalis executor {os.getpid()}: {text}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = _arguments(argv)
    from canalis import layout as _layout
    from canalis.errors import CanalisError
    from canalis.executor.errors import ExecutorError
    from canalis.executor.nospace import RunNotRecorded

    # a line written first: on a full disk the messages that follow still fit in its block
    _say(f"{'resuming' if args.resume else 'starting'} run {args.run_id}")
    try:
        lay = _layout.at(args.workspace)
        root = lay.root

        def secret_values(names):  # read only when a step reads a secret
            from canalis.core.keyvault import read_secrets_at

            values = read_secrets_at(root)
            return [values[n] for n in names if n in values]

        session = lay.open_session(secret_values=secret_values)
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
