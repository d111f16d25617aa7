"""What a child of the warm process does with the submit it was forked for (docs/warm.md).

It becomes the client's process as far as the submit can tell: the client's stdin, stdout
and stderr (set up with the client's encodings and buffering), folder, environment (and time
zone), umask, sys.argv, sys.executable and sys.path[0], the default handlers of the signals the warm process
handles itself. It sends its process id, then runs the submit as the `canalis` command would
(canalis/cli/entry.py `run_submit`) and ends as the client's own interpreter would (`_end`),
sending the client its exit code on the way. When it ends by a signal, or dies before it could
send it, the warm process sends the exit code when it reaps the child.

A signal the client passes on is raised here (Ctrl-C is a KeyboardInterrupt, as in the
client). When the client goes away before the child ends, the child gets SIGHUP, as a
process does whose terminal is closed.
"""
from __future__ import annotations

import gc
import io
import os
import signal
import socket
import sys
import threading
import time

from canalis.warm import wire


def wait(channel) -> None:
    """The spare child: make the pages of the warm process's objects its own now, while no
    submit waits (each page a submit writes to would otherwise be copied then), then wait on
    `channel` for a submit and its four descriptors (the client's connection, stdin, stdout,
    stderr) and run it. End-of-file instead (the warm process ended or starts again): end
    quietly. Never returns."""
    gc.unfreeze()
    del gc.get_objects()[:]  # touches every object the imports made (a reference each, then none)
    gc.freeze()
    try:
        message, fds = wire.receive(channel, with_fds=4)
    except (OSError, wire.WireError):
        message, fds = None, []
    channel.close()
    if message is None or len(fds) != 4:
        os._exit(0)
    run(socket.socket(fileno=fds[0]), fds[1:], message)


def run(conn, fds: list[int], message: dict) -> None:
    """Become the client's process, run its submit, end as a Python process ends; never returns."""
    code = 1
    try:
        become(fds, message)
        wire.send(conn, {"pid": os.getpid()})
        threading.Thread(target=_listen, args=(conn,), name="canalis-warm-client", daemon=True).start()
        code = submit()
    except BaseException:  # noqa: BLE001 - whatever happens, the end below runs
        code = _uncaught()
    finally:
        _end(code, conn)


def submit() -> int:
    """Run the submit as the `canalis` command does; its exit code."""
    from canalis.cli.entry import fast_submit_args, run_submit
    from canalis.cli.startup import collect_later

    kwargs = fast_submit_args(sys.argv[1:])
    if kwargs is None:  # the client parsed it as a plain submit, so the same code here does too
        print("canalis: the warm process could not read this submit's arguments; run it again with CANALIS_WARM=0",
              file=sys.stderr)
        return 2
    collect_later()  # as the `canalis` command does
    try:
        run_submit(kwargs)
    except SystemExit as e:
        return exit_code(e.code)
    except BaseException:  # noqa: BLE001 - as the interpreter reports an uncaught error
        return _uncaught()
    return 0


def exit_code(code) -> int:
    """The exit status Python gives `sys.exit(code)` (printing a message it is given)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _uncaught() -> int:
    """Report the error being handled as the interpreter reports an uncaught one; the exit code
    (-SIGINT for Ctrl-C: the process then ends by that signal, as Python does)."""
    kind, error, tb = sys.exc_info()
    try:
        sys.excepthook(kind, error, tb)
    except BaseException:  # noqa: BLE001 - a hook that fails (stderr closed) reports nothing, as in the interpreter
        pass
    return -signal.SIGINT if isinstance(error, KeyboardInterrupt) else 1


#: set once the exit code is on its way to the client: the client then closes the connection,
#: which is no longer a sign that it went away (`_listen`)
_told = threading.Event()


def _end(code: int, conn=None) -> None:
    """End as an interpreter ends, short of tearing its objects down: join the non-daemon
    threads, run the atexit handlers, flush every file still open that this process opened
    (the interpreter's teardown would), flush stdout and stderr. Then tell the client its exit
    code on `conn` and exit with `code`, or (the warm process tells the client then) by the
    signal -`code`. The teardown itself is skipped: it would free, and so copy, every page
    of the warm process's objects. The client is told before this process is gone: unmapping
    the pages it shares with the warm process, and the warm process's reaping, would add
    milliseconds; everything of the submit (the ledger, the store, its output) is closed and
    flushed by then, and the warm process still reaps it and keeps a stop waiting until it has."""
    try:
        wire.exit_work()
        for obj in gc.get_objects():  # what this process made: the warm process's objects are frozen
            if isinstance(obj, io.IOBase) and obj not in (sys.stdout, sys.stderr):
                try:
                    if not obj.closed and obj.writable():
                        obj.flush()
                except BaseException:  # noqa: BLE001 - as a finalizer's error, it ends nothing
                    pass
        wire.flush_stdio()  # a closed pipe: the submit's own exit code stands (docs/warm.md)
    except BaseException:  # noqa: BLE001 - the exit below must happen
        pass
    if code >= 0 and conn is not None:
        _told.set()
        try:
            wire.send(conn, {"exit": code})
        except OSError:
            pass  # the client is gone; the warm process's report reaches no one either
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code if code >= 0 else 1)


def become(fds: list[int], message: dict) -> None:
    """Take on the client's descriptors, folder, environment, umask and arguments."""
    for stream in (sys.stdout, sys.stderr):  # this process's own output goes to its log, not the client
        if stream is not None:
            stream.flush()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.chdir(message["cwd"])
    os.environ.clear()
    os.environ.update(message["environ"])
    time.tzset()
    os.umask(int(message["umask"]))
    sys.argv[:] = message["argv"]
    sys.executable = message["executable"]  # the same interpreter (wire.interpreter_facts), named as the client names it
    if sys.path:
        sys.path[0] = message["path0"]
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        stream = _stream(fd, name, message["stdio"].get(name))
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _stream(fd: int, name: str, spec: dict | None):
    """A text stream on `fd` set up as the client's own `name` was (None as it was None)."""
    if spec is None:
        return None
    raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
    raw.name = f"<{name}>"
    buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
    return io.TextIOWrapper(buffered, encoding=spec["encoding"], errors=spec["errors"],
                            line_buffering=spec["line_buffering"], write_through=spec["write_through"])


def _listen(conn) -> None:
    """Raise here the signals the client passes on; SIGHUP when the client goes away (it
    closes the connection only once it has the exit code, which is sent after this process ended)."""
    while True:
        try:
            message, _ = wire.receive(conn)
        except (OSError, wire.WireError):
            message = None
        if message is None:
            if not _told.is_set():
                os.kill(os.getpid(), signal.SIGHUP)
            return
        signum = message.get("signal")
        if isinstance(signum, int):
            os.kill(os.getpid(), signum)
