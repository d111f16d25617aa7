"""canalis's own modules for steps that run in another interpreter.

A step in a materialised environment (a virtual environment, a Docker image) still calls
`Run.get_context()`: it needs the `canalis` package, but the environment holds only its
own packages. The executor therefore puts a copy of canalis's Python modules, laid out as
an installed `canalis` package, on the step's `PYTHONPATH`:

    .canalis/envs/runtime/<key>/python/canalis/...   the modules (pure Python, any interpreter)
    .canalis/envs/runtime/<key>/native/blake3, zstandard
                                                    links to this interpreter's builds of the
                                                    two packages the store needs (virtual
                                                    environments only: same interpreter)

`key` is the BLAKE3 of the copied files (paths and bytes), so a new canalis gets a new copy
and an unchanged one is copied once. Nothing else of the host's packages is visible.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
from pathlib import Path

from canalis.executor.ids import random_hex

#: the packages of the canalis distribution and where they sit inside `canalis`
PACKAGES = ("canalis", "canalis.store", "canalis.ledger", "canalis.executor")
#: compiled packages canalis's store uses in a step (uploading files, registering models)
NATIVE = ("blake3", "zstandard")
_MARKER = "canalis-runtime.json"
_made: dict[str, Path] = {}


def _sources() -> list[tuple[str, Path]]:
    """(path inside the copy, file) for each module of canalis, whatever its install layout
    (an installed package nests store/ledger/executor; an editable one maps them elsewhere)."""
    roots = {name: Path(importlib.import_module(name).__path__[0]).resolve() for name in PACKAGES}
    others = set(roots.values())
    found = []
    for name, root in roots.items():
        prefix = name.replace(".", "/")
        for folder, dirs, files in os.walk(root):
            here = Path(folder)
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and (here / d).resolve() not in others)
            for f in sorted(files):
                if f.endswith(".py"):
                    found.append((f"{prefix}/{(here / f).relative_to(root).as_posix()}", here / f))
    return sorted(found)


def runtime_dir(envs_dir: Path) -> Path:
    """The folder of canalis's runtime for steps in materialised environments (made once per
    canalis version, atomically: a folder renamed into place)."""
    import blake3

    key_of = blake3.blake3()
    files = _sources()
    for rel, path in files:
        key_of.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    key = key_of.hexdigest()[:32]
    target = Path(envs_dir) / "runtime" / key
    if (target / _MARKER).exists():
        return target
    tmp = target.parent / f".tmp-{random_hex(32)}"
    try:
        for rel, path in files:
            dest = tmp / "python" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        (tmp / "native").mkdir()
        for name in NATIVE:
            origin = native_package(name)
            if origin is not None:
                os.symlink(origin, tmp / "native" / origin.name)
        (tmp / _MARKER).write_text('{"key": "%s"}\n' % key)
        try:
            os.rename(tmp, target)
        except OSError:  # another step made it first
            if not (target / _MARKER).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def native_package(name: str) -> Path | None:
    """The folder (or single-file module) of this interpreter's build of `name`, or None."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.submodule_search_locations[0]) if spec.submodule_search_locations else Path(spec.origin)
