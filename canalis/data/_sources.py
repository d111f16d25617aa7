"""Where dataset files come from: datastore paths, globs and local paths, turned into
a {relative path in the dataset: file on disk} mapping at the moment of use."""
from __future__ import annotations

import os
import re
from pathlib import Path

from canalis.data import _paths
from canalis.exceptions import NotSupportedOfflineError, UserErrorException

_GLOB = set("*?[")
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+)://")


def refuse_url(item: str, what: str = "dataset path") -> None:
    """A URL (https://, s3://, wasbs://, azureml:// ...) cannot be read offline: say so at
    once, naming the local ways to give the same data."""
    m = _URL.match(item)
    if m and m.group("scheme").lower() != "file":
        raise NotSupportedOfflineError(
            f"{what} {item!r} is a URL, and canalis works offline: it reads no data over the network. "
            "Download the file(s) first and pass the local path, or upload them to a datastore "
            "(`Datastore.upload(src_dir=..., target_path=...)`) and pass (datastore, 'path'), or register "
            "them once as a dataset (`Dataset.File.from_files(local_path).register(ws, name)`) and use "
            "`Dataset.get_by_name(ws, name)`")


def normalise(workspace, path) -> list[dict]:
    """Source descriptors for the `path` argument of the SDK's from_files / from_*_files."""
    items = path if isinstance(path, list) else [path]
    out = []
    for item in items:
        if isinstance(item, tuple):
            store, rel = item
            out.append({"datastore": store.name, "path": _paths.datastore_path(rel, store.name, "dataset path")})
        elif hasattr(item, "datastore") and hasattr(item, "path_on_datastore"):
            out.append({"datastore": item.datastore.name,
                        "path": _paths.datastore_path(item.path_on_datastore, item.datastore.name, "dataset path")})
        elif isinstance(item, (str, os.PathLike)):
            if isinstance(item, str):
                refuse_url(item)
                item = item[len("file://"):] if item.lower().startswith("file://") else item
            out.append({"local": str(Path(item).expanduser().absolute())})
        else:
            raise UserErrorException(
                f"cannot read a dataset path from {item!r}; pass a (datastore, 'path') tuple, a DataPath, or a local path"
            )
    return out


def _base_and_matches(pattern: str) -> tuple[Path, list[Path]]:
    parts = Path(pattern).parts
    fixed = []
    for p in parts:
        if set(p) & _GLOB:
            break
        fixed.append(p)
    if len(fixed) == len(parts):  # no glob
        p = Path(pattern)
        if p.is_dir():
            return p, sorted(x for x in p.rglob("*") if x.is_file() or x.is_symlink())
        if p.is_file():
            return p.parent, [p]
        return p.parent, []
    base = Path(*fixed) if fixed else Path(".")
    matches = []
    import glob  # a source with a wildcard (a pipeline of plain paths needs none)

    for m in sorted(glob.glob(pattern, recursive=True)):
        mp = Path(m)
        if mp.is_dir():
            matches.extend(sorted(x for x in mp.rglob("*") if x.is_file()))
        elif mp.is_file():
            matches.append(mp)
    return base, matches


def resolve(workspace, sources: list[dict]) -> dict[str, Path]:
    """Files of `sources` now, keyed by their path relative to each pattern's fixed part."""
    from canalis.core.datastore import Datastore

    mapping: dict[str, Path] = {}
    for src in sources:
        if "datastore" in src:
            if workspace is None:
                raise UserErrorException(f"dataset path on datastore {src['datastore']!r} needs a workspace; pass (datastore, path)")
            root = Datastore(workspace, src["datastore"]).root
            _paths.datastore_path(src["path"], src["datastore"], "dataset path")  # also for sources read back from the ledger
            pattern = str(root / src["path"]) if src["path"] else str(root)
            label = f"{src['datastore']}/{src['path']}"
        else:
            pattern, label = src["local"], src["local"]
        base, files = _base_and_matches(pattern)
        if not files:
            from canalis.core.cloud_datastores import missing_data_hint

            hint = missing_data_hint(workspace, src["datastore"], src["path"]) if "datastore" in src else ""
            raise UserErrorException(
                f"dataset path {label!r} matches no file{hint or '; check the path and that the data was uploaded'}"
            )
        for f in files:
            rel = f.relative_to(base).as_posix() if f != base else f.name
            if rel in mapping and mapping[rel] != f:
                raise UserErrorException(
                    f"two dataset files would both appear as {rel!r} ({mapping[rel]} and {f}); use paths that do not collide"
                )
            mapping[rel] = f
    return mapping


def single_file(workspace, sources: list[dict]) -> str | None:
    """When `sources` name exactly one file (one path, no glob, that is a file now): its name in
    the dataset's tree, which is how a step gets it as a file path rather than a folder."""
    from canalis.core.datastore import Datastore

    if len(sources) != 1:
        return None
    src = sources[0]
    if "datastore" in src:
        if workspace is None or not src["path"] or set(src["path"]) & _GLOB:
            return None
        path = Datastore(workspace, src["datastore"]).root / src["path"]
    else:
        if set(src["local"]) & _GLOB:
            return None
        path = Path(src["local"])
    return path.name if path.is_file() else None
