"""Handing a plain `canalis submit` to the workspace's warm process (docs/warm.md).

The `canalis` command calls `hand_over` before its own imports. It finds the workspace the
submit most likely uses (--workspace, CANALIS_WORKSPACE, else upward from the current folder,
else upward from the pipeline file's folder) and, when that workspace's `.canalis/warm.sock`
answers, sends it this process's arguments, folder, environment, umask and the way its
stdout and stderr are set up, with its stdin, stdout and stderr themselves. The warm process
either declines (then the submit runs here, as without it) or forks a child that runs it
and reports its exit code. Meanwhile Ctrl-C and the other ending signals this process gets
are passed on to the child, so the submit ends as it would have here.

CANALIS_WARM=0 never hands a submit over.
"""
from __future__ import annotations

import _signal
import os
import sys

from canalis.warm import wire

#: set to 0 to run every submit in the `canalis` process itself
ENV = "CANALIS_WARM"
#: the signals passed on to the child (`_signal`: the signal module's import costs milliseconds)
PASSED_ON = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT)


def workspace_folder(kwargs: dict) -> str | None:
    """The `.canalis/` folder of the workspace this submit most likely uses, or None."""
    given = kwargs.get("workspace") or os.environ.get("CANALIS_WORKSPACE")
    if given:
        return os.path.join(os.path.abspath(given), ".canalis")
    target = str(kwargs.get("target") or "")
    file = target.rsplit(":", 1)[0] if ":" in target and not os.path.exists(target) else target
    for start in (os.getcwd(), os.path.dirname(os.path.abspath(file)) if file else None):
        folder = start
        while folder:
            if os.path.isfile(os.path.join(folder, ".canalis", "config.json")):
                return os.path.join(folder, ".canalis")
            parent = os.path.dirname(folder)
            folder = None if parent == folder else parent
    return None


def hand_over(kwargs: dict) -> int | None:
    """Run this submit in a child of the workspace's warm process and return its exit code;
    None when there is no warm process, or it declined the submit (run it here then)."""
    if os.environ.get(ENV, "").strip() == "0":
        return None
    folder = workspace_folder(kwargs)
    if folder is None or not os.path.exists(os.path.join(folder, wire.SOCKET_NAME)):
        return None
    sock, passed = None, []
    try:
        sock = wire.connected(folder)
        # from now on a signal is passed on: one that comes before the child does waits in the
        # connection for it; if the submit is declined, it is raised here instead
        handled = {signum: _signal.getsignal(signum) for signum in PASSED_ON}
        for signum in PASSED_ON:
            _signal.signal(signum, _passing_on(sock, passed))
        wire.send(sock, request(), fds=[0, 1, 2])
        answer, _ = wire.receive(sock)
    except (OSError, wire.WireError):
        answer = None
    if answer is None or "declined" in answer:  # nothing of the submit ran: run it here
        if sock is not None:
            sock.close()
            for signum, handler in handled.items():
                _signal.signal(signum, handler)
        for signum in passed:
            os.kill(os.getpid(), signum)
        if answer and os.environ.get("CANALIS_DEBUG", "").strip() not in ("", "0"):
            print(f"canalis: the warm process declined this submit: {answer['declined']}", file=sys.stderr)
        return None
    return _wait(sock, answer, passed)  # a child took it: {"pid"}, or {"exit"} when it ended before it could say so


def _passing_on(sock, passed: list):
    def pass_on(signum, _frame):
        passed.append(signum)
        try:
            wire.send(sock, {"signal": signum})
        except OSError:  # the warm process is gone: `_wait` reports what became of the submit
            pass

    return pass_on


def request() -> dict:
    """The submit as the warm process needs it to fork a child that behaves as this process."""
    umask = os.umask(0o077)
    os.umask(umask)
    return {"version": wire.VERSION, "submit": True, "argv": sys.argv, "cwd": os.getcwd(), "environ": dict(os.environ),
            "umask": umask, "executable": sys.executable, "path0": sys.path[0] if sys.path else "",
            "facts": wire.interpreter_facts(), "stdio": {name: _stream(getattr(sys, name)) for name in ("stdin", "stdout", "stderr")}}


def _stream(stream) -> dict | None:
    if stream is None:
        return None
    return {"encoding": stream.encoding, "errors": stream.errors,
            "line_buffering": bool(getattr(stream, "line_buffering", False)),
            "write_through": bool(getattr(stream, "write_through", False))}


def _wait(sock, first: dict, passed: list) -> int:
    """Wait, passing signals on, until the warm process reports the child's exit code; return
    it. A child ended by a signal ends this process by the same signal."""
    code = first.get("exit")
    while code is None:
        try:
            message, _ = wire.receive(sock)
        except (OSError, wire.WireError):
            message = None
        if message is None:
            break
        code = message.get("exit")
    sock.close()
    if isinstance(code, int) and code >= 0:
        return code
    ended_by = -code if isinstance(code, int) else (passed[-1] if passed else None)
    if ended_by:
        for signum in {*PASSED_ON, ended_by}:
            _signal.signal(signum, _signal.SIG_DFL)
        os.kill(os.getpid(), ended_by)
        return 128 + ended_by
    print("canalis: the warm process ended before it reported this submit's exit code (see .canalis/warm.log); "
          "`canalis runs` shows whether its run was recorded", file=sys.stderr)
    return 1


def exit_now(code: int):
    """End this process with the submit's exit code as its interpreter would end it, but for
    the teardown of its objects (a few milliseconds; this process made nothing that needs it):
    non-daemon threads are joined and the atexit handlers run (a site's own, say), stdout and
    stderr are flushed; a flush that fails gives exit code 120, as the interpreter does."""
    wire.exit_work()
    os._exit(code if wire.flush_stdio() else 120)
