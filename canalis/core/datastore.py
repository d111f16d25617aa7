"""`Datastore`: a named local folder that data is read from and written to.

SDK v1 registered cloud containers; canalis registers folders you own
(`Datastore.register_local`). The workspace's own `workspaceblobstore` and
`workspacefilestore` are folders inside `.canalis/datastores/`.
"""
from __future__ import annotations

import os
import shutil
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
        self.datastore_type = "Local"
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

    register_azure_blob_container = _cloud
    register_azure_file_share = _cloud
    register_azure_data_lake = _cloud
    register_azure_data_lake_gen2 = _cloud
    register_azure_sql_database = _cloud
    register_azure_postgre_sql = _cloud
    register_azure_my_sql = _cloud
    register_dbfs = _cloud

    # -- moving data in -----------------------------------------------------------------
    def _target(self, target_path) -> Path:
        target = (self.root / (target_path or "")).resolve()
        if target != self.root.resolve() and self.root.resolve() not in target.parents:
            raise UserErrorException(f"target_path {target_path!r} leaves datastore {self.name!r}; use a relative path inside it")
        return target

    def upload_files(self, files, relative_root=None, target_path=None, overwrite=False, show_progress=True):
        """Copy `files` into the datastore under `target_path`; paths are kept relative to `relative_root`."""
        target = self._target(target_path)
        copied = []
        for f in files:
            src = Path(f)
            if not src.is_file():
                raise UserErrorException(f"cannot upload {src}: not a file")
            rel = src.resolve().relative_to(Path(relative_root).resolve()) if relative_root else Path(src.name)
            dst = target / rel
            if dst.exists() and not overwrite:
                if show_progress:
                    print(f"skipping {dst} (exists; pass overwrite=True)")
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            _copy_atomic(src, dst)
            copied.append(str(dst))
            if show_progress:
                print(f"uploaded {src} -> {self.name}/{dst.relative_to(self.root)}")
        return self.path(target_path or "")

    def upload(self, src_dir, target_path=None, overwrite=False, show_progress=True):
        """Copy the folder `src_dir` into the datastore under `target_path`."""
        src = Path(src_dir)
        if not src.is_dir():
            raise UserErrorException(f"cannot upload {src}: not a folder")
        files = [p for p in sorted(src.rglob("*")) if p.is_file()]
        return self.upload_files(files, relative_root=src, target_path=target_path, overwrite=overwrite, show_progress=show_progress)

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


def _copy_atomic(src: Path, dst: Path) -> None:
    tmp = dst.parent / f".{dst.name}.canalis-upload-{os.getpid()}"
    shutil.copy2(src, tmp)
    os.replace(tmp, dst)
