"""What a running step may ask its executor, and how the executor answers (the request part of
executor/channel.py): register a model the step made, look up a registered model.

The step never opens the ledger. To register a model it puts the files in the store itself
(as it does for uploaded files), then asks; the executor records the version with the lineage
only it knows for sure (the run, the step run, the registered datasets the step reads) and
answers with the version's columns. A request that cannot be done is answered with an error
naming what to change, so the step raises it instead of waiting for an answer that never comes.
"""
from __future__ import annotations

from canalis.executor import paths, registry
from canalis.executor.errors import ExecutorError, PathEscapeError
from canalis.executor.locks import writing
from canalis.ledger.errors import LedgerError
from canalis.store.errors import StoreError

#: ops that are requests (they carry a reply id and get an answer)
REQUESTS = frozenset({"register_model", "get_model"})


def input_datasets(spec) -> list[dict]:
    """The registered datasets a planned step reads, as lineage references."""
    return [{"purpose": "input", "name": i.dataset["name"], "version": i.dataset["version"], "id": i.dataset.get("id")}
            for i in spec.inputs if i.dataset]


def answer(execution, message: dict) -> dict:
    """The answer to one request of the step `execution` (a `StepExecution`) runs."""
    op = message.get("op")
    try:
        return _HANDLERS[op](execution, message)
    except _Refused as e:
        return {"ok": False, "error": str(e)}
    except (ExecutorError, LedgerError, StoreError, OSError) as e:
        return {"ok": False, "error": f"canalis could not {_DOING[op]}: {e}"}


class _Refused(Exception):
    """A request the executor will not do; the message says why and what to do."""


def _text(message: dict, field: str, what: str) -> str:
    value = message.get(field)
    if not isinstance(value, str) or not value:
        raise _Refused(f"{what} must be a non-empty string, got {value!r}")
    return value


def _dict(message: dict, field: str) -> dict:
    value = message.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Refused(f"a model's {field} must be a dict, got {type(value).__name__}")
    return value


def _register_model(execution, m: dict) -> dict:
    run = execution.run
    name = _text(m, "name", "a model's name")
    try:
        paths.check_name(name, "model name")  # it becomes a folder name where the model is checked out
    except PathEscapeError as e:
        raise _Refused(str(e)) from None
    tree = _text(m, "tree", f"the files of model {name!r}")
    if not run.store.exists(tree):
        raise _Refused(f"the files of model {name!r} (tree {tree[:12]}) are not in the store; register a file or "
                       "folder the step wrote")
    run.store.get_tree(tree)  # a tree, not a lone blob (NotATreeError otherwise)
    datasets = input_datasets(execution.spec)
    seen = {(d["name"], d["version"]) for d in datasets}
    given = m.get("datasets") or []
    if not isinstance(given, list):
        raise _Refused(f"a model's datasets must be a list, got {type(given).__name__}")
    for d in given:
        if isinstance(d, dict) and isinstance(d.get("name"), str) and (d["name"], d.get("version")) not in seen:
            seen.add((d["name"], d.get("version")))
            datasets.append({k: d.get(k) for k in ("purpose", "name", "version", "id")})
    lineage = registry.Lineage(run_id=run.run_id, step_run_id=execution.step_run_id, datasets=tuple(datasets))
    with writing(run.locks_dir):
        row = registry.register(run.ledger, "model", name, tree, lineage=lineage, description=m.get("description"),
                                tags=_dict(m, "tags"), properties=_dict(m, "properties"))
    return {"ok": True, "model": row.to_dict()}


def _get_model(execution, m: dict) -> dict:
    name = _text(m, "name", "a model's name")
    version = m.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise _Refused(f"a model's version must be a whole number, got {version!r}")
    row = execution.run.ledger.model(name, version)
    if row is None:
        known = [r.version for r in execution.run.ledger.model_versions(name)]
        raise _Refused(f"no model {name!r}" + (f" version {version}" if version is not None else "")
                       + " is registered" + (f" (versions: {known})" if known else "; register it first"))
    return {"ok": True, "model": row.to_dict()}


_HANDLERS = {"register_model": _register_model, "get_model": _get_model}
_DOING = {"register_model": "register the model", "get_model": "look up the model"}
