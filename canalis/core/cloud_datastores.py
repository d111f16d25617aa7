"""SDK v1's cloud datastore registrations (`register_azure_blob_container`,
`register_azure_file_share`, `register_azure_data_lake_gen2`), offline.

Each registers a local folder under the name: the one given as `local_path` (a mirror of the
container you filled yourself), else `.canalis/datastores/<name>/` in the workspace, made
empty. The cloud names (account, container, share, filesystem) are kept in the workspace's
config so SDK v1 code that prints them still can, and so a read of data that is not in the
folder fails with an offline error naming the folder to fill (`missing_data_hint`). Nothing
is fetched from Azure; credentials given are not stored.
"""
from __future__ import annotations

from pathlib import Path

from canalis.exceptions import UserErrorException

#: SDK v1 datastore_type of each kind canalis records
TYPES = {"azure_blob": "AzureBlob", "azure_file": "AzureFile", "azure_data_lake_gen2": "AzureDataLakeGen2",
         "local": "Local"}


def register(workspace, name: str, kind: str, cloud: dict, local_path=None, overwrite=False):
    """Register datastore `name` as a local folder standing for the cloud container `cloud`
    (`Datastore.register_azure_*` return the Datastore)."""
    from canalis.data import _paths

    _paths.component(name, "datastore name")
    if local_path is not None:
        folder = Path(local_path).expanduser().resolve()
        if not folder.is_dir():
            raise UserErrorException(f"cannot register datastore {name!r}: local_path {folder} is not a folder; "
                                     "create it and copy the container's data into it, or leave local_path out")
    else:
        folder = (workspace._layout.dir / "datastores" / name).resolve()
        folder.mkdir(parents=True, exist_ok=True)
    existing = workspace._config.get("datastores", {}).get(name)
    if existing and Path(existing["path"]).resolve() != folder and not overwrite:
        raise UserErrorException(f"datastore {name!r} is already registered to {existing['path']}; pass overwrite=True "
                                 "to change it")
    workspace.session.register_datastore(name, kind, str(folder))
    kept = {k: v for k, v in cloud.items() if v is not None}
    workspace._update_config(lambda cfg: cfg["datastores"][name].__setitem__("cloud", kept))


def missing_data_hint(workspace, datastore: str, path: str) -> str:
    """For a read that found nothing on a datastore that stands for a cloud container: what to fill."""
    entry = workspace._config.get("datastores", {}).get(datastore, {})
    cloud = entry.get("cloud")
    if not cloud:
        return ""
    what = ", ".join(f"{k} {v!r}" for k, v in cloud.items())
    folder = Path(entry["path"]) / path if path else Path(entry["path"])
    return (f"; datastore {datastore!r} stands for the Azure {TYPES.get(entry.get('type'), entry.get('type'))} "
            f"({what}), which canalis does not reach offline: copy the data into {folder}")
