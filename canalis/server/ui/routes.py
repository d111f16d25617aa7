"""The pages of the web UI and where they are found.

Addresses people bookmark are the short ones (`/`, `/experiments/<name>`, `/runs/<run id>`,
`/runs/<run id>/steps/<step>`, `/compare?runs=a,b`, `/datasets/<name>`, `/models/<name>`,
`/pipelines`, `/audit`). The pages themselves are routes under `/ui/`; `Pages` (an ASGI
wrapper) sends a GET of a short address there. `/runs/<id>` and `/pipelines` are also REST
routes (docs/rest-api.md): a request for them goes to the page only when it asks for HTML
(`Accept: text/html`, as browsers send), so REST clients keep their JSON.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from canalis.server.ui import access, views

HERE = Path(__file__).parent
_UI_ONLY = re.compile(r"^/(?:$|experiments/[^/]+/?$|runs/[^/]+/steps/[^/]+/?$|compare/?$|datasets/?(?:[^/]+/?)?$|"
                      r"models/?(?:[^/]+/?)?$|audit/?$)")
_SHARED = re.compile(r"^/(?:runs/[^/]+|pipelines)/?$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class Pages:
    """ASGI wrapper: a GET or HEAD of a page's short address is served by its `/ui/` route."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            wants_html = any(k == b"accept" and b"text/html" in v for k, v in scope.get("headers", ()))
            if _UI_ONLY.match(path) or (wants_html and _SHARED.match(path)):
                scope = dict(scope, path="/ui" + path.rstrip("/") if path != "/" else "/ui/",
                             raw_path=None)
        await self.app(scope, receive, send)


class NoSuchPage(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["u"] = lambda s: quote(str(s), safe="")
    env.filters["short"] = lambda s, n=12: (str(s)[:n] if s else "")
    env.filters["secs"] = _seconds
    env.filters["when"] = lambda s: (str(s).replace("T", " ")[:19] if s else "")
    env.filters["value"] = _value
    return env


def _seconds(v) -> str:
    if v is None:
        return ""
    from canalis.durations import format_duration

    return format_duration(v)


def _value(v) -> str:
    import json

    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, default=str)
    return "" if v is None else str(v)


