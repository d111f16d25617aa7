"""`Workspace`: the folder holding `.canalis/` (config, ledger, store, datastores)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from canalis import layout as _layout
from canalis.permissions import apply_umask, policy_of
from canalis.exceptions import UserErrorException, WorkspaceException
from canalis.errors import WorkspaceError
from canalis.ignored_keywords import warn_cloud

_NOTE_PRINTED = False


class Workspace:
    """A canalis workspace. The arguments of SDK v1 that identify a cloud workspace
    (subscription, resource group, auth, location) are accepted and not used: a canalis
    workspace is its folder. Other cloud arguments (sku, tags, storage_account ...) are named
    in a warning (canalis/ignored_keywords.py)."""

    def __init__(self, subscription_id=None, resource_group=None, workspace_name=None, auth=None, _location=None, path=None, **_cloud):
        from canalis.core import sdk_config

        try:
            self._layout = _layout.at(path) if path else sdk_config.find_layout()
        except WorkspaceError as e:
            raise WorkspaceException(str(e)) from None
        cfg = self._layout.read_config()
        self._identity = {k: v for k, v in (("subscription_id", subscription_id), ("resource_group", resource_group),
                                            ("location", _location)) if v}
        self._auth = auth
        if auth is not None and hasattr(auth, "_workspace_root"):
            auth._workspace_root = self._layout.root  # its header carries this workspace's local token
        apply_umask(policy_of(cfg))  # what this process writes into the workspace follows its permissions
        self.name = cfg["name"]
        if workspace_name and workspace_name != self.name:
            raise WorkspaceException(
                f"the workspace at {self._layout.root} is named {self.name!r}, not {workspace_name!r}"
            )
        self._ledger = None
        self._store = None
        self._session = None
        self._lock = threading.Lock()
        warn_cloud("Workspace", _cloud)

    # -- SDK constructors -----------------------------------------------------------
    @classmethod
    def from_config(cls, path=None, auth=None, _logger=None, _file_name=None):
        """The workspace at or above `path` (a folder or a config file; default: the current folder):
        the nearest `.canalis/`, or the nearest SDK v1 `config.json` (also `.azureml/config.json`,
        `aml_config/config.json`; `_file_name` another name), mapped onto the canalis workspace in
        its folder, made on first use and named after its `workspace_name` (canalis/core/sdk_config.py)."""
        from canalis.core import sdk_config

        if path is None and os.environ.get("CANALIS_WORKSPACE"):
            return cls(path=os.environ["CANALIS_WORKSPACE"], auth=auth)
        start = Path(path) if path else None
        if start is not None and start.is_file() and start.parent.name == _layout.DIRNAME:
            start = start.parent  # .canalis/config.json itself
        try:
            lay = sdk_config.find_layout(start, _file_name)
        except WorkspaceError as e:
            raise UserErrorException(str(e)) from None
        return cls(path=lay.root, auth=auth)

    @classmethod
    def create(cls, name, auth=None, subscription_id=None, resource_group=None, location=None, exist_ok=False, path=None,
               show_output=False, shared_group=None, **_cloud):
        """Create a workspace named `name` in `path` (default: the current folder). Its
        `.canalis/` is readable by the owner only, or by `shared_group` (canalis: folders
        2770, files 0660; see docs/secrets.md)."""
        warn_cloud("Workspace.create", _cloud)
        root = Path(path) if path else Path.cwd()
        try:
            lay = _layout.init(root, name=name, exist_ok=exist_ok, shared_group=shared_group)
        except WorkspaceError as e:
            raise WorkspaceException(f"{e}; pass exist_ok=True to use it") from None
        return cls(path=lay.root)

    @classmethod
    def get(cls, name, auth=None, subscription_id=None, resource_group=None, location=None, path=None, **_cloud):
        from canalis.core import sdk_config

        warn_cloud("Workspace.get", _cloud)
        return cls(subscription_id, resource_group, workspace_name=name, auth=auth, _location=location,
                   path=path or sdk_config.find_layout().root)

    def write_config(self, path=None, file_name=None):
        """SDK v1 wrote .azureml/config.json; a canalis workspace already is its config."""
        return str(self._layout.config_path)

    # -- the parts ----------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self._layout.root

    @property
    def ledger(self):
        with self._lock:
            if self._ledger is None:
                self._ledger = self._layout.open_ledger()
            return self._ledger

    @property
    def store(self):
        with self._lock:
            if self._store is None:
                self._store = self._layout.open_store()
            return self._store

    @property
    def session(self):
        """The application core (executor/session.py) every verb of this workspace goes through."""
        store, ledger = self.store, self.ledger
        with self._lock:
            if self._session is None:
                # the keyvault is read only when a step reads a secret
                self._session = self._layout.open_session(store, ledger,
                                                          lambda names: self.get_default_keyvault().values_of(names))
            return self._session

    @property
    def _config(self) -> dict:
        return self._layout.read_config()

    def _update_config(self, change) -> None:
        """Apply `change(cfg)` to the workspace config and write it."""
        cfg = self._layout.read_config()
        change(cfg)
        self._layout.write_config(cfg)

    @property
    def settings(self) -> dict:
        return self._layout.read_config().get("settings", {})

    # -- SDK properties ------------------------------------------------------------------
    def _cloud_value(self, key: str) -> str:
        """An identity value SDK v1 code reads: given to the constructor, else from the SDK v1
        config the workspace was made for, else canalis's documented local default."""
        from canalis.core.sdk_config import KEY, LOCAL_IDENTITY

        return self._identity.get(key) or self._config.get(KEY, {}).get(key) or LOCAL_IDENTITY[key]

    @property
    def subscription_id(self) -> str:
        return self._cloud_value("subscription_id")

    @property
    def resource_group(self) -> str:
        return self._cloud_value("resource_group")

    @property
    def location(self) -> str:
        return self._cloud_value("location")


    def get_default_keyvault(self):
        """The workspace's secrets (`Keyvault`), kept in `.canalis/secrets.json` (docs/secrets.md)."""
        from canalis.core.keyvault import Keyvault, SecretFile

        return Keyvault(self, SecretFile(self._layout))

    def get_default_datastore(self):
        from canalis.core.datastore import Datastore

        return Datastore(self, self._layout.read_config().get("default_datastore", "workspaceblobstore"))

    def set_default_datastore(self, name):
        cfg = self._layout.read_config()
        if name not in cfg.get("datastores", {}):
            raise UserErrorException(f"no datastore named {name!r}; register it with Datastore.register_local first")
        cfg["default_datastore"] = name
        self._layout.write_config(cfg)

    @property
    def datastores(self) -> dict:
        from canalis.core.datastore import Datastore

        return {name: Datastore(self, name) for name in sorted(self._layout.read_config().get("datastores", {}))}

    @property
    def datasets(self) -> dict:
        from canalis.core.dataset import Dataset

        return Dataset.get_all(self)

    @property
    def experiments(self) -> dict:
        from canalis.core.experiment import Experiment

        return {e.name: Experiment(self, e.name) for e in self.ledger.experiments()}

    @property
    def compute_targets(self) -> dict:
        from canalis.core.compute import compute_targets

        return compute_targets(self)

    @property
    def environments(self) -> dict:
        from canalis.core.environment import Environment

        return Environment.list(self)

    @property
    def models(self) -> dict:
        from canalis.core.model import Model

        return {m.name: Model(self, m.name) for m in self.ledger.models()}

    def get_details(self) -> dict:
        cfg = self._layout.read_config()
        return {"name": self.name, "root": str(self.root), "datastores": sorted(cfg.get("datastores", {})),
                "subscriptionId": self.subscription_id, "resourceGroup": self.resource_group,
                "location": self.location}

    def __repr__(self):
        return f"Workspace.create(name={self.name!r}, path={str(self.root)!r})"

    def __eq__(self, other):
        return isinstance(other, Workspace) and other.root == self.root

    def __hash__(self):
        return hash(self.root)
