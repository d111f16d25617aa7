"""The checks the SDK classes apply to paths and names a user gives them.

They are the executor's checks (`canalis.executor.paths`), raising `UnsafePathError` (a
`UserErrorException`) so that a script sees the SDK's error type. Each is applied when the
object is made; the executor checks again where the path is used.
"""
from __future__ import annotations

from canalis.exceptions import UnsafePathError
from canalis.executor import paths as _p


def input_name(value, what: str = "input name") -> str:
    """A step input's name: a plain folder name in the step's working folder."""
    return _p.check_name(value, what, error=UnsafePathError)


safe_name = _p.safe_name


def datastore_path(value, datastore_name: str, what: str = "path_on_datastore") -> str:
    """A path inside a datastore, checked lexically (reading may follow a symlink the datastore
    holds; writing never does). Returned as given (as text), '' for None."""
    if value is None:
        return ""
    _p.check_relative(value, what, f"datastore {datastore_name!r}", error=UnsafePathError,
                      hint="use a path relative to the datastore's folder, such as 'data/train'")
    return str(value)


def path_on_compute(value):
    """`path_on_compute` as the SDK took it. canalis places every input inside the step's
    working folder and passes its path as the argument, so the value is only checked."""
    if value is None:
        return None
    return _p.check_relative(value, "path_on_compute", "the step's working folder", error=UnsafePathError,
                             hint="pass a relative path, or leave path_on_compute out: canalis gives the step the "
                                  "input's folder as its argument")


def relative(value, what: str, root_label: str, hint: str = "") -> str:
    return _p.check_relative(value, what, root_label, error=UnsafePathError, hint=hint)


def write(root, rel: str, source, what: str, root_label: str, *, overwrite: bool = True, mode=None) -> str:
    return _p.write_inside(root, rel, source, what, root_label, overwrite=overwrite, mode=mode, error=UnsafePathError)


def resolve_inside(root, rel: str, what: str, root_label: str) -> str:
    return _p.resolve_inside(root, rel, what, root_label, error=UnsafePathError)


def component(value, what: str) -> str:
    return _p.check_component(value, what, error=UnsafePathError)
