"""`Model`: a registered, versioned model, stored as a tree in the store."""
from __future__ import annotations

from pathlib import Path

from canalis.exceptions import UserErrorException


class Model:
    def __init__(self, workspace, name=None, id=None, tags=None, properties=None, version=None, run_id=None, **kwargs):
        if id and not name:
            name, _, v = id.partition(":")
            version = version or (int(v) if v else None)
        row = workspace.ledger.model(name, int(version) if version else None)
        if row is None:
            raise UserErrorException(f"no model {name!r}" + (f" version {version}" if version else "") + " is registered")
        self.workspace = workspace
        self._row = row
        self.name = row.name
        self.version = int(row.version)
        self.id = f"{self.name}:{self.version}"
        self.tags = dict(row.tags or {})
        self.properties = dict(row.properties or {})
        self.description = row.description
        self.run_id = (row.lineage or {}).get("run_id")
        self.tree = row.digest

    @staticmethod
    def register(workspace, model_path, model_name, tags=None, properties=None, description=None, datasets=None,
                 model_framework=None, model_framework_version=None, child_paths=None, sample_input_dataset=None,
                 sample_output_dataset=None, resource_configuration=None, **kwargs):
        path = Path(model_path)
        if not (path.is_dir() or path.is_file()):
            raise UserErrorException(f"model_path {str(path)!r} is neither a file nor a folder")

        def content(store):
            return store.snapshot(path, ignore=False).tree if path.is_dir() else store.put_files({path.name: path}).tree

        return Model._record(workspace, model_name, content, tags, properties, description, datasets, None)

    @staticmethod
    def _register_from_run(run, model_name, model_path, tags, properties, description, datasets):
        """Register files a run produced: `model_path` names a file or folder among its files."""
        from canalis.store import TreeEntry

        children = run.get_children()
        # a pipeline run names files "<step>/<file>" (as get_file_names() lists them); a step run "<file>"
        sources = [(f"{c.name}/", c) for c in children] if children else [("", run)]
        prefix = (model_path or "").rstrip("/")
        picked = {}
        for lead, child in sources:
            for name, digest in ((lead + n, d) for n, d in child._files().items()):
                if name == prefix or name.startswith(prefix + "/"):
                    rel = Path(name).name if name == prefix else name[len(prefix) + 1:]
                    picked[rel] = digest
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

        refs = []
        for item in datasets or []:
            purpose, ds = item if isinstance(item, tuple) else ("input", item)
            refs.append({"purpose": purpose, "name": ds.name, "version": ds.version, "id": ds.id})
        row = workspace.session.register("model", name, content, lineage=Lineage(run_id=run_id, datasets=tuple(refs)),
                                         description=description, tags=tags, properties=properties)
        return Model(workspace, name, version=row.version)

    @staticmethod
    def list(workspace, name=None, tags=None, properties=None, run_id=None, latest=False, **kwargs):
        out = []
        for m in workspace.ledger.models():
            if name and m.name != name:
                continue
            for v in range(1, int(m.version) + 1) if not latest else [int(m.version)]:
                if workspace.ledger.model(m.name, v):
                    out.append(Model(workspace, m.name, version=v))
        return out

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
