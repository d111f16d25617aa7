"""What each page shows, read from the ledger and the store: plain dicts for the templates."""
from __future__ import annotations

from canalis import reports
from canalis.executor.orphans import effective_status
from canalis.ledger.status import RunStatus, StepStatus
from canalis.server.ui import charts, dag
from canalis.step_states import QUEUED, step_states

PAGE_SIZES = (25, 50, 100, 200)
EVENTS_PER_PAGE = 100
run_summary = reports.run_summary
#: the longest log shown in a page: its last bytes (the whole log is a download away)
LOG_LIMIT = 256 * 1024


def status_text(status) -> str:
    return str(getattr(status, "value", status))


def who(row) -> str:
    """Who or what submitted the run: a schedule, a token through the REST API, or a user."""
    t = row.trigger or {}
    if t.get("schedule_id") or t.get("via") == "schedule":
        return f"schedule {t.get('schedule_name') or t.get('schedule_id')}"
    if t.get("via") == "rest":
        return f"token {t.get('by')}"
    return f"user {row.user}" if row.user else "-"


def run_list_row(row, counts: dict) -> dict:
    g = row.git or {}
    return {"run_id": row.run_id, "status": status_text(effective_status(row)), "submitted_at": row.submitted_at,
            "started_at": row.started_at, "duration_s": reports.run_duration(row), "who": who(row),
            "commit": (g.get("commit") or "")[:12] or None, "dirty": bool(g.get("dirty")),
            "parameters": row.parameters or {}, "tags": row.tags or {},
            "ran": counts.get("Completed", 0) + counts.get("Failed", 0), "reused": counts.get("Reused", 0),
            "failed": counts.get("Failed", 0)}


