"""`Model`: a registered, versioned model, stored as a tree in the store.

Inside a step (canalis/core/step_channel.py) a model is registered and looked up through the
step's executor, never by opening the ledger: the step puts the files in the store, the
executor records the version with the step run, its pipeline run and the registered datasets
the step reads as lineage, and answers with the version.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from canalis.exceptions import UserErrorException

#: where `get_model_path` materialises a model version inside a step (relative to its working folder), as SDK v1 did
STEP_MODEL_DIR = "azureml-models"


class Model:
    def __init__(self, workspace, name=None, id=None, tags=None, properties=None, version=None, run_id=None, **kwargs):
        if id and not name:
            name, _, v = id.partition(":")
            version = version or (int(v) if v else None)
        self._fill(workspace, _lookup(workspace, name, int(version) if version else None))

    @classmethod
    def _of_record(cls, workspace, record: dict) -> "Model":
        """The model version whose registration columns are `record` (a `ModelRow` as a dict)."""
        model = cls.__new__(cls)
        model._fill(workspace, record)
        return model

    def _fill(self, workspace, record: dict) -> None:
        self.workspace = workspace
        self.name = record["name"]
        self.version = int(record["version"])
        self.id = f"{self.name}:{self.version}"
        self.tags = dict(record.get("tags") or {})
        self.properties = dict(record.get("properties") or {})
        self.description = record.get("description")
        self.run_id = (record.get("lineage") or {}).get("run_id")
        self.tree = record["digest"]
        self.created_time = record.get("registered_at")

    # -- registering ---------------------------------------------------------------------------
    @staticmethod
    def register(workspace, model_path, model_name, tags=None, properties=None, description=None, datasets=None,
                 model_framework=None, model_framework_version=None, child_paths=None, sample_input_dataset=None,
                 sample_output_dataset=None, resource_configuration=None, **kwargs):
        """Register the file or folder `model_path` as the next version of `model_name`. Inside a
        step of `workspace`, the step's executor records it, with the step as its lineage."""
        from canalis.core.step_channel import current

        _check_name(model_name)
        step = current(workspace)
        if step is not None:
            return Model._register_in_step(step, workspace, model_name, model_path, tags, properties, description,
                                           datasets)
        path = Path(model_path)
        if not (path.is_dir() or path.is_file()):
            raise UserErrorException(f"model_path {str(path)!r} is neither a file nor a folder")

        def content(store):
            return _store_path(store, path, stat_cache=True)

        return Model._record(workspace, model_name, content, tags, properties, description, datasets, None)

    @staticmethod
    def _register_in_step(step, workspace, name, model_path, tags, properties, description, datasets):
        """Register from inside a step: put the files in the store, then ask the executor."""
        _check_name(name)
        tree = _step_model_tree(step, model_path)
        answer = step.request({"op": "register_model", "name": name, "tree": tree, "tags": dict(tags or {}),
                               "properties": dict(properties or {}), "description": description,
                               "datasets": _dataset_refs(datasets)}, what=f"the registration of model {name!r}")
        return Model._of_record(workspace, answer["model"])

    @staticmethod
    def _register_from_run(run, model_name, model_path, tags, properties, description, datasets):
        """Register files a run produced: `model_path` names a file or folder among its files."""
        from canalis.store import TreeEntry

        _check_name(model_name)
        children = run.get_children()
        # a pipeline run names files "<step>/<file>" (as get_file_names() lists them); a step run "<file>"
        sources = [(f"{c.name}/", c) for c in children] if children else [("", run)]
        picked = {}
        for lead, child in sources:
            picked.update(_pick({lead + n: d for n, d in child._files().items()}, model_path or model_name))
        if not picked:
            raise UserErrorException(f"run {run.id} has no file or folder {model_path!r}; see run.get_file_names()")

        def content(store):
            return store.put_tree([TreeEntry(path=rel, type="file", mode=0o644, size=store.size(d), digest=d)
                                   for rel, d in sorted(picked.items())])

        run_id = run.parent.id if getattr(run, "parent", None) is not None else run.id
        return Model._record(run.experiment.workspace, model_name, content, tags, properties, description, datasets,
                             run_id)

    @staticmethod
    def _record(workspace, name, content, tags, properties, description, datasets, run_id):
        from canalis.executor.registry import Lineage

        row = workspace.session.register("model", name, content,
                                         lineage=Lineage(run_id=run_id, datasets=tuple(_dataset_refs(datasets))),
                                         description=description, tags=tags, properties=properties)
        return Model._of_record(workspace, row.to_dict())

    # -- finding -------------------------------------------------------------------------------
    @staticmethod
    def list(workspace, name=None, tags=None, properties=None, run_id=None, latest=False, **kwargs):
        """Registered model versions, oldest first per name; `run_id` keeps those the run
        answers for (registered from it, or by a step run one of its steps reused)."""
        if run_id is not None:
            rows = workspace.ledger.registered_by_run("models", run_id)
        else:
            rows = [v for m in workspace.ledger.models() for v in workspace.ledger.model_versions(m.name)]
        if name:
            rows = [r for r in rows if r.name == name]
        if latest:
            newest = {}
            for r in rows:
                if r.name not in newest or r.version > newest[r.name].version:
                    newest[r.name] = r
            rows = list(newest.values())
        return [Model._of_record(workspace, r.to_dict()) for r in rows]

    @staticmethod
    def get_model_path(model_name, version=None, _workspace=None):
        """The path of a registered model's file (a model of one file) or folder, materialised
        read-only: inside a step under its working folder (`azureml-models/NAME/VERSION/`, as SDK
        v1 did), elsewhere in the workspace (`.canalis/models/NAME/VERSION/`). `version` None
        is the latest version."""
        from canalis.core.step_channel import current

        _check_name(model_name)
        step = current(_workspace)
        if step is not None:
            answer = step.request({"op": "get_model", "name": model_name,
                                   "version": int(version) if version is not None else None},
                                  what=f"the lookup of model {model_name!r}")
            record, store, root = answer["model"], step.store(), Path.cwd() / STEP_MODEL_DIR
        elif _workspace is not None:
            from canalis import layout as _layout

            record = _lookup_in(_workspace.ledger, model_name, int(version) if version is not None else None)
            store, root = _workspace.store, _layout.at(_workspace.root).models
        else:
            lay = _find_layout()
            ledger = lay.open_ledger()
            try:
                record = _lookup_in(ledger, model_name, int(version) if version is not None else None)
            finally:
                ledger.close()
            store, root = lay.open_store(), lay.models
        folder = _materialise(store, record, root / record["name"] / str(record["version"]))
        entries = store.get_tree(record["digest"])
        return str(folder / entries[0].path) if len(entries) == 1 else str(folder)

    def download(self, target_dir=".", exist_ok=False, exists_ok=None):
        target = Path(target_dir)
        entries = self.workspace.store.get_tree(self.tree)
        for e in entries:
            if (target / e.path).exists() and not (exist_ok or exists_ok):
                raise UserErrorException(f"{target / e.path} exists; pass exist_ok=True to overwrite")
        target.mkdir(parents=True, exist_ok=True)
        for e in entries:
            dst = target / e.path
            if dst.exists():
                dst.unlink()
            self.workspace.store.checkout_file(e.digest, dst, readonly=False)
        return str(target / entries[0].path) if len(entries) == 1 else str(target)

    def __repr__(self):
        return f"Model(name={self.name!r}, version={self.version})"


