"""The warm process's socket and the messages on it (docs/warm.md, "Protocol").

Every message is a 4-byte big-endian length and that many bytes of a dict in Python's marshal
format (version 4): the warm process and its clients are the same interpreter, and a
connection from another user is closed before anything is read from it. The first message of
a connection is the request, sent with the client's stdin, stdout and stderr as SCM_RIGHTS
file descriptors when it is a submit.

The `canalis` command imports this module before anything else, so it imports only built-in
modules: `_socket` rather than `socket`, marshal rather than json (which cost a few
milliseconds each, a large part of what a handed-over submit costs its client).
"""
from __future__ import annotations

import _socket
import marshal
import os
import sys

#: the socket, in the workspace's `.canalis/`
SOCKET_NAME = "warm.sock"
#: what the process writes its own errors to, beside the socket
LOG_NAME = "warm.log"
#: the protocol's version: a request of another is declined
VERSION = 1
#: AF_UNIX paths longer than this are reached through /proc/self/fd (see `address`)
_MAX_PATH = 100
_HEADER = 4
#: a message larger than this is refused (a request carries the whole environment)
MAX_MESSAGE = 16 << 20
_FD = 4  # bytes of one descriptor in SCM_RIGHTS data


class WireError(Exception):
    """The other end sent something that is not a message, or went away in the middle of one."""


class address:
    """`with address(folder) as path:` a path that reaches `folder/warm.sock` for bind or
    connect: the path itself, or `/proc/self/fd/N/warm.sock` through a descriptor of the folder
    when the path is too long for a unix socket address (108 bytes)."""

    def __init__(self, folder):
        self.folder = os.fspath(folder)
        self._fd = None

    def __enter__(self) -> str:
        path = os.path.join(self.folder, SOCKET_NAME)
        if len(path.encode()) <= _MAX_PATH:
            return path
        self._fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        return f"/proc/self/fd/{self._fd}/{SOCKET_NAME}"

    def __exit__(self, *exc):
        if self._fd is not None:
            os.close(self._fd)


def connected(folder) -> "_socket.socket":
    """A connection to `folder/warm.sock`; OSError when nothing listens there."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        with address(folder) as path:
            sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


def send(sock, message: dict, fds: list[int] | None = None, flags: int = 0) -> None:
    """Send `message` (with `fds`). With flags=MSG_DONTWAIT a message the socket cannot take
    at once raises BlockingIOError instead of waiting (a small message always fits an idle
    connection's buffer)."""
    data = marshal.dumps(message, 4)
    frame = len(data).to_bytes(_HEADER, "big") + data
    if fds:
        rights = b"".join(fd.to_bytes(_FD, sys.byteorder, signed=True) for fd in fds)
        frame = frame[sock.sendmsg([frame], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)], flags):]
    while frame:
        frame = frame[sock.send(frame, flags):]


def receive(sock, with_fds: int = 0) -> tuple[dict | None, list[int]]:
    """The next message (None at end-of-file before one starts) and the descriptors sent with it."""
    fds: list[int] = []
    if with_fds:
        # close-on-exec, as every descriptor Python opens: a process this one starts holds none of them
        data, ancillary, _flags, _addr = sock.recvmsg(_HEADER, _socket.CMSG_LEN(with_fds * _FD),
                                                      _socket.MSG_CMSG_CLOEXEC)
        for level, kind, rights in ancillary:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fds += [int.from_bytes(rights[i:i + _FD], sys.byteorder, signed=True)
                        for i in range(0, len(rights) - len(rights) % _FD, _FD)]
    else:
        data = sock.recv(_HEADER)
    if not data:
        return None, fds
    try:
        data = data + _exactly(sock, _HEADER - len(data))
        length = int.from_bytes(data, "big")
        if length > MAX_MESSAGE:
            raise WireError(f"a message of {length} bytes is larger than the {MAX_MESSAGE} allowed")
        try:
            message = marshal.loads(_exactly(sock, length))
        except (ValueError, EOFError, TypeError) as e:
            raise WireError(f"a message is not in marshal format: {e}") from None
        if not isinstance(message, dict):
            raise WireError("a message is not a dict")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return message, fds


def _exactly(sock, n: int) -> bytes:
    parts = []
    while n > 0:
        part = sock.recv(min(n, 1 << 20))
        if not part:
            raise WireError("the other end closed the connection in the middle of a message")
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


#: environment variables read while Python starts or canalis is imported: a child forked from
#: the warm process has the values the process started with, so a client with others is declined
IMPORT_TIME_ENV = ("PYTHONHASHSEED", "LANG", "LC_ALL", "LC_CTYPE", "CANALIS_INGEST_PROFILE")


def interpreter_facts() -> dict:
    """What a fresh interpreter's start and imports depend on, besides its environment at run
    time: a child of the warm process stands in for a fresh `canalis` process only when the
    client's facts are the warm process's (sys.path[0], the command's own folder, is compared
    apart: see server.py `Server.declined_because`)."""
    return {"executable": os.path.realpath(sys.executable), "prefix": sys.prefix, "version": sys.version, "path": sys.path[1:],
            "flags": list(sys.flags), "xoptions": {str(k): str(v) for k, v in sys._xoptions.items()},
            "warnoptions": list(sys.warnoptions),
            "env": {k: os.environ.get(k) for k in IMPORT_TIME_ENV}}


def exit_work() -> None:
    """What an interpreter does at exit before it tears its objects down: join the non-daemon
    threads, run the atexit handlers. Both ends of a handed-over submit skip the teardown
    (client.exit_now, child._end) and do this first."""
    threading = sys.modules.get("threading")
    if threading is not None and hasattr(threading, "_shutdown"):
        threading._shutdown()
    import atexit

    atexit._run_exitfuncs()


def flush_stdio() -> bool:
    """Flush stdout and stderr; whether both could be (a closed pipe cannot: the interpreter
    then exits with code 120)."""
    flushed = True
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            flushed = False
    return flushed
