"""Lineage: what a run, step run, digest, dataset or model came from, and what used it.

Built from the ledger (plans in `run.submitted`, step events, registrations) and the key
documents in the store (which input trees each step read). Nodes:

  run:<id>  step:<step run id>  tree:<digest>  dataset:<name>:<version>  model:<name>:<version>
  source:<tree> (a step's code snapshot, with its git commit)  data:<datastore paths>
"""
from __future__ import annotations

from canalis.executor.errors import ExecutorError
from canalis.executor.fingerprint import KeyDocument
from canalis.executor.plan import Plan, StepSpec
from canalis.ledger.rows import StepRunRow
from canalis.ledger.status import StepStatus

#: statuses of step runs whose process read its inputs (consumers of a tree)
_READ_INPUTS = StepStatus.ran() | {StepStatus.Running}


class LineageError(ExecutorError):
    pass


class Index:
    """What lineage needs from the ledger, read once."""

    def __init__(self, ledger, store):
        self.ledger, self.store = ledger, store
        self.steps: dict[str, StepRunRow] = {r.step_run_id: r for r in ledger.all_step_runs()}
        self.plans = {rec.payload["run_id"]: rec.payload for rec in ledger.events(type="run.submitted")}
        self._specs: dict[tuple, StepSpec | None] = {}
        self.datasets = [rec.payload for rec in ledger.events(type="dataset.registered")]
        self.models = [rec.payload for rec in ledger.events(type="model.registered")]
        self._inputs: dict[str, dict] = {}

    def spec(self, step_row: StepRunRow) -> StepSpec | None:
        """The planned step a step run ran (None when its run's plan is not in the ledger)."""
        key = (step_row.run_id, step_row.step_name)
        if key not in self._specs:
            plan = self.plans.get(step_row.run_id, {}).get("plan")
            steps = Plan.from_dict(plan).steps if plan else []
            self._specs[key] = next((s for s in steps if s.name == step_row.step_name), None)
        return self._specs[key]

    def input_trees(self, step_run_id) -> dict:
        """{input name: tree} the step read: from `step.started` (v2), else from its key document."""
        if step_run_id not in self._inputs:
            row = self.steps[step_run_id]
            recorded = row.inputs
            if recorded:
                self._inputs[step_run_id] = {name: tree for name, tree in recorded}
            else:
                key = row.reuse_key
                doc = KeyDocument.from_bytes(self.store.get_bytes(key)) if key and self.store.exists(key) else None
                self._inputs[step_run_id] = doc.input_trees if doc else {}
        return self._inputs[step_run_id]

    def producers(self, tree) -> list[StepRunRow]:
        return [r for r in self.steps.values()
                if r.status == StepStatus.Completed and tree in (r.outputs or {}).values()]

    def consumers(self, tree) -> list[StepRunRow]:
        return [r for r in self.steps.values()
                if r.status in _READ_INPUTS and tree in self.input_trees(r.step_run_id).values()]


def _node(kind, ident, **info):
    return {"id": f"{kind}:{ident}", "kind": kind, **info, "children": []}


def _step_node(ix: Index, row: StepRunRow) -> dict:
    return _node("step", row.step_run_id, name=row.step_name, run_id=row.run_id, status=row.status)


def upstream(ix: Index, node_id: str, seen: set) -> dict:
    kind, _, ident = node_id.partition(":")
    if node_id in seen:
        return {"id": node_id, "kind": kind, "seen": True, "children": []}
    seen.add(node_id)
    if kind == "run":
        p = ix.plans.get(ident)
        if p is None:
            raise LineageError(f"no run {ident!r}")
        n = _node("run", ident, experiment=p["experiment"], parameters=p["parameters"], git=p.get("git"))
        n["children"] = [upstream(ix, f"step:{r.step_run_id}", seen) for r in ix.steps.values() if r.run_id == ident]
        return n
    if kind == "step":
        row = ix.steps.get(ident)
        if row is None:
            raise LineageError(f"no step run {ident!r}")
        n = _step_node(ix, row)
        if row.status == StepStatus.Reused and row.reused_from:
            n["reused_from"] = row.reused_from
            n["children"].append(upstream(ix, f"step:{row.reused_from}", seen))
            return n
        spec = ix.spec(row)
        if spec is None:
            return n
        params = ix.plans.get(row.run_id, {}).get("parameters", {})
        n.update(script=spec.script, parameters={k: params[k] for k in spec.used_parameters() if k in params},
                 environment=spec.environment.get("digest"))
        n["children"].append(_node("source", spec.source_tree, folder=spec.source_dir, git=spec.git))
        trees = ix.input_trees(ident)
        for inp in spec.inputs:
            tree = trees.get(inp.name, inp.tree)
            if inp.dataset:
                d = inp.dataset
                n["children"].append(upstream(ix, f"dataset:{d['name']}:{d['version']}", seen))
            elif inp.source == "data":
                n["children"].append(_node("data", tree, input=inp.name, origin=inp.origin))
            else:
                child = upstream(ix, f"tree:{tree}", seen) if tree else _node("tree", None)
                child["input"] = inp.name
                n["children"].append(child)
        return n
    if kind == "tree":
        n = _node("tree", ident)
        n["children"] = [upstream(ix, f"step:{r.step_run_id}", seen) for r in ix.producers(ident)]
        return n
    if kind in ("dataset", "model"):
        name, _, version = ident.rpartition(":")
        rows = ix.datasets if kind == "dataset" else ix.models
        match = [r for r in rows if r["name"] == name and str(r["version"]) == version]
        if not match:
            raise LineageError(f"no {kind} {name!r} version {version}")
        r = match[-1]
        lineage = r.get("lineage") or {}
        n = _node(kind, ident, name=name, version=r["version"], tree=r["digest"], run_id=lineage.get("run_id"))
        if lineage.get("step_run_id") and lineage["step_run_id"] in ix.steps:
            n["children"].append(upstream(ix, f"step:{lineage['step_run_id']}", seen))
        elif kind == "dataset":
            n["children"].append(_node("data", r["digest"], origin=lineage.get("sources")))
        if kind == "model":
            producers = ix.producers(r["digest"])
            if producers and not lineage.get("step_run_id"):
                n["children"] += [upstream(ix, f"step:{p.step_run_id}", seen) for p in producers]
            elif not lineage.get("step_run_id") and lineage.get("run_id"):
                n["children"].append(upstream(ix, f"run:{lineage['run_id']}", seen))
            for d in lineage.get("datasets") or []:
                if d.get("name"):
                    n["children"].append(upstream(ix, f"dataset:{d['name']}:{d['version']}", seen))
        return n
    raise LineageError(f"cannot trace {node_id!r}")