def _check_name(name) -> str:
    """A model name is one plain name (letters, digits, `_`, `-`, `.`), as SDK v1 required: it
    becomes a folder name where the model is materialised."""
    from canalis.data import _paths

    return _paths.input_name(name, "model name")


def _lookup(workspace, name, version) -> dict:
    """The registration columns of model `name` (its latest version when `version` is None)."""
    from canalis.core.step_channel import current

    step = current(workspace)
    if step is not None:
        return step.request({"op": "get_model", "name": name, "version": version},
                            what=f"the lookup of model {name!r}")["model"]
    return _lookup_in(workspace.ledger, name, version)


def _lookup_in(ledger, name, version) -> dict:
    row = ledger.model(name, version)
    if row is None:
        raise UserErrorException(f"no model {name!r}" + (f" version {version}" if version else "") + " is registered")
    return row.to_dict()


def _find_layout():
    """The workspace `Workspace.from_config()` would open."""
    from canalis import layout as _layout
    from canalis.errors import WorkspaceError

    env = os.environ.get("CANALIS_WORKSPACE")
    try:
        return _layout.at(env) if env else _layout.find()
    except WorkspaceError as e:
        raise UserErrorException(f"{e}; or pass _workspace=ws to Model.get_model_path") from None


def _dataset_refs(datasets) -> list[dict]:
    """Lineage references of the registered datasets among `datasets` (datasets, or
    (purpose, dataset) pairs); unregistered ones name nothing and are left out."""
    refs = []
    for item in datasets or []:
        purpose, ds = item if isinstance(item, tuple) else ("input", item)
        if getattr(ds, "name", None):
            refs.append({"purpose": purpose, "name": ds.name, "version": ds.version, "id": ds.id})
    return refs


def _store_path(store, path: Path, stat_cache: bool) -> str:
    """The tree of a model file or folder, its bytes put in the store."""
    if path.is_dir():
        return store.snapshot(path, ignore=False, stat_cache=stat_cache).tree
    return store.put_files({path.name: path}).tree


def _pick(files: dict[str, str], model_path: str) -> dict[str, str]:
    """Files named `model_path` or under it, by their path in the model: {path: digest}."""
    prefix = str(model_path).rstrip("/")
    picked = {}
    for name, digest in files.items():
        if name == prefix or name.startswith(prefix + "/"):
            picked[Path(name).name if name == prefix else name[len(prefix) + 1:]] = digest
    return picked


def _step_model_tree(step, model_path) -> str:
    """Inside a step: the tree of `model_path`, a file or folder on disk (relative to the
    step's working folder, or absolute) or among the files the step uploaded."""
    from canalis.store import TreeEntry

    store = step.store()
    path = Path(model_path)
    if path.is_dir() or path.is_file():
        return _store_path(store, path, stat_cache=False)  # the step leaves the store's stat cache alone
    picked = _pick(step.uploaded, str(model_path)) if not path.is_absolute() else {}
    if not picked:
        raise UserErrorException(
            f"model_path {str(model_path)!r} is neither a file or folder (relative to the step's working folder "
            f"{os.getcwd()}) nor among the files the step uploaded ({', '.join(sorted(step.uploaded)) or 'none'})")
    return store.put_tree([TreeEntry(path=rel, type="file", mode=0o644, size=store.size(d), digest=d)
                           for rel, d in sorted(picked.items())])


def _materialise(store, record: dict, folder: Path) -> Path:
    """The model's files checked out read-only in `folder` (once: a folder already there is the
    same version's files). Checked out beside it, then renamed into place, so a reader never
    sees half a model and two processes asking at once both get the whole one."""
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        store.checkout(record["digest"], tmp / "m", readonly=True)
        try:
            os.rename(tmp / "m", folder)
        except OSError:
            if not folder.is_dir():  # not "another process was first"
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