def install(app: FastAPI, workspace, host: str) -> None:
    """Add the UI's routes to `app` (the REST app of `canalis serve`)."""
    ledger, store = workspace.ledger, workspace.store
    runs_dir = workspace._layout.runs
    env = _environment()
    app.state.ui_open_read = access.open_for_reading(host)
    app.state.ui_workspace = workspace.name
    router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(access.reader)])

    def page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        html = env.get_template(template).render(workspace=workspace.name, path=request.url.path,
                                                 open_read=request.app.state.ui_open_read, **context)
        return HTMLResponse(html, status_code=status)

    @app.exception_handler(access.SignInNeeded)
    async def sign_in(request: Request, e: access.SignInNeeded):
        return page(request, "login.html", 401, message=e.message, back=str(request.url.path))

    @app.exception_handler(NoSuchPage)
    async def no_such(request: Request, e: NoSuchPage):
        return page(request, "missing.html", 404, message=e.message)

    def run_row(run_id: str):
        row = ledger.run(run_id)
        if row is None:
            raise NoSuchPage(f"no run has id {run_id!r}; the experiments page lists the runs")
        return row

    # -- experiments and runs -------------------------------------------------------------
    @router.get("/", response_class=HTMLResponse)
    def experiments(request: Request):
        rows = []
        for e in ledger.experiments():
            last = ledger.run(e.last_run_id)
            rows.append({"name": e.name, "runs": e.run_count, "last_run_id": e.last_run_id,
                         "last_status": views.status_text(views.effective_status(last)) if last else "",
                         "last_at": e.last_run_at})
        return page(request, "experiments.html", experiments=rows, title="Experiments")

    @router.get("/experiments/{name}", response_class=HTMLResponse)
    def experiment(request: Request, name: str, status: list[str] = Query(default=[]),
                   tag: list[str] = Query(default=[]), sort: str = "submitted", order: str = "desc",
                   page_: int = Query(default=1, alias="page"), size: int = 50):
        from canalis.ledger.queries import RUN_SORTS
        from canalis.ledger.status import RunStatus

        known = [s.value for s in RunStatus if s.value != "Orphaned"]  # (derived, never recorded: not a filter)
        statuses = [s for s in status if s]
        problems = [f"unknown status {s!r} (one of {', '.join(known)})" for s in statuses if s not in known]
        if sort not in RUN_SORTS and not (sort.startswith("param:") and len(sort) > 6):
            problems.append(f"cannot sort by {sort!r} (one of {', '.join(RUN_SORTS)}, or param:NAME)")
            sort = "submitted"
        size = size if size in views.PAGE_SIZES else 50
        tags = []
        for t in tag:
            if t.strip():
                k, eq, v = t.partition("=")
                tags.append((k.strip(), v.strip() if eq else None))
        data = views.runs_page(ledger, name, [s for s in statuses if s in known], tags, sort, order != "asc", size,
                               max(1, page_))
        if data["total"] == 0 and not statuses and not tags and not ledger.runs(name, limit=1):
            raise NoSuchPage(f"no experiment is named {name!r}; the experiments page lists them")
        params = sorted({k for r in data["runs"] for k in r["parameters"]})

        def link(**change):
            q = {"status": statuses, "tag": [t for t in tag if t.strip()], "sort": sort, "order": order,
                 "page": data["page"], "size": size, **change}
            parts = []
            for k, v in q.items():
                for item in (v if isinstance(v, list) else [v]):
                    parts.append(f"{k}={quote(str(item), safe='')}")
            return f"/experiments/{quote(name, safe='')}?" + "&".join(parts)

        return page(request, "experiment.html", title=f"Experiment {name}", name=name, data=data, params=params,
                    statuses=statuses, tag=" ".join(t for t in tag if t.strip()), tags=[t for t in tag if t.strip()],
                    sort=sort, order=order, known=known, link=link, problems=problems, sizes=views.PAGE_SIZES,
                    sorts=RUN_SORTS)

    @router.get("/runs/{run_id}", response_class=HTMLResponse)
    def run(request: Request, run_id: str):
        row = run_row(run_id)
        summary = views.run_summary(ledger, run_id)
        from canalis.step_states import step_states

        states = step_states(ledger, run_id)
        return page(request, "run.html", title=f"Run {run_id}", run=summary, row=row, who=views.who(row),
                    graph=views.graph(ledger, run_id, states), states=states,
                    metrics=views.metric_blocks(ledger, None, run_id=run_id))

    @router.get("/runs/{run_id}/steps/{step}", response_class=HTMLResponse)
    def step(request: Request, run_id: str, step: str):
        row = run_row(run_id)
        data = views.step_view(ledger, store, runs_dir, run_id, step)
        if data is None:
            raise NoSuchPage(f"run {run_id} has no step named {step!r}")
        return page(request, "step.html", title=f"{step} of run {run_id}", s=data, run=row,
                    run_status=views.status_text(views.effective_status(row)))

    @router.get("/live/runs/{run_id}")
    def live_run(run_id: str):
        run_row(run_id)
        return JSONResponse(views.live_state(ledger, run_id))

    @router.get("/live/runs/{run_id}/steps/{step}/logs/{stream}")
    def live_log(run_id: str, step: str, stream: str, offset: int = 0):
        run_row(run_id)
        if stream not in ("stdout", "stderr"):
            raise NoSuchPage(f"a step's logs are stdout and stderr, not {stream!r}")
        rows = [r for r in ledger.step_runs(run_id) if r.step_name == step]
        state = views.live_state(ledger, run_id)
        if not rows:
            return JSONResponse({"text": "", "end": offset, "status": "Queued", "ended": state["ended"]})
        log = views.read_log(ledger, store, runs_dir, run_id, rows[-1], stream, max(0, offset))
        return JSONResponse({"text": log["text"], "offset": log["offset"], "end": log["end"],
                             "status": views.status_text(rows[-1].status),
                             "ended": state["ended"] or rows[-1].status != views.StepStatus.Running})

    @router.get("/compare", response_class=HTMLResponse)
    def compare(request: Request, runs: str = "", run: list[str] = Query(default=[])):
        from canalis.executor.compare import diff_runs
        from canalis.run_compare import compare as side_by_side

        ids = list(dict.fromkeys([r.strip() for r in runs.split(",") if r.strip()] + [r for r in run if r.strip()]))
        missing = [r for r in ids if ledger.run(r) is None]
        if missing:
            raise NoSuchPage(f"no run has id {', '.join(map(repr, missing))}")
        table = side_by_side(ledger, ids) if len(ids) >= 2 else None
        diffs = [diff_runs(ledger, store, ids[0], other) for other in ids[1:]] if len(ids) >= 2 else []
        recent = ledger.runs(limit=50) if len(ids) < 2 else []
        return page(request, "compare.html", title="Compare runs", ids=ids, table=table, diffs=diffs,
                    recent=[views.run_list_row(r, {}) | {"experiment": r.experiment} for r in recent])

    # -- datasets and models --------------------------------------------------------------
    def registry(request: Request, kind: str, name: str | None, version: int | None):
        listing = ledger.datasets() if kind == "dataset" else ledger.models()
        if name is None:
            return page(request, "registry.html", title=kind.capitalize() + "s", kind=kind, items=listing)
        versions = ledger.dataset_versions(name) if kind == "dataset" else ledger.model_versions(name)
        if not versions:
            raise NoSuchPage(f"no {kind} is named {name!r}; the {kind}s page lists them")
        chosen = next((v for v in versions if v.version == version), None) if version else \
            max(versions, key=lambda v: v.version)
        if chosen is None:
            raise NoSuchPage(f"{kind} {name!r} has no version {version}")
        lineage = views.lineage_graph(ledger, store, f"{kind}:{name}:{chosen.version}")
        return page(request, "versions.html", title=f"{kind.capitalize()} {name}", kind=kind, name=name,
                    versions=sorted(versions, key=lambda v: -v.version), chosen=chosen, lineage=lineage)

    @router.get("/datasets", response_class=HTMLResponse)
    def datasets(request: Request):
        return registry(request, "dataset", None, None)

    @router.get("/datasets/{name}", response_class=HTMLResponse)
    def dataset(request: Request, name: str, version: int | None = None):
        return registry(request, "dataset", name, version)

    @router.get("/models", response_class=HTMLResponse)
    def models(request: Request):
        return registry(request, "model", None, None)

    @router.get("/models/{name}", response_class=HTMLResponse)
    def model(request: Request, name: str, version: int | None = None):
        return registry(request, "model", name, version)

    # -- stored content -------------------------------------------------------------------
    def known_digest(digest: str) -> str:
        if not _DIGEST.match(digest) or not store.exists(digest):
            raise NoSuchPage(f"the store holds no object {digest!r}")
        return digest

    @router.get("/trees/{digest}", response_class=HTMLResponse)
    def tree(request: Request, digest: str):
        entries = store.get_tree(known_digest(digest))
        return page(request, "tree.html", title=f"Tree {digest[:12]}", digest=digest, entries=entries)

    @router.get("/blobs/{digest}")
    def blob(digest: str, name: str = "blob"):
        from canalis.core.run_logs import chunks

        f = store.open(known_digest(digest))

        def body():
            with f:
                yield from chunks(f)

        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name.rsplit("/", 1)[-1]) or "blob"
        return StreamingResponse(body(), media_type="application/octet-stream",
                                 headers={"Content-Disposition": f'attachment; filename="{safe}"'})

    # -- published pipelines, endpoints, schedules ----------------------------------------
    @router.get("/pipelines", response_class=HTMLResponse)
    def pipelines(request: Request, done: str | None = None):
        return page(request, "pipelines.html", title="Published pipelines", pipelines=ledger.pipelines(),
                    endpoints=ledger.endpoints(), schedules=ledger.schedules(), done=done)

    # -- audit --------------------------------------------------------------------------------
    @router.get("/audit", response_class=HTMLResponse)
    def audit(request: Request, stream: str = "", type: str = "", since: int | None = None, verify: bool = True):
        import itertools
        import json

        head_seq, head_hash = ledger.head()
        filtered = bool(stream or type)
        start = since if since is not None else (0 if filtered else max(0, head_seq - views.EVENTS_PER_PAGE))
        events = list(itertools.islice(ledger.events(stream=stream or None, type=type or None, since=start),
                                       views.EVENTS_PER_PAGE + 1))
        more = len(events) > views.EVENTS_PER_PAGE
        events = events[:views.EVENTS_PER_PAGE]
        shown = [{"seq": e.seq, "time": e.time, "type": e.type, "stream": e.stream, "hash": e.hash,
                  "payload": json.dumps(e.payload, sort_keys=True, default=str)[:400]} for e in events]
        checked = ledger.verify() if verify else None
        return page(request, "audit.html", title="Audit", head_seq=head_seq, head_hash=head_hash, checked=checked,
                    events=shown, stream=stream, type=type, start=start, more=more,
                    next_since=events[-1].seq if events else start,
                    prev_since=max(0, start - views.EVENTS_PER_PAGE) if start > 0 else None)

    app.include_router(router)

    changes = APIRouter(prefix="/ui", include_in_schema=False)
    setters = {"pipeline": "set_pipeline_enabled", "endpoint": "set_endpoint_enabled",
               "schedule": "set_schedule_enabled"}

    @changes.post("/pipelines/{kind}/{ident}/{action}")
    def change(request: Request, kind: str, ident: str, action: str, token: str | None = Form(default=None)):
        from canalis.executor.errors import ExecutorError

        if kind not in setters or action not in ("enable", "disable"):
            raise NoSuchPage(f"nothing to {action} for {kind!r}")
        access.writer(request, token)
        try:
            getattr(workspace.session, setters[kind])(ident, action == "enable")
        except ExecutorError as e:
            raise NoSuchPage(str(e)) from None
        return RedirectResponse(f"/pipelines?done={quote(f'{kind} {ident} {action}d', safe='')}", status_code=303)

    @changes.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, back: str = "/"):
        return page(request, "login.html", message=None, back=back)

    @changes.post("/login")
    def login(request: Request, token: str = Form(...), back: str = Form(default="/")):
        if request.app.state.session.authenticate(token.strip()) is None:
            return page(request, "login.html", 401, message="that token is unknown or revoked; "
                                                            "`canalis token create NAME` makes one", back=back)
        target = back if back.startswith("/") and not back.startswith("//") else "/"
        if target.startswith("/ui/"):
            target = target[3:]
        response = RedirectResponse(target or "/", status_code=303)
        response.set_cookie(access.COOKIE, token.strip(), httponly=True, samesite="strict")
        return response

    app.include_router(changes)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")


__all__ = ["NoSuchPage", "Pages", "install"]
