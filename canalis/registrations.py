"""What the CLI (and later the server) shows about registered models, built from the ledger in
one place: `canalis models` lists them, `canalis models show NAME[:VERSION]` tells one."""
from __future__ import annotations

from canalis.errors import ReferenceNotFound
from canalis.ledger.rows import ModelRow


class ModelNotFound(ReferenceNotFound):
    pass


def model_entry(ledger, row: ModelRow) -> dict:
    """One model version as listed: its columns, and the run and step it came from."""
    lineage = row.lineage or {}
    step = ledger.step_run(lineage["step_run_id"]) if lineage.get("step_run_id") else None
    return {
        "name": row.name, "version": row.version, "id": row.id, "tree": row.digest,
        "registered_at": row.registered_at, "description": row.description,
        "tags": row.tags or {}, "properties": row.properties or {},
        "run_id": lineage.get("run_id"), "step_run_id": lineage.get("step_run_id"),
        "step": step.step_name if step is not None else None,
        "datasets": [{"name": d.get("name"), "version": d.get("version"), "purpose": d.get("purpose")}
                     for d in lineage.get("datasets") or []],
    }


def model_list(ledger, name: str | None = None) -> list[dict]:
    """The latest version of each model (by name), or every version of `name`, oldest first."""
    rows = ledger.model_versions(name) if name else ledger.models()
    return [model_entry(ledger, r) for r in rows]


def parse_ref(ref: str) -> tuple[str, int | None]:
    """NAME or NAME:VERSION."""
    name, sep, version = ref.rpartition(":")
    if not sep:
        return ref, None
    if not version.isdigit():
        raise ModelNotFound(f"{ref!r} is not NAME or NAME:VERSION (VERSION is a whole number)")
    return name, int(version)


def model_detail(ledger, store, ref: str) -> dict:
    """One model version (the latest when `ref` names no version): what `model_entry` gives,
    the files in it, and every version of the name."""
    name, version = parse_ref(ref)
    row = ledger.model(name, version)
    if row is None:
        versions = [r.version for r in ledger.model_versions(name)]
        if not versions:
            raise ModelNotFound(f"no model named {name!r} is registered; list them with `canalis models`")
        raise ModelNotFound(f"model {name!r} has no version {version} (versions: {versions})")
    out = model_entry(ledger, row)
    out["files"] = [{"path": e.path, "size": e.size, "digest": e.digest} for e in store.get_tree(row.digest)]
    out["versions"] = [r.version for r in ledger.model_versions(name)]
    out["automl"] = automl_origin(ledger, store, row)
    return out


class RegistrationNotFound(ReferenceNotFound):
    """A dataset or environment NAME[:VERSION] that names no registered version."""


#: the listing command of each kind, named in errors
_LISTING = {"datasets": "canalis datasets", "environments": "canalis environments"}


def registration_entry(row, kind: str) -> dict:
    """One registered dataset or environment version: where it came from (the run and step
    that registered it, when one did)."""
    lineage = row.lineage or {}
    out = {"name": row.name, "version": row.version, "digest": row.digest, "id": row.id,
           "registered_at": row.registered_at, "description": row.description, "tags": row.tags or {},
           "properties": row.properties or {}, "run_id": lineage.get("run_id"),
           "step_run_id": lineage.get("step_run_id"), "datasets": list(lineage.get("datasets") or [])}
    if kind == "datasets":
        out["kind"] = row.kind
    return out


def registration_list(ledger, kind: str, name: str | None = None) -> list[dict]:
    """The latest version of each registered name of `kind` ("datasets", "environments"), or
    every version of `name`, oldest first."""
    return [registration_entry(r, kind) for r in ledger.registrations(kind, name)]


def registration_detail(ledger, store, kind: str, ref: str) -> dict:
    """One version of a registered dataset or environment (the latest when `ref` names no
    version), with every version of the name; a dataset with its files, an environment with
    its definition."""
    name, version = parse_ref(ref)
    row = ledger.registration(kind, name, version)
    what = kind.rstrip("s")
    if row is None:
        versions = [r.version for r in ledger.registrations(kind, name)]
        if not versions:
            raise RegistrationNotFound(f"no {what} named {name!r} is registered; list them with `{_LISTING[kind]}`")
        raise RegistrationNotFound(f"{what} {name!r} has no version {version} (versions: {versions})")
    out = registration_entry(row, kind)
    out["versions"] = [r.version for r in ledger.registrations(kind, name)]
    if kind == "datasets":
        out["files"] = [{"path": e.path, "size": e.size, "digest": e.digest} for e in store.get_tree(row.digest)]
    else:  # the definition is in the event that registered the version
        out["definition"] = next((rec.payload.get("definition") for rec in ledger.events(type="environment.registered")
                                  if rec.payload.get("name") == row.name and rec.payload.get("version") == row.version),
                                 None)
    return out
def automl_origin(ledger, store, row: ModelRow) -> dict | None:
    """The AutoML step whose output holds this model's file(s), and its best trial, or None.
    Looked for among the step runs of the run that registered the model (a reused AutoML step
    answers with the trials of the step run it reused)."""
    from canalis.core.metrics import fold

    run_id = (row.lineage or {}).get("run_id")
    if not run_id:
        return None
    files = {e.digest for e in store.get_tree(row.digest) if e.type == "file"}
    for step in ledger.step_runs(run_id):
        for tree in (step.outputs or {}).values():
            if not files & {e.digest for e in store.get_tree(tree) if e.type == "file"}:
                continue
            trials = fold(ledger.step_metrics(step.step_run_id)).get("trials")
            if not isinstance(trials, dict) or "best" not in trials:
                continue
            i = trials["best"].index(True)
            record = {col: values[i] for col, values in trials.items()}
            meta = ("iteration", "model", "hyperparameters", "duration_s", "best")
            return {"step": step.step_name, "step_run_id": step.step_run_id, "trials": len(trials["best"]),
                    "best_trial": {"iteration": record["iteration"], "model": record["model"],
                                   "hyperparameters": record["hyperparameters"], "duration_s": record["duration_s"],
                                   "metrics": {k: v for k, v in sorted(record.items()) if k not in meta}}}
    return None
