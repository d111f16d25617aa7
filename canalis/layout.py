"""The workspace on disk: where `.canalis/` lives and what it holds.

This module knows paths and the config file, nothing more. Opening the store and
the ledger goes through here so that every entry point (SDK, CLI, server) checks the
format versions the same way, and so that the `canalis` command and a run's executor process
close what they opened before they exit (canalis/opened.py).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from canalis.errors import WorkspaceError
from canalis.executor.records import record  # a dataclass that compiles no methods
from canalis.opened import keep
from canalis.permissions import SETTING as PERMISSIONS
from canalis.permissions import policy_of

DIRNAME = ".canalis"
CONFIG_VERSION = 1
DEFAULT_DATASTORES = ("workspaceblobstore", "workspacefilestore")
#: store formats this release reads and upgrades in place (format 2 added pack files to 1,
#: format 3 chunked files to 2)
UPGRADABLE_STORE_FORMATS = (1, 2)


@record
class Layout:
    """Paths of one workspace. `root` is the folder that contains `.canalis/`."""

    root: Path

    @property
    def dir(self) -> Path:
        return self.root / DIRNAME

    @property
    def config_path(self) -> Path:
        return self.dir / "config.json"

    @property
    def objects(self) -> Path:
        return self.dir / "objects"

    @property
    def ledger_path(self) -> Path:
        return self.dir / "ledger.db"

    @property
    def datastores(self) -> Path:
        return self.dir / "datastores"

    @property
    def envs(self) -> Path:
        return self.dir / "envs"

    @property
    def locks(self) -> Path:
        """Lock files (single flight per reuse key, the garbage-collection lock)."""
        return self.dir / "locks"

    @property
    def checkpoints(self) -> Path:
        """Automatic ledger checkpoints (docs/events.md, "Checkpoints")."""
        return self.dir / "checkpoints"

    @property
    def secrets_path(self) -> Path:
        """The keyvault's secret file (docs/secrets.md)."""
        return self.dir / "secrets.json"

    @property
    def models(self) -> Path:
        """Model versions materialised by `Model.get_model_path` (read-only copies; the store
        and the ledger are the source of truth, so the folder can be removed at any time)."""
        return self.dir / "models"

    @property
    def runs(self) -> Path:
        """Scratch folders of steps while they run (never a source of truth)."""
        return self.dir / "runs"

    # -- config -----------------------------------------------------------------
    def read_config(self) -> dict:
        try:
            with open(self.config_path, encoding="utf-8") as f:
                cfg = json.load(f)
        except FileNotFoundError:
            raise WorkspaceError(
                f"{self.config_path} is missing; run `canalis init {self.root}` to create the workspace"
            ) from None
        except json.JSONDecodeError as e:
            raise WorkspaceError(f"{self.config_path} is not valid JSON ({e}); fix or restore it") from None
        return cfg

    def write_config(self, cfg: dict) -> None:
        tmp = self.config_path.with_suffix(".json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), policy_of(cfg).file_mode)
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.config_path)

    def checkpoint_key(self) -> str | None:
        """The default checkpoint key the config names (`{"ledger": {"checkpoint_key": PATH}}`)."""
        from canalis.ledger.checkpoint import default_key_path

        return default_key_path(self.read_config())

    def set_checkpoint_key(self, path) -> str:
        """Name `path` (which must lie outside every workspace) as the default checkpoint key."""
        from canalis.ledger.checkpoint import KEY_SETTING

        full = str(refuse_inside_workspace(path, "a checkpoint key", self))
        cfg = self.read_config()
        cfg.setdefault("ledger", {})[KEY_SETTING] = full
        self.write_config(cfg)
        return full

    def permissions(self):
        """Who may read `.canalis/` (canalis.permissions.Policy)."""
        return policy_of(self.read_config())

    def set_permissions(self, group: str | None) -> None:
        """Make `.canalis/` private (group None) or shared with `group`, now and for what is
        written later (docs/secrets.md, "Permissions")."""
        from canalis.permissions import Policy, apply_umask, secure_tree

        policy = Policy(str(group) if group is not None else None)
        policy.gid  # an unknown group fails before anything changes
        cfg = self.read_config()
        cfg[PERMISSIONS] = policy.to_config()
        self.write_config(cfg)
        apply_umask(policy)
        secure_tree(self.dir, policy)

    # -- opening the parts ---------------------------------------------------------
    def open_store(self):
        from canalis.permissions import apply_umask
        from canalis.store import FORMAT_VERSION, LocalStore

        cfg = self.read_config()
        apply_umask(policy_of(cfg))
        version = cfg.get("store", {}).get("format")
        if version in UPGRADABLE_STORE_FORMATS:  # a superset of the old layout: only the number changes
            cfg.setdefault("store", {})["format"] = version = FORMAT_VERSION
            self.write_config(cfg)
        if version != FORMAT_VERSION:
            raise WorkspaceError(
                f"workspace {self.root} has store format {version!r}; this canalis reads format "
                f"{FORMAT_VERSION}. Use a canalis release that knows format {version!r}."
            )
        # a large file's chunks are stored raw and compressed by gc unless the workspace says "put"
        store = LocalStore(self.objects, chunk_compression=cfg.get("store", {}).get("chunk_compression", "later"))
        return keep(store)  # closed as the `canalis` command or executor process ends (canalis/opened.py)

    def open_ledger(self):
        from canalis.ledger import FORMAT_VERSION, Ledger
        from canalis.ledger.log import UPGRADABLE_FORMATS
        from canalis.permissions import apply_umask

        cfg = self.read_config()
        apply_umask(policy_of(cfg))
        version = cfg.get("ledger", {}).get("format")
        if version != FORMAT_VERSION and version not in UPGRADABLE_FORMATS:
            raise WorkspaceError(
                f"workspace {self.root} has ledger format {version!r}; this canalis reads format "
                f"{FORMAT_VERSION}. Use a canalis release that knows format {version!r}."
            )
        ledger = Ledger(self.ledger_path)  # upgrades the file of an older format (docs/events.md)
        if version != FORMAT_VERSION:
            cfg.setdefault("ledger", {})["format"] = FORMAT_VERSION
            self.write_config(cfg)
        ledger.documents = self._document_reader()  # plans stored by content (run.submitted v3)
        return keep(ledger)  # closed as the `canalis` command or executor process ends (canalis/opened.py)

    def _document_reader(self):
        """digest -> a blob's bytes from this workspace's store, which is opened on first use."""
        opened = []

        def read(digest: str) -> bytes:
            if not opened:
                opened.append(self.open_store())
            return opened[0].get_bytes(digest)

        return read

    def open_session(self, store=None, ledger=None, secret_values=None):
        """The application core on this workspace (executor/session.py). Runs it starts are
        executed by `python -m canalis.executor_main` on this workspace (one process per run)."""
        from canalis.executor.session import Session

        return Session(self, store or self.open_store(), ledger or self.open_ledger(), secret_values,
                       self.executor_argv())

    def executor_argv(self) -> list[str]:
        """The command of a run's executor process on this workspace (canalis/executor_main.py);
        the run's arguments follow it."""
        import sys

        return [sys.executable, "-m", "canalis.executor_main", "--workspace", str(self.root)]


