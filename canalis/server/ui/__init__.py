"""The web UI of `canalis serve`: experiments, runs, pipeline graphs, logs, metrics, datasets,
models, published pipelines and the audit trail, as server-rendered HTML read from the ledger
and the store only (docs/web-ui.md).

Every script and stylesheet ships in `static/`; pages read without JavaScript, which adds
live updates of a running run and log streaming. `routes.py` holds the pages, `access.py` who
may read and change, `views.py` what the pages show, `dag.py` and `charts.py` the drawings.
"""
from canalis.server.ui.routes import Pages, install

__all__ = ["Pages", "install"]