def downstream(ix: Index, node_id: str, seen: set) -> dict:
    kind, _, ident = node_id.partition(":")
    if node_id in seen:
        return {"id": node_id, "kind": kind, "seen": True, "children": []}
    seen.add(node_id)
    if kind == "run":
        n = _node("run", ident)
        n["children"] = [downstream(ix, f"step:{r.step_run_id}", seen) for r in ix.steps.values() if r.run_id == ident]
        return n
    if kind == "step":
        row = ix.steps[ident]
        n = _step_node(ix, row)
        for name, tree in (row.outputs or {}).items():
            child = downstream(ix, f"tree:{tree}", seen)
            child["output"] = name
            n["children"].append(child)
        n["children"] += [downstream(ix, f"step:{r.step_run_id}", seen) for r in ix.steps.values()
                          if r.reused_from == ident]
        # what the step registered (a reused step answers for what the step run it reused registered)
        # (one that is an output's tree is shown under that tree already)
        by, trees = {ident, row.reused_from} - {None}, set((row.outputs or {}).values())
        n["children"] += [_node(kind_, f"{r['name']}:{r['version']}") for kind_, rows in
                          (("dataset", ix.datasets), ("model", ix.models)) for r in rows
                          if (r.get("lineage") or {}).get("step_run_id") in by and r["digest"] not in trees]
        return n
    if kind == "tree":
        n = _node("tree", ident)
        n["children"] = [downstream(ix, f"step:{r.step_run_id}", seen) for r in ix.consumers(ident)]
        n["children"] += [_node("dataset", f"{d['name']}:{d['version']}") for d in ix.datasets if d["digest"] == ident]
        n["children"] += [_node("model", f"{m['name']}:{m['version']}") for m in ix.models if m["digest"] == ident]
        return n
    if kind == "dataset":
        name, _, version = ident.rpartition(":")
        n = _node("dataset", ident)
        for r in ix.steps.values():
            spec = ix.spec(r)
            if spec and any((i.dataset or {}).get("name") == name and str(i.dataset["version"]) == version
                            for i in spec.inputs):
                n["children"].append(downstream(ix, f"step:{r.step_run_id}", seen))
        n["children"] += [_node(kind_, f"{m['name']}:{m['version']}") for kind_, rows in
                          (("model", ix.models), ("dataset", ix.datasets)) for m in rows
                          if any(d.get("name") == name and str(d.get("version")) == version
                                 for d in (m.get("lineage") or {}).get("datasets") or [])]
        return n
    return _node(kind, ident)


def resolve(ix: Index, ref: str) -> str:
    """A node id for REF: run id, step run id, digest, dataset:NAME[:VERSION], model:NAME[:VERSION]."""
    for kind, rows in (("dataset", ix.datasets), ("model", ix.models)):
        if ref.startswith(kind + ":"):
            name, _, version = ref[len(kind) + 1:].partition(":")
            versions = [r["version"] for r in rows if r["name"] == name]
            if not versions:
                raise LineageError(f"no {kind} named {name!r}")
            return f"{kind}:{name}:{version or max(versions)}"
    if ref in ix.plans:
        return f"run:{ref}"
    if ref in ix.steps:
        return f"step:{ref}"
    if len(ref) == 64 and all(c in "0123456789abcdef" for c in ref):
        return f"tree:{ref}"
    runs = [r for r in ix.plans if r.startswith(ref)]
    if len(runs) == 1:
        return f"run:{runs[0]}"
    raise LineageError(f"{ref!r} is not a run, step run, digest, dataset:NAME[:VERSION] or model:NAME[:VERSION] of this workspace")


def lineage(ledger, store, ref: str) -> dict:
    ix = Index(ledger, store)
    node = resolve(ix, ref)
    return {"ref": ref, "node": node, "upstream": upstream(ix, node, set()), "downstream": downstream(ix, node, set())}


def to_dot(result: dict) -> str:
    """The lineage as a Graphviz graph of the pipeline (executor/lineage_dot.py)."""
    from canalis.executor.lineage_dot import to_dot as draw

    return draw(result)