def find(start: str | os.PathLike | None = None) -> Layout:
    """The workspace containing `start` (default: the current folder), searched upward."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DIRNAME / "config.json").is_file():
            return Layout(folder)
    raise WorkspaceError(
        f"no canalis workspace at or above {here}; run `canalis init` there or pass --workspace DIR"
    )


def containing(path: str | os.PathLike) -> Layout | None:
    """The workspace whose folder holds `path` (which need not exist), or None."""
    try:
        return find(Path(path).resolve().parent)
    except WorkspaceError:
        return None


def refuse_inside_workspace(path, what: str, *also: Layout) -> Path:
    """`path` resolved, or WorkspaceError if it lies inside a workspace folder (the one holding
    it, or any of `also`): a key must live outside the thing it protects."""
    full = Path(path).resolve()
    for lay in (containing(full), *also):
        if lay is not None and full.is_relative_to(lay.root):
            raise WorkspaceError(
                f"{full} is inside the workspace {lay.root}; {what} must live outside the workspace it protects "
                "(whoever can rewrite the workspace could otherwise read or replace it). Choose a path outside "
                f"{lay.root}, e.g. ~/.config/canalis/{lay.read_config().get('name', 'workspace')}.key"
            )
    return full


def at(root: str | os.PathLike) -> Layout:
    """The workspace whose root is exactly `root` (it must exist)."""
    layout = Layout(Path(root).resolve())
    if not layout.config_path.is_file():
        raise WorkspaceError(
            f"{layout.root} is not a canalis workspace (no {DIRNAME}/config.json); run `canalis init {layout.root}`"
        )
    return layout


def _create_databases(layout: Layout) -> None:
    """Create the workspace's SQLite files now, so that `set_permissions` gives them their mode:
    SQLite creates a new database file 0644 (minus the umask), which would leave a shared
    workspace's databases read-only for the group; WAL and -shm files copy the database's mode."""
    store = layout.open_store()
    store.present(["0" * 64])  # objects/packindex.db
    store.close()
    (layout.objects / "statcache.db").touch()  # an empty file is an empty SQLite database
    layout.open_ledger().close()  # ledger.db
    (layout.locks / "gc.lock").touch()  # taken by every writer: group-writable from the start when shared


def init(root: str | os.PathLike, name: str | None = None, exist_ok: bool = True, shared_group: str | None = None) -> Layout:
    """Create a workspace at `root` (idempotent when `exist_ok`), private to its owner, or
    shared with `shared_group` (an existing workspace given a group is converted)."""
    from canalis.ledger import FORMAT_VERSION as LEDGER_FORMAT
    from canalis.permissions import Policy, apply_umask
    from canalis.store import FORMAT_VERSION as STORE_FORMAT

    layout = Layout(Path(root).resolve())
    if layout.config_path.exists():
        if not exist_ok:
            raise WorkspaceError(f"{layout.root} is already a canalis workspace")
        if shared_group is not None:
            layout.set_permissions(shared_group)
        return layout
    policy = Policy(str(shared_group) if shared_group is not None else None)
    policy.gid  # an unknown group fails before anything is created
    layout.root.mkdir(parents=True, exist_ok=True)
    apply_umask(policy)
    for d in (layout.dir, layout.objects, layout.datastores, layout.envs, layout.locks, layout.runs):
        d.mkdir(exist_ok=True)
    for ds in DEFAULT_DATASTORES:
        (layout.datastores / ds).mkdir(exist_ok=True)
    layout.write_config(
        {
            "version": CONFIG_VERSION,
            "name": name or layout.root.name,
            "store": {"format": STORE_FORMAT},
            "ledger": {"format": LEDGER_FORMAT},
            "datastores": {
                ds: {"type": "local", "path": f"{DIRNAME}/datastores/{ds}"} for ds in DEFAULT_DATASTORES
            },
            "default_datastore": "workspaceblobstore",
            "settings": {},
            PERMISSIONS: policy.to_config(),
        }
    )
    _create_databases(layout)

    layout.set_permissions(policy.group)
    return layout
