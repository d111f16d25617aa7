"""`Datastore`: a named local folder that data is read from and written to.

SDK v1 registered cloud containers; canalis registers folders you own
(`Datastore.register_local`). The workspace's own `workspaceblobstore` and
`workspacefilestore` are folders inside `.canalis/datastores/`.
"""
from __future__ import annotations

import os
from pathlib import Path

from canalis.exceptions import NotSupportedOfflineError, UserErrorException


class Datastore:
    def __init__(self, workspace, name=None):
        self.workspace = workspace
        cfg = workspace._config
        name = name or cfg.get("default_datastore", "workspaceblobstore")
        entry = cfg.get("datastores", {}).get(name)
        if entry is None:
            known = ", ".join(sorted(cfg.get("datastores", {})))
            raise UserErrorException(
                f"no datastore named {name!r} in workspace {workspace.name!r} (known: {known}); "
                "register a folder with Datastore.register_local(workspace, name, path)"
            )
        self.name = name
        from canalis.core.cloud_datastores import TYPES

        self.datastore_type = TYPES.get(entry.get("type"), "Local")
        for key, value in entry.get("cloud", {}).items():  # account_name, container_name, ... as SDK v1 code prints them
            setattr(self, key, value)
        path = Path(entry["path"])
        self.root = path if path.is_absolute() else workspace.root / path

    @staticmethod
    def get(workspace, datastore_name):
        return Datastore(workspace, datastore_name)

    @staticmethod
    def get_default(workspace):
        return workspace.get_default_datastore()

    @staticmethod
    def register_local(workspace, datastore_name, path, overwrite=False):
        """Register the folder `path` as datastore `datastore_name`."""
        folder = Path(path).resolve()
        if not folder.is_dir():
            raise UserErrorException(f"cannot register datastore {datastore_name!r}: {folder} is not a folder; create it first")
        existing = workspace._config.get("datastores", {}).get(datastore_name)
        if existing and Path(existing["path"]) != folder and not overwrite:
            raise UserErrorException(
                f"datastore {datastore_name!r} is already registered to {existing['path']}; pass overwrite=True to change it"
            )
        workspace.session.register_datastore(datastore_name, "local", str(folder))
        return Datastore(workspace, datastore_name)

    @staticmethod
    def _cloud(*args, **kwargs):
        raise NotSupportedOfflineError(
            "cloud datastores are not supported offline; copy the data into a folder and use "
            "Datastore.register_local(workspace, name, path)"
        )

    @staticmethod
    def register_azure_blob_container(workspace, datastore_name, container_name, account_name, sas_token=None,
                                      account_key=None, protocol=None, endpoint=None, overwrite=False,
                                      create_if_not_exists=False, skip_validation=False, blob_cache_timeout=None,
                                      grant_workspace_access=False, subscription_id=None, resource_group=None,
                                      local_path=None):
        """A local folder standing for the blob container (canalis/core/cloud_datastores.py):
        `local_path` if given (a mirror you filled), else an empty folder in the workspace."""
        from canalis.core import cloud_datastores

        cloud_datastores.register(workspace, datastore_name, "azure_blob",
                                         {"account_name": account_name, "container_name": container_name},
                                         local_path, overwrite)
        return Datastore(workspace, datastore_name)

    @staticmethod
    def register_azure_file_share(workspace, datastore_name, file_share_name, account_name, sas_token=None,
                                  account_key=None, protocol=None, endpoint=None, overwrite=False,
                                  create_if_not_exists=False, skip_validation=False, local_path=None):
        """A local folder standing for the file share (see register_azure_blob_container)."""
        from canalis.core import cloud_datastores

        cloud_datastores.register(workspace, datastore_name, "azure_file",
                                         {"account_name": account_name, "file_share_name": file_share_name},
                                         local_path, overwrite)
        return Datastore(workspace, datastore_name)

    @staticmethod
    def register_azure_data_lake_gen2(workspace, datastore_name, filesystem, account_name, tenant_id=None,
                                      client_id=None, client_secret=None, resource_url=None, authority_url=None,
                                      protocol=None, endpoint=None, overwrite=False, subscription_id=None,
                                      resource_group=None, grant_workspace_access=False, local_path=None):
        """A local folder standing for the Data Lake Gen2 filesystem (see register_azure_blob_container)."""
        from canalis.core import cloud_datastores

        cloud_datastores.register(workspace, datastore_name, "azure_data_lake_gen2",
                                         {"account_name": account_name, "filesystem": filesystem}, local_path, overwrite)
        return Datastore(workspace, datastore_name)

    register_azure_data_lake = _cloud
    register_azure_sql_database = _cloud
    register_azure_postgre_sql = _cloud
    register_azure_my_sql = _cloud
    register_dbfs = _cloud

    # -- moving data in and out ---------------------------------------------------------
    def _label(self) -> str:
        return f"datastore {self.name!r}"

    def _target(self, target_path) -> str:
        """`target_path` checked to stay inside the datastore, lexically and with links followed."""
        from canalis.data import _paths

        rel = _paths.relative(target_path if target_path is not None else "", "target_path", self._label(),
                              hint="use a relative path inside the datastore, such as 'raw/2024'")
        _paths.resolve_inside(self.root, rel, "target_path", self._label())
        return rel

    def upload_files(self, files, relative_root=None, target_path=None, overwrite=False, show_progress=True):
        """Copy `files` into the datastore under `target_path`; paths are kept relative to `relative_root`.
        Each file is written to a temp file and renamed into place, so nothing is written through
        a symlink, and nothing lands outside the datastore's folder."""
        from canalis.data import _paths

        target = self._target(target_path)
        base = os.path.abspath(relative_root) if relative_root else None
        for f in files:
            src = Path(f)
            if not src.is_file():
                raise UserErrorException(f"cannot upload {src}: not a file")
            if base is None:
                rel = src.name
            else:
                rel = os.path.relpath(os.path.abspath(src), base).replace(os.sep, "/")
                if rel == ".." or rel.startswith("../"):
                    raise UserErrorException(
                        f"cannot upload {src}: it is not inside relative_root {relative_root!r}; "
                        "pass a relative_root that holds every file, or none (files keep only their name)"
                    )
            dest = "/".join(p for p in (target, rel) if p)
            if os.path.lexists(self.root / dest) and not overwrite:
                if show_progress:
                    print(f"skipping {self.name}/{dest} (exists; pass overwrite=True)")
                continue
            _paths.write(self.root, dest, src, f"upload of {str(src)!r}", self._label())
            if show_progress:
                print(f"uploaded {src} -> {self.name}/{dest}")
        return self.path(target or "")

    def upload(self, src_dir, target_path=None, overwrite=False, show_progress=True):
        """Copy the folder `src_dir` into the datastore under `target_path`."""
        src = Path(src_dir)
        if not src.is_dir():
            raise UserErrorException(f"cannot upload {src}: not a folder")
        files = [p for p in sorted(src.rglob("*")) if p.is_file()]
        return self.upload_files(files, relative_root=src, target_path=target_path, overwrite=overwrite, show_progress=show_progress)

    def download(self, target_path, prefix=None, overwrite=False, show_progress=True) -> int:
        """Copy the datastore's files (those under `prefix`, a path inside the datastore) into
        the folder `target_path`, keeping their paths; returns how many files were written.
        The target is yours to name; nothing is written outside it (a symlink already in it is
        replaced, never written through). Existing files are kept unless `overwrite`."""
        from canalis.data import _paths

        prefix = _paths.relative(prefix if prefix is not None else "", "prefix", self._label(),
                                 hint="use a path relative to the datastore's folder, such as 'raw/2024'")
        root = os.path.realpath(self.root)
        start = _paths.resolve_inside(root, prefix, "prefix", self._label()) if prefix else root
        if os.path.isfile(start):
            found = [(prefix, start)]
        else:
            found = []
            for folder, dirs, names in os.walk(start):
                dirs.sort()
                for n in sorted(names):
                    full = os.path.join(folder, n)
                    if os.path.isfile(full):
                        found.append((os.path.relpath(full, root).replace(os.sep, "/"), full))
        target = Path(target_path)
        target.mkdir(parents=True, exist_ok=True)
        count = 0
        for rel, full in found:
            if os.path.lexists(target / rel) and not overwrite:
                if show_progress:
                    print(f"skipping {target / rel} (exists; pass overwrite=True)")
                continue
            _paths.write(target, rel, full, f"file {rel!r} of {self._label()}", f"the download folder {str(target)!r}")
            count += 1
            if show_progress:
                print(f"downloaded {self.name}/{rel} -> {target / rel}")
        return count

    # -- references ------------------------------------------------------------------------
    def path(self, path=None, data_reference_name=None):
        from canalis.data.data_reference import DataReference

        return DataReference(self, data_reference_name=data_reference_name, path_on_datastore=path)

    def as_download(self, path_on_compute=None):
        return self.path("").as_download(path_on_compute)

    def as_mount(self):
        return self.path("").as_mount()

    def __repr__(self):
        return f"Datastore(name={self.name!r}, path={str(self.root)!r})"

