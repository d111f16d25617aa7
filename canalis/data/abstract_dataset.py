"""What File and Tabular datasets share: sources, content (a tree in the store), registration.

An unregistered dataset reads its files when it is used (so a file changed in place is
seen); a registered version is fixed by its tree digest and can never change.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import blake3

from canalis.data import _paths, _sources
from canalis.data.dataset_consumption_config import DatasetConsumptionConfig
from canalis.exceptions import UserErrorException


class AbstractDataset:
    kind = "file"

    def __init__(self, workspace=None, sources=None, tree=None, registration=None, options=None, local_root=None):
        self._workspace = workspace
        self._sources = list(sources or [])
        self._tree = tree
        self._registration = registration  # {"name", "version", "id", "description", "tags"}
        self._options = dict(options or {})
        self._local_root = local_root  # a checked-out folder inside a step

    # -- identity ------------------------------------------------------------------------
    @property
    def name(self):
        return self._registration["name"] if self._registration else None

    @property
    def version(self):
        return self._registration["version"] if self._registration else None

    @property
    def id(self):
        return self._registration["id"] if self._registration else None

    @property
    def description(self):
        return self._registration.get("description") if self._registration else None

    @property
    def tags(self):
        return dict(self._registration.get("tags") or {}) if self._registration else {}

    def _default_input_name(self) -> str:
        if self.name:
            return _paths.safe_name(self.name)  # a folder name in the step's working folder
        ident = json.dumps({"s": self._sources, "t": self._tree, "o": self._options}, sort_keys=True)
        return "input_" + blake3.blake3(ident.encode()).hexdigest()[:8]

    def _copy(self, **changes):
        args = dict(workspace=self._workspace, sources=self._sources, tree=self._tree, registration=self._registration,
                    options=self._options, local_root=self._local_root)
        args.update(changes)
        return type(self)(**args)

    # -- content -------------------------------------------------------------------------
    def _files(self) -> dict[str, Path]:
        """Current files (relative path -> file on disk), for unregistered datasets."""
        if self._local_root is not None:
            root = Path(self._local_root)
            return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}
        return _sources.resolve(self._workspace, self._sources)

    def _snapshot(self, store) -> str:
        """The dataset's tree digest, storing the files' current bytes if needed."""
        if self._tree is not None:
            return self._tree
        return store.put_files(self._files()).tree

    def _open_files(self):
        """[(relative path, binary file object)] in path order."""
        if self._tree is not None:
            store = self._workspace.store
            return [(e.path, store.open(e.digest)) for e in store.get_tree(self._tree) if e.type == "file"]
        return [(rel, open(p, "rb")) for rel, p in sorted(self._files().items())]

    def to_path(self) -> list[str]:
        if self._tree is not None:
            return ["/" + e.path for e in self._workspace.store.get_tree(self._tree)]
        return ["/" + rel for rel in sorted(self._files())]

    def download(self, target_path=None, overwrite=False, ignore_not_found=False):
        """Write the dataset's files under `target_path` (a folder you name, made if missing).
        Nothing is written outside it: a symlink already there is replaced, never written through."""
        target = Path(target_path) if target_path else Path(tempfile.mkdtemp(prefix="canalis-dataset-"))
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for rel, f in self._open_files():
            with f:
                written.append(_paths.write(target, rel, f, f"dataset file {rel!r}", f"the download folder {str(target)!r}",
                                            overwrite=overwrite))
        return written

    # -- registration ----------------------------------------------------------------------
    def register(self, workspace, name, description=None, tags=None, create_new_version=False):
        """Snapshot the data into the store and record it as a version of `name`. A registered
        version made from datastore paths keeps its bytes, except with `create_new_version=True`:
        then the files at its paths are read again (a new version when they changed)."""
        from canalis.executor.errors import DatasetVersionError
        from canalis.executor.registry import Lineage

        content = self._snapshot
        if create_new_version and self._registration and self._sources and self._local_root is None:
            content = self._copy(tree=None, registration=None)._snapshot  # what its paths hold now
        try:
            row = workspace.session.register(
                "dataset", name, content, lineage=Lineage(sources=tuple(self._sources)),
                description=description, tags=tags, create_new_version=create_new_version,
                kind=self.kind, options=self._options,
            )
        except DatasetVersionError as e:
            raise UserErrorException(str(e)) from None
        return type(self)._of_row(workspace, row)

    @classmethod
    def _of_row(cls, workspace, row):
        """A registered version (a `datasets` projection row) as a dataset of this class; the
        factory that picks the class by the row's kind is `canalis.core.dataset.registered`."""
        reg = {"name": row.name, "version": row.version, "description": row.description, "tags": row.tags, "id": row.id}
        return cls(workspace=workspace, sources=(row.lineage or {}).get("sources", []), tree=row.digest,
                   registration=reg, options=row.options or {})

    # -- consumption ---------------------------------------------------------------------------
    def as_named_input(self, name):
        return DatasetConsumptionConfig(name, self)

    def as_download(self, path_on_compute=None):
        return DatasetConsumptionConfig(self._default_input_name(), self, "download", path_on_compute)

    def as_mount(self, path_on_compute=None):
        return DatasetConsumptionConfig(self._default_input_name(), self, "mount", path_on_compute)

    def __repr__(self):
        what = f"name={self.name!r}, version={self.version}" if self._registration else f"sources={self._sources}"
        return f"{type(self).__name__}({what})"
