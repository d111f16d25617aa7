"""Paths and names that come from users, checked when given and resolved again when used.

The rule: nothing is written outside the root the user named. A name (an input or output
name, which becomes one folder of a step's working folder) is one plain path component. A
relative path (a datastore path, an output destination, an artifact name) is checked
lexically when it is given: no NUL, not absolute, and no `..` that climbs out of its root.
When something is written, the path is resolved again with symlinks followed, so a symlink
inside a datastore that points elsewhere is never written through; files are replaced
(a temp file renamed over them), never opened through a link that is already there.

Every check raises `PathEscapeError` (or the `error` class a caller passes, so the face can
raise its own user error) naming the value, why it is refused, and what to do.
"""
from __future__ import annotations

import os
import posixpath

from canalis.executor.errors import PathEscapeError
from canalis.executor.ids import random_hex

#: what a step's input or output name may hold (it becomes a folder name in the step's working folder)
NAME_CHARS = "letters, digits, '_', '-' and '.'"
_MAX_NAME_BYTES = 255


def describe(value) -> str:
    """A value as it can be printed: surrogate-escaped bytes appear as `\\xff`, NUL as `\\x00`."""
    if isinstance(value, bytes):
        return repr(value)
    text = os.fspath(value) if isinstance(value, os.PathLike) else value
    if isinstance(text, str):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return repr(os.fsencode(text).decode("utf-8", "backslashreplace"))
    return repr(text)


def _text(value, what: str, error) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        raise error(f"{what} {describe(value)} is bytes; pass it as text (a str)")
    if not isinstance(value, str):
        raise error(f"{what} {value!r} is not a path; pass a string")
    if "\0" in value:
        raise error(f"{what} {describe(value)} holds a NUL byte, which no file name can hold; remove it")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"{what} {describe(value)} is not valid UTF-8 text; rename it to UTF-8") from None
    return value


def check_name(value, what: str, *, error=PathEscapeError) -> str:
    """One plain name: letters, digits, `_`, `-`, `.`; not `.` or `..`; at most 255 bytes."""
    text = _text(value, what, error)
    if not text or text in (".", "..") or any(not (c.isalnum() or c in "_-.") for c in text):
        raise error(f"{what} {describe(value)} may hold only {NAME_CHARS} (and is not '.' or '..'); "
                    "it names a folder in the step's working folder, so pick a plain name such as 'prepared_data'")
    if len(text.encode("utf-8")) > _MAX_NAME_BYTES:
        raise error(f"{what} {describe(value)} is longer than {_MAX_NAME_BYTES} bytes; pick a shorter name")
    return text


def check_component(value, what: str, *, error=PathEscapeError) -> str:
    """A name read back from a plan or the ledger: one path component (no `/`, not `.`/`..`)."""
    text = _text(value, what, error)
    if not text or text in (".", "..") or "/" in text or len(text.encode("utf-8")) > _MAX_NAME_BYTES:
        raise error(f"{what} {describe(value)} is not a single folder name; use a plain name such as 'prepared_data'")
    return text


def safe_name(text: str) -> str:
    """`text` made into a name `check_name` accepts (other characters become '_')."""
    out = "".join(c if (c.isalnum() or c in "_-.") else "_" for c in text) or "_"
    return "_" + out if out in (".", "..") else out


def check_relative(value, what: str, root_label: str, *, error=PathEscapeError, hint: str = "") -> str:
    """A path relative to a root (`root_label` says which, for the message) that stays inside it
    lexically. Returns it normalised, POSIX style, '' for the root itself."""
    text = _text(value, what, error)
    todo = hint or "use a relative path inside it"
    if text.startswith("/") or os.path.isabs(text):
        raise error(f"{what} {describe(value)} leaves {root_label} (it is an absolute path); {todo}")
    norm = posixpath.normpath(text.replace(os.sep, "/")) if text else ""
    if norm == ".." or norm.startswith("../"):
        raise error(f"{what} {describe(value)} leaves {root_label} (it climbs out with '..'); {todo}")
    return "" if norm == "." else norm


def inside(root_real: str, path: str) -> bool:
    """Is `path` (already resolved) `root_real` or below it?"""
    return path == root_real or path.startswith(root_real.rstrip(os.sep) + os.sep)


def resolve_inside(root, rel: str, what: str, root_label: str, *, error=PathEscapeError) -> str:
    """`root/rel` with every symlink followed; refused unless it stays inside `root` (resolved too)."""
    root_real = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root_real, rel)) if rel else root_real
    if not inside(root_real, target):
        raise error(f"{what} {describe(rel)} leaves {root_label} ({root_real}): through a symlink it resolves to "
                    f"{target}; canalis does not write through links that leave the folder. Remove or replace the link")
    return target


def make_dirs_inside(root_real: str, rel_dir: str, what: str, root_label: str, *, error=PathEscapeError) -> str:
    """Create the folders of `rel_dir` under `root_real` one by one; a component that is a
    symlink leading outside, or a file, is refused before anything is created below it."""
    current = root_real
    for part in [p for p in rel_dir.split("/") if p]:
        nxt = os.path.join(current, part)
        if os.path.lexists(nxt):
            real = os.path.realpath(nxt)
            if not inside(root_real, real):
                raise error(f"{what} leaves {root_label} ({root_real}): {nxt} is a symlink to {real}; canalis does "
                            "not write through links that leave the folder. Remove or replace the link")
            if not os.path.isdir(real):
                raise error(f"{what}: {nxt} exists and is not a folder; remove it or pick another path")
            current = real
        else:
            try:
                os.mkdir(nxt)
            except FileExistsError:  # made meanwhile by another process: check it as above
                return make_dirs_inside(root_real, rel_dir, what, root_label, error=error)
            current = nxt
    return current


def write_inside(root, rel: str, source, what: str, root_label: str, *, overwrite: bool = True,
                 mode: int | None = None, error=PathEscapeError) -> str:
    """Write the bytes of `source` (a path, or a binary file object) to `root/rel`. The folders
    are made inside `root`; the file is written to a temp file beside it and renamed over the
    destination, so a symlink already at the destination is replaced, never written through."""
    rel = check_relative(rel, what, root_label, error=error)
    if not rel:
        raise error(f"{what}: the destination is {root_label} itself, not a file in it; name a file")
    root_real = os.path.realpath(root)
    parent = make_dirs_inside(root_real, posixpath.dirname(rel), what, root_label, error=error)
    dst = os.path.join(parent, posixpath.basename(rel))
    if os.path.lexists(dst):
        if not overwrite:
            raise error(f"{dst} exists; pass overwrite=True to replace it")
        if os.path.isdir(dst) and not os.path.islink(dst):
            raise error(f"{what}: {dst} is a folder; remove it or pick another path")
    tmp = os.path.join(parent, f".{posixpath.basename(rel)}.canalis-{random_hex(12)}")
    import shutil  # loaded by what writes a file, not by everything that names a path

    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as out:
            if isinstance(source, (str, os.PathLike)):
                with open(source, "rb") as src:
                    shutil.copyfileobj(src, out, 4 << 20)
                if mode is None:
                    mode = os.stat(source).st_mode & 0o777
            else:
                shutil.copyfileobj(source, out, 4 << 20)
            if mode is not None:
                os.fchmod(out.fileno(), mode)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return dst


def expand_destination(path: str, step_run_id: str, output_name: str) -> str:
    """A destination path with `{run-id}` and `{output-name}` filled in."""
    return path.replace("{run-id}", step_run_id).replace("{output-name}", output_name)
