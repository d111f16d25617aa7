"""`canalis lineage REF --dot`: the lineage as a clean graph of the pipeline, for Graphviz.

The lineage (executor/lineage.py) is a tree of records: step runs, the trees they wrote,
reused step runs hanging under the step runs they reused, the content tree under a dataset.
Drawn as it is, that is one node per record. The drawing folds it into what a reader means
by the pipeline:

- a reused step run is drawn as the step run it reused (whose result it is), which says how
  many times it was reused;
- a tree one step wrote and others read becomes an edge between those steps, labelled with
  the output's name; a tree nobody read stays a node (a final output), as does a tree no
  step wrote (a source or data snapshot);
- a dataset's content tree is drawn as the dataset.
"""
from __future__ import annotations

SHAPES = {"step": "box", "dataset": "cylinder", "model": "component", "tree": "note", "run": "folder"}


def _collect(result: dict):
    nodes: dict[str, dict] = {}
    edges: set[tuple[str, str]] = set()

    def walk(n, up):
        if not n.get("seen") or n["id"] not in nodes:
            nodes.setdefault(n["id"], {}).update({k: v for k, v in n.items() if k not in ("children", "seen")})
        for c in n.get("children", []):
            nodes.setdefault(c["id"], {"id": c["id"], "kind": c["kind"]})
            if c.get("output"):
                nodes[c["id"]].setdefault("output", c["output"])
            edges.add((c["id"], n["id"]) if up else (n["id"], c["id"]))
            walk(c, up)

    walk(result["upstream"], True)
    walk(result["downstream"], False)
    return nodes, edges


def graph(result: dict) -> tuple[dict[str, dict], dict[tuple[str, str], set]]:
    """(nodes by id, {(from, to): edge labels}) of the folded drawing."""
    nodes, edges = _collect(result)
    alias: dict[str, str] = {}
    reuses: dict[str, int] = {}
    for a, b in sorted(edges):
        ka, kb = nodes[a]["kind"], nodes[b]["kind"]
        if ka == "step" and kb == "step" and nodes[b].get("status") == "Reused":
            alias[b] = a
            reuses[a] = reuses.get(a, 0) + 1
        elif ka == "data" and kb == "dataset":
            alias[a] = b

    def real(x):
        while x in alias:
            x = alias[x]
        return x

    folded = {(real(a), real(b)) for a, b in edges}
    folded = {(a, b) for a, b in folded if a != b}
    out_edges: dict[tuple[str, str], set] = {}
    keep = {real(n) for n in nodes}
    for t in [n for n in keep if nodes[n]["kind"] == "tree"]:
        producers = [a for a, b in folded if b == t and nodes[a]["kind"] == "step"]
        consumers = [b for a, b in folded if a == t]
        if producers and consumers:
            name = nodes[t].get("output") or t.partition(":")[2][:12]
            for p in producers:
                for c in consumers:
                    out_edges.setdefault((p, c), set()).add(name)
            keep.discard(t)
    for a, b in folded:
        if a in keep and b in keep:
            out_edges.setdefault((a, b), set())
    shown = {n: dict(nodes[n], reused=reuses.get(n, 0)) for n in keep}
    return shown, out_edges


def _label(n: dict) -> str:
    ident = n["id"].partition(":")[2]
    kind = n["kind"]
    if kind == "step":
        bits = [n.get("name") or ident[:8], f"run {n['run_id']}" if n.get("run_id") else "", n.get("status") or ""]
        if n.get("reused"):
            bits.append(f"reused {n['reused']}x")
        return "\\n".join(b for b in bits if b)
    if kind == "tree":
        return (f"output {n['output']}\\n" if n.get("output") else "tree\\n") + ident[:12]
    if kind in ("dataset", "model"):
        return f"{kind} {ident}"
    return f"{kind} {ident[:40]}"


def _q(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def to_dot(result: dict) -> str:
    nodes, edges = graph(result)
    lines = ["digraph lineage {", "  rankdir=LR;", "  node [fontsize=10];"]
    for nid in sorted(nodes):
        n = nodes[nid]
        style = ', style="bold"' if nid == result.get("node") else ""
        lines.append(f"  {_q(nid)} [label={_q(_label(n))}, shape={SHAPES.get(n['kind'], 'ellipse')}{style}];")
    for (a, b), labels in sorted(edges.items()):
        label = f" [label={_q(', '.join(sorted(labels)))}]" if labels else ""
        lines.append(f"  {_q(a)} -> {_q(b)}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


__all__ = ["graph", "to_dot"]
