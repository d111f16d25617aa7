"""SDK v1 workspace configs (`config.json` with subscription_id, resource_group, workspace_name)
mapped onto local workspaces.

`Workspace.from_config()` in SDK v1 searched the current folder and its parents for
`config.json`, `.azureml/config.json` or `aml_config/config.json`. canalis searches the same
places, nearest folder first, together with `.canalis/`: a canalis workspace found first is
used; an SDK v1 config found first is mapped onto the canalis workspace in the folder that
holds it (the folder of `config.json`, or the one above `.azureml/`), which is created, named
after `workspace_name`, the first time. The cloud identity (subscription, resource group,
location) is kept in the workspace's config, where `Workspace.subscription_id` and friends
read it. Nothing is sent anywhere.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from canalis import layout as _layout
from canalis.errors import WorkspaceError
from canalis.executor.records import record  # a dataclass that compiles no methods

#: where SDK v1 looked for its config, in order, in each folder
PLACES = ("config.json", ".azureml/config.json", "aml_config/config.json")
#: what a workspace reports when no SDK v1 config named them (docs/migrating-from-sdk-v1.md)
LOCAL_IDENTITY = {"subscription_id": "00000000-0000-0000-0000-000000000000", "resource_group": "canalis-local",
                  "location": "local"}
KEY = "azureml"  # where the workspace's config.json keeps the identity


@record
class SdkConfig:
    """An SDK v1 config file read: where it is, the workspace it names, its cloud identity."""

    path: Path
    workspace_name: str
    identity: dict

    @property
    def root(self) -> Path:
        """The folder whose `.canalis/` is the local workspace for this config."""
        parent = self.path.parent
        return parent.parent if parent.name in (".azureml", "aml_config") else parent


def read(path: Path) -> SdkConfig | None:
    """The SDK v1 config in `path`, or None when the file is not one (another program's config.json)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    name = data.get("workspace_name") or data.get("Workspace name")
    if not isinstance(name, str) or not name:
        return None
    identity = {k: data.get(k) or data.get(alt) for k, alt in (("subscription_id", "Subscription ID"),
                                                               ("resource_group", "Resource Group"),
                                                               ("location", "Location"))}
    return SdkConfig(path.resolve(), name, {k: v for k, v in identity.items() if v})


def discover(start=None, file_name=None):
    """The nearest canalis workspace (a `Layout`) or SDK v1 config (an `SdkConfig`) at or above
    `start` (a folder, or a config file itself)."""
    here = Path(start or os.getcwd()).expanduser()
    if here.is_file():
        cfg = read(here)
        if cfg is None:
            raise WorkspaceError(f"{here} is not an Azure ML workspace config (it names no workspace_name)")
        return cfg
    here = here.resolve()
    places = (file_name, f".azureml/{file_name}", f"aml_config/{file_name}") if file_name else PLACES
    for folder in (here, *here.parents):
        if (folder / _layout.DIRNAME / "config.json").is_file():
            return _layout.Layout(folder)
        for place in places:
            if (folder / place).is_file():
                cfg = read(folder / place)
                if cfg is not None:
                    return cfg
    raise WorkspaceError(f"no canalis workspace and no Azure ML config.json at or above {here}; run `canalis init` "
                         "there, or put the workspace's config.json (subscription_id, resource_group, workspace_name) "
                         "there, or pass --workspace DIR")


def local_workspace(cfg: SdkConfig) -> _layout.Layout:
    """The canalis workspace an SDK v1 config maps onto, created on first use (with a note)."""
    lay = _layout.Layout(cfg.root)
    if lay.config_path.is_file():
        name = lay.read_config().get("name")
        if name != cfg.workspace_name:
            raise WorkspaceError(
                f"{cfg.path} names workspace {cfg.workspace_name!r}, but the canalis workspace in {cfg.root} is named "
                f"{name!r}; change workspace_name in {cfg.path.name} or use another folder")
        return lay
    lay = _layout.init(cfg.root, name=cfg.workspace_name, exist_ok=True)
    config = lay.read_config()
    config[KEY] = dict(cfg.identity)
    lay.write_config(config)
    print(f"canalis: created workspace {cfg.workspace_name!r} in {lay.dir} for the Azure ML config {cfg.path}; "
          "runs, data and models stay in that folder", file=sys.stderr, flush=True)
    return lay


def find_layout(start=None, file_name=None) -> _layout.Layout:
    found = discover(start, file_name)
    return found if isinstance(found, _layout.Layout) else local_workspace(found)