def runs_page(ledger, experiment: str, statuses, tags, sort, descending, size, page) -> dict:
    rows, total = ledger.runs_page(experiment, statuses, tags, sort, descending, size, (page - 1) * size)
    counts = ledger.step_counts([r.run_id for r in rows])
    pages = max(1, -(-total // size))
    return {"runs": [run_list_row(r, counts[r.run_id]) for r in rows], "total": total, "page": page, "pages": pages,
            "size": size}


def _fmt_label(data) -> str:
    return data if data is not None else "(after)"


def graph(ledger, run_id: str, states=None) -> dict:
    """The run's pipeline as a laid-out DAG: nodes with status and reuse marks, labelled edges."""
    states = states if states is not None else step_states(ledger, run_id)
    names = [s.name for s in states]
    edges, labels = [], {}
    for s in states:
        fed = set()
        for data, producer in s.inputs:
            if producer in names:
                edges.append((producer, s.name))
                labels.setdefault((producer, s.name), []).append(data)
                fed.add(producer)
        for up in s.upstream:
            if up not in fed and up in names:
                edges.append((up, s.name))
    lay = dag.layout(names, edges, {k: ", ".join(dict.fromkeys(v)) for k, v in labels.items()})
    nodes = []
    for s in states:
        x, y = lay.nodes[s.name]
        nodes.append({"name": s.name, "x": x, "y": y, "status": status_text(s.status),
                      "reused": s.status == StepStatus.Reused, "reused_run_id": s.reused_run_id,
                      "label": s.label()})
    return {"width": lay.width, "height": lay.height, "nodes": nodes, "w": dag.NODE_W, "h": dag.NODE_H,
            "edges": [{**e, "d": dag.path(e["points"])} for e in lay.edges]}


def live_state(ledger, run_id: str) -> dict:
    """What a page showing a run polls for while it is in progress."""
    row = ledger.run(run_id)
    status = effective_status(row)
    return {"run_id": run_id, "status": status_text(status),
            "ended": status not in (RunStatus.Queued, RunStatus.Running),
            "steps": {s.name: {"status": status_text(s.status), "label": s.label()} for s in step_states(ledger, run_id)}}


def step_view(ledger, store, runs_dir, run_id: str, step: str) -> dict | None:
    """A step of a run: its step run, logs, metrics, inputs and outputs, reuse explanation and
    environment. None when the run has no such step."""
    from canalis.step_states import plan_steps

    specs, _ = plan_steps(ledger, run_id)
    spec = next((s for s in specs if s.name == step), None)
    rows = [r for r in ledger.step_runs(run_id) if r.step_name == step]
    if spec is None and not rows:
        return None
    row = rows[-1] if rows else None
    out = {"step": step, "run_id": run_id, "row": row, "status": status_text(row.status) if row else QUEUED,
           "logs": {}, "metrics": [], "inputs": [], "outputs": [], "why": None, "environment": None}
    if row is not None:
        for stream in ("stdout", "stderr"):
            out["logs"][stream] = read_log(ledger, store, runs_dir, run_id, row, stream)
        out["metrics"] = metric_blocks(ledger, row.step_run_id)
        trees = dict(row.inputs or [])
        for name, tree in trees.items():
            out["inputs"].append({"name": name, "digest": tree})
        for name, tree in (row.outputs or {}).items():
            out["outputs"].append({"name": name, "digest": tree})
        out["why"] = explanation(ledger, store, run_id, step)
    if spec is not None:
        if not out["inputs"]:
            out["inputs"] = [{"name": i.name, "digest": i.tree, "from": i.output} for i in spec.inputs]
        for i in out["inputs"]:
            si = next((x for x in spec.inputs if x.name == i["name"]), None)
            if si is not None:
                i["from"] = si.output or (f"dataset {si.dataset['name']}:{si.dataset['version']}" if si.dataset else "data")
        env = spec.environment or {}
        out["environment"] = {"digest": env.get("digest"), "definition": env.get("definition"),
                              "compute_target": spec.compute_target, "kind": spec.kind,
                              "script": spec.script, "source_tree": spec.source_tree}
    return out


def read_log(ledger, store, runs_dir, run_id: str, row, stream: str, offset: int = 0, limit: int = LOG_LIMIT) -> dict:
    """{"text", "offset" (where the text starts), "end" (bytes read so far), "cut"}: the log from
    `offset`, or its last `limit` bytes when it is longer (the whole log is downloadable)."""
    from canalis.core.run_logs import LogSource, chunks

    source = LogSource(ledger, store, str(runs_dir), run_id)
    f = source.open(row, stream, offset)
    if f is None:
        return {"text": "", "offset": offset, "end": offset, "cut": False,
                "digest": reports.log_digest(ledger, row, stream)}
    from collections import deque

    parts, held, end = deque(), 0, offset  # the last chunks read, at least `limit` bytes of them
    with f:
        for data in chunks(f):
            parts.append(data)
            held += len(data)
            end += len(data)
            while len(parts) > 1 and held - len(parts[0]) >= limit:  # a long log is not copied per chunk
                held -= len(parts.popleft())
    kept = b"".join(parts)[-limit:]
    start = end - len(kept)
    return {"text": kept.decode("utf-8", "replace"), "offset": start, "end": end, "cut": start > offset,
            "digest": reports.log_digest(ledger, row, stream)}


def metric_blocks(ledger, step_run_id: str | None, run_id: str | None = None) -> list[dict]:
    """Metrics as things to draw: {"name", "kind": "scalar"|"series"|"table"|"value", ...}."""
    from canalis.core import metrics as m

    rows = ledger.step_metrics(step_run_id) if step_run_id else [r for r in ledger.run_metrics(run_id)
                                                                  if not r.step_run_id]
    out = []
    for name, value in m.fold(rows).items():
        if isinstance(value, list):
            nums = charts.numbers(value)
            if nums is not None:
                out.append({"name": name, "kind": "series", "values": value, "chart": charts.line_chart(nums)})
            else:
                out.append({"name": name, "kind": "value", "value": value})
        elif isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
            cols = list(value)
            n = max(len(v) for v in value.values())
            out.append({"name": name, "kind": "table", "columns": cols,
                        "rows": [[value[c][i] if i < len(value[c]) else None for c in cols] for i in range(n)]})
        else:
            out.append({"name": name, "kind": "scalar" if not isinstance(value, dict) else "value", "value": value})
    return out


def explanation(ledger, store, run_id: str, step: str) -> dict | None:
    """`canalis why RUN STEP` as the page shows it."""
    from canalis.executor.errors import ExecutorError
    from canalis.executor.why import explain
    from canalis.plan_report import describe_difference

    try:
        result = explain(ledger, store, run_id, step)
    except ExecutorError as e:
        return {"decision": "unknown", "reason": str(e), "lines": []}
    lines = [describe_difference(d) for d in result.get("differences", [])]
    for kind, items in (result.get("packages_changed") or {}).items():
        if items:
            lines.append(f"packages {kind}: {', '.join(items)}")
    return {"decision": result.get("decision"), "reason": result.get("reason"), "lines": lines}


def lineage_graph(ledger, store, ref: str) -> dict:
    """The lineage of `ref` (a dataset:NAME:V or model:NAME:V, a run) as a laid-out graph."""
    from canalis.executor.lineage import lineage
    from canalis.executor.lineage_dot import _label, graph as fold

    result = lineage(ledger, store, ref)
    nodes, edges = fold(result)
    ids = sorted(nodes, key=lambda n: (nodes[n]["kind"] != "data", n))
    try:
        lay = dag.layout(ids, list(edges), {k: _short(", ".join(sorted(v)), 13) for k, v in edges.items()})
    except ValueError:
        return {"width": 0, "height": 0, "nodes": [], "edges": [], "w": dag.NODE_W, "h": dag.NODE_H}
    drawn = []
    for nid in ids:
        n = nodes[nid]
        x, y = lay.nodes[nid]
        label = _label(n).split("\\n")
        href = None
        if n["kind"] == "step" and n.get("run_id") and n.get("name"):
            href = f"/runs/{n['run_id']}/steps/{n['name']}"
        elif n["kind"] == "run":
            href = f"/runs/{nid.partition(':')[2]}"
        elif n["kind"] in ("dataset", "model"):
            href = f"/{n['kind']}s/{nid.split(':')[1]}"
        drawn.append({"id": nid, "kind": n["kind"], "x": x, "y": y, "lines": label[:2], "href": href,
                      "status": status_text(n.get("status") or n["kind"]), "focus": nid == result["node"],
                      "reused": bool(n.get("reused"))})
    return {"width": lay.width, "height": lay.height, "nodes": drawn, "w": dag.NODE_W, "h": dag.NODE_H,
            "edges": [{**e, "d": dag.path(e["points"])} for e in lay.edges], "node": result["node"]}


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


__all__ = ["graph", "lineage_graph", "live_state", "metric_blocks", "read_log", "run_list_row", "runs_page",
           "step_view"]
