"""The warm process of a workspace: `python -m canalis.warm.server CANALIS_DIR [--idle SECONDS]`,
started by `canalis warm start` (docs/warm.md).

It imports what every submit loads (canalis/cli/submitting.py EVERY_SUBMIT_LOADS) and the SDK
modules a pipeline file imports, sets those objects aside from the cycle collector, and
listens on `CANALIS_DIR/warm.sock` (its owner's only; a connection from another user is closed
unanswered). For each submit a client hands it, it checks that a child would behave as the
client's own process would (`declined_because`), then hands it to the spare child it forked
ahead (canalis/warm/child.py), forks the next spare, and sends the client the child's exit
code when it reaps it.
It opens no ledger, store or file of the workspace itself: each child opens its own.

It ends, removing its socket, on `canalis warm stop`, SIGTERM or SIGINT, after `--idle`
seconds without a connection, or when its socket is removed or replaced (the workspace was
deleted, or another warm process started). It then waits for the submits it runs to end,
to send their exit codes (a second SIGTERM ends it at once). When a module it imported has changed on disk
(canalis or a library was upgraded), it declines the submit at hand and starts itself again
(the same process id, `os.execv`), so that the next submit finds the new code.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import signal
import socket
import struct
import sys
import time

from canalis.warm import wire
from canalis.warm.watch import Watch

#: what the warm process imports besides EVERY_SUBMIT_LOADS: the command's own submit path, the
#: SDK modules pipeline files import, and what a fully reused submit loads besides (a run with
#: steps to run loads it in its executor process instead), down to the standard library
PRELOAD = ("canalis.cli.entry", "canalis.cli.submit_args", "canalis.cli.submitting", "canalis.cli.startup",
           "canalis.opened", "canalis.warm.child", "canalis.core", "canalis.data", "canalis.pipeline.core",
           "canalis.pipeline.steps", "canalis.durations", "canalis.reports", "canalis.run_refs",
           "canalis.step_states", "canalis.executor.envspec", "canalis.executor.freeze",
           "canalis.executor.installed_cache", "canalis.executor.stepenv", "atexit", "pwd", "subprocess", "sysconfig")
#: how often, without connections, it checks its socket and its idle time
TICK_S = 1.0


class Spare:
    """A forked child waiting for the next submit on `channel`."""

    def __init__(self, pid: int, channel: socket.socket):
        self.pid = pid
        self.channel = channel


class Stop(Exception):
    """End the warm process (its socket is removed on the way out)."""


class Server:
    def __init__(self, folder: str, idle_s: float):
        self.folder = os.path.abspath(folder)
        self.idle_s = idle_s
        self.started = time.time()
        self.last_used = time.monotonic()
        self.served = 0
        self.declined = 0
        self.children: dict[int, socket.socket] = {}  # pid -> a connection to send its exit code on
        self.facts = wire.interpreter_facts()
        self.top_level = sorted({name.partition(".")[0] for name in sys.modules if not name.startswith("_")})
        self.watch = Watch(module_files())  # before the files' stats: a change after them is an event
        self.code = loaded_code()
        #: the files no inotify watch covers: stat'ed for every submit
        self.unwatched = {path: seen for path, seen in self.code.items() if path in self.watch.unwatched}
        self.changed: str | None = None  # the first module file found changed
        self.listener: socket.socket | None = None
        self.spare: Spare | None = None
        self.restart_for: str | None = None  # why this process starts again (its code changed)
        self.inode: tuple[int, int] | None = None

    # -- the socket ------------------------------------------------------------------------
    def listen(self) -> None:
        """Bind the socket under a name of its own, then move it to warm.sock: a client never
        connects to a socket that is not listening yet. Refuses when a warm process answers there."""
        if status_of(self.folder) is not None:
            raise SystemExit(f"canalis warm: a warm process already serves {self.folder}; "
                             "`canalis warm stop` stops it")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mine = f"{wire.SOCKET_NAME}.{os.getpid()}"
        with wire.address(self.folder) as path:
            tmp = os.path.join(os.path.dirname(path), mine)
            with umask(0o077):
                sock.bind(tmp)
            sock.listen(64)
            os.replace(tmp, path)
        st = os.stat(os.path.join(self.folder, wire.SOCKET_NAME))
        self.inode = (st.st_dev, st.st_ino)
        self.listener = sock

    def still_mine(self) -> bool:
        try:
            st = os.stat(os.path.join(self.folder, wire.SOCKET_NAME))
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self.inode

    def close(self) -> None:
        if self.listener is None:
            return
        if self.still_mine():
            try:
                os.unlink(os.path.join(self.folder, wire.SOCKET_NAME))
            except OSError:
                pass
        self.listener.close()
        self.listener = None
        if self.spare is not None:  # it reads end-of-file and ends
            self.spare.channel.close()
            self.spare = None

    # -- serving ---------------------------------------------------------------------------
    def serve(self) -> None:
        """Serve until told to stop (raises Stop)."""
        self.listener.settimeout(TICK_S)
        signal.signal(signal.SIGCHLD, self._reap)
        self.spare = self.fork_spare()
        while True:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                if not self.still_mine():
                    raise Stop("its socket was removed or replaced")
                if self.idle_s and not self.children and time.monotonic() - self.last_used > self.idle_s:
                    raise Stop(f"idle for {self.idle_s:g} s")
                continue
            self.last_used = time.monotonic()
            try:
                self.handle(conn)
            finally:
                conn.close()
            if self.restart_for:
                restart(self, self.restart_for)
            if self.spare is None:  # forked only now that the connection and descriptors are closed here
                self.spare = self.fork_spare()

    def fork_spare(self) -> Spare:
        """Fork the child that will run the next submit. It waits for it on a socket pair of
        its own, its memory already its own (child.wait), so the submit costs neither a fork
        nor the copies of the pages it writes to."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        signal.pthread_sigmask(signal.SIG_BLOCK, HELD_WHILE_FORKING)
        try:
            pid = os.fork()
            if pid == 0:  # the spare: let go of everything of this process's, then wait
                try:
                    for signum in HELD_WHILE_FORKING:
                        signal.signal(signum, signal.SIG_DFL)
                    signal.signal(signal.SIGINT, signal.default_int_handler)
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_WHILE_FORKING)
                    self.listener.close()
                    self.watch.close()
                    ours.close()
                    for conn in self.children.values():
                        conn.close()
                    if self.spare is not None:
                        self.spare.channel.close()
                    from canalis.warm import child

                    child.wait(theirs)
                finally:
                    os._exit(1)  # child.wait never returns; should it raise, nothing of this process runs on
        finally:
            if pid:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_WHILE_FORKING)
        theirs.close()
        return Spare(pid, ours)

    def _reap(self, _signum=None, _frame=None) -> None:
        """SIGCHLD: send each ended child's exit code to its client (a negative code: the
        signal that ended it)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is None:
                continue  # a spare that ended unused
            try:
                wire.send(conn, {"exit": os.waitstatus_to_exitcode(status)}, flags=socket.MSG_DONTWAIT)
            except OSError:
                pass  # the client is gone, or reads nothing: it never waits on this process
            finally:
                conn.close()

    def handle(self, conn: socket.socket) -> None:
        """Answer one connection: a control message, or a submit declined or handed to the spare."""
        conn.settimeout(10)  # a client that sends nothing does not hold the process
        _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        if uid != os.getuid():
            return  # its child would run another user's pipeline file as this user
        try:
            message, fds = wire.receive(conn, with_fds=3)
        except (OSError, wire.WireError) as e:
            log(f"a connection sent no request: {e}")
            return
        try:
            if message is None:
                return
            control = message.get("control")
            if control == "status":
                return wire.send(conn, self.status())
            if control == "stop":
                wire.send(conn, {"stopped": os.getpid(), "running": sorted(self.children)})
                raise Stop("asked to stop")
            if not message.get("submit") or len(fds) != 3:
                return wire.send(conn, {"declined": "not a submit with its stdin, stdout and stderr"})
            reason = self.declined_because(message)
            if reason is not None:
                self.declined += 1
                wire.send(conn, {"declined": reason})
                if reason.startswith(STALE):
                    self.restart_for = reason  # once this connection is closed (`serve`)
                return
            conn.settimeout(None)  # the spare reads it blocking; a timeout is a flag both would share
            self.hand_to_spare(conn, fds, message)
        finally:
            for fd in fds:
                os.close(fd)

    def hand_to_spare(self, conn: socket.socket, fds: list[int], message: dict) -> None:
        """Give the submit to the spare and keep the connection to send its exit code on. A
        spare that is gone is replaced first. The next spare is forked once this connection's
        descriptors are closed here (`serve`): a child forked now would hold the client's
        stdout and stderr open, and whoever reads them would wait for it."""
        for attempt in (1, 2):
            spare, self.spare = self.spare, None
            # held until the child is known here: a child that ended sooner would be taken for an unused spare
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
            try:
                try:
                    wire.send(spare.channel, message, fds=[conn.fileno(), *fds])
                except OSError as e:
                    spare.channel.close()
                    if attempt == 2:
                        raise Stop(f"no spare child could be given a submit: {e}") from None
                    self.spare = self.fork_spare()
                    continue
                spare.channel.close()
                self.children[spare.pid] = conn.dup()  # closed once the exit code is sent on it
                self.served += 1
                return
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})

    def drain(self) -> None:
        """Wait until the children running submits have ended and their exit codes are sent
        (`_reap`); a signal that ends this process meanwhile ends the wait."""
        if self.children:
            log(f"waiting for {len(self.children)} running submits to end")
        while self.children:
            time.sleep(TICK_S / 10)
            self._reap()  # in case a SIGCHLD came before its child was known

    def declined_because(self, message: dict) -> str | None:
        """Why a child of this process would not behave as the client's own process; None
        when it would."""
        if message.get("version") != wire.VERSION:
            return f"the client speaks version {message.get('version')} of the protocol, this process {wire.VERSION}"
        facts = message.get("facts") or {}
        for key, mine in self.facts.items():
            if facts.get(key) != mine:
                return f"the client's {key} differs from this process's"
        folder = message.get("path0") or str(message.get("cwd") or ".")  # '' is the client's folder
        try:
            names = set(os.listdir(folder))
        except OSError:
            names = set()
        for name in self.top_level:  # a module of the client's own folder would be imported instead
            base = os.path.join(folder, name)
            if (f"{name}.py" in names and os.path.isfile(base + ".py")) or (
                    name in names and os.path.isfile(os.path.join(base, "__init__.py"))):
                return f"{base} would shadow the module {name} this process has imported"
        if self.changed is None:  # once changed, always: the process starts again (`serve`)
            self.changed = changed_code(self.unwatched if self.watch.quiet() else self.code)
        if self.changed:
            return f"{STALE}: {self.changed} changed since this process imported it"
        return None

    def status(self) -> dict:
        return {"pid": os.getpid(), "folder": self.folder, "started": self.started, "idle_s": self.idle_s,
                "idle_for_s": round(time.monotonic() - self.last_used, 3), "served": self.served,
                "declined": self.declined, "running": sorted(self.children), "spare": self.spare.pid if self.spare else None, "python": sys.executable,
                "modules": len(self.code)}


STALE = "code changed"
#: the signals this process handles, held while it forks (a child sets its own handlers first)
HELD_WHILE_FORKING = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}


def module_files() -> list[str]:
    """The file of every module imported so far."""
    return list(dict.fromkeys(p for p in (getattr(m, "__file__", None) for m in list(sys.modules.values())) if p))


def loaded_code() -> dict[str, tuple[int, int]]:
    """(mtime_ns, size) of the file of every module imported so far."""
    out = {}
    for path in module_files():
        try:
            st = os.stat(path)
        except OSError:
            continue
        out[path] = (st.st_mtime_ns, st.st_size)
    return out


def changed_code(code: dict[str, tuple[int, int]]) -> str | None:
    """The first of those files that changed or went away since, or None."""
    for path, seen in code.items():
        try:
            st = os.stat(path)
        except OSError:
            return path
        if (st.st_mtime_ns, st.st_size) != seen:
            return path
    return None


def restart(server: Server, reason: str) -> None:
    """Start this process again with the code now on disk (same process id and arguments),
    once the submits it runs have ended (their clients wait for their exit codes from it)."""
    log(f"starting again: {reason}")
    server.close()
    server.drain()
    os.execv(sys.executable, [sys.executable, "-m", "canalis.warm.server", *sys.argv[1:]])


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def status_of(folder: str, timeout: float = 5.0) -> dict | None:
    """The status of the warm process serving `folder` (a workspace's `.canalis/`), or None."""
    return ask(folder, {"control": "status"}, timeout)


def ask(folder: str, message: dict, timeout: float = 5.0) -> dict | None:
    """Send a control message and return the answer, or None when no process answers."""
    if not os.path.exists(os.path.join(folder, wire.SOCKET_NAME)):
        return None
    try:
        sock = wire.connected(folder)
    except OSError:
        return None
    try:
        sock.settimeout(timeout)
        wire.send(sock, message)
        answer, _ = wire.receive(sock)
        return answer
    except (OSError, wire.WireError):
        return None
    finally:
        sock.close()


def log(text: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} [{os.getpid()}] {text}", file=sys.stderr, flush=True)


def preload() -> None:
    """Import what a submit loads, so that a child imports nothing but the pipeline file (tests/canalis/test_warm_submit.py)."""
    from canalis.cli.submitting import EVERY_SUBMIT_LOADS

    for name in (*EVERY_SUBMIT_LOADS, *PRELOAD):
        importlib.import_module(name)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m canalis.warm.server")
    ap.add_argument("folder", help="the workspace's .canalis/ folder")
    ap.add_argument("--idle", type=float, default=3600.0, help="seconds without a connection before it ends (0: never)")
    args = ap.parse_args(argv)
    preload()
    server = Server(args.folder, args.idle)

    def stop(signum, _frame):
        raise Stop(f"signal {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.listen()
    gc.freeze()  # what the imports made lives as long as the process; its children skip it too
    log(f"serving {server.folder} ({len(server.code)} module files, idle limit {args.idle:g} s)")
    try:
        server.serve()
    except Stop as e:
        log(f"ending: {e}")
    finally:
        server.close()
    try:
        server.drain()  # no new submit reaches it now; those it runs still get their exit codes
    except Stop as e:
        log(f"ending without waiting: {e}")


if __name__ == "__main__":
    main()
