"""The web UI's pages over HTTP (no browser): addresses, pagination, tokens."""
from __future__ import annotations

import re

import pytest
import requests

from tests.server.conftest import Server, bearer
from tests.server.ui.conftest import MANY

HTML = {"Accept": "text/html,application/xhtml+xml"}


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-run="([^"]+)"', html)


def test_runs_page_is_paginated_server_side(ui_demo):
    """Only one page of runs is read and sent, whatever the history; the rest is pages away."""
    base = f"{ui_demo.url}/experiments/many"
    first = requests.get(base, params={"size": 50}, timeout=30)
    assert first.status_code == 200
    assert f"{MANY} runs; page 1 of 25" in first.text
    assert len(rows(first.text)) == 50
    assert rows(first.text)[0] == f"many_{MANY - 1:06d}"  # newest first
    last = requests.get(base, params={"size": 50, "page": 25}, timeout=30)
    assert rows(last.text) == [f"many_{i:06d}" for i in range(9, -1, -1)]
    # filters and sorting happen in the query, before the page is cut
    failed = requests.get(base, params={"status": "Failed", "tag": "team=vision", "size": 200}, timeout=30)
    expected = [i for i in range(MANY) if i % 7 == 0 and i % 5 == 0]
    assert f"{len(expected)} runs" in failed.text
    assert sorted(rows(failed.text)) == sorted(f"many_{i:06d}" for i in expected)
    by_duration = requests.get(base, params={"sort": "duration", "order": "asc", "size": 25}, timeout=30)
    assert rows(by_duration.text)[0].endswith("000000") is False
    assert all(int(r[-6:]) % 11 == 0 and int(r[-6:]) % 7 for r in rows(by_duration.text))  # the 3 s ones first
    by_param = requests.get(base, params={"sort": "param:i", "order": "asc", "size": 25}, timeout=30)
    assert rows(by_param.text) == [f"many_{i:06d}" for i in range(25)]
    failed_first = requests.get(base, params={"sort": "failed", "order": "desc", "size": 25}, timeout=30)
    assert all(int(r[-6:]) % 7 == 0 for r in rows(failed_first.text))


def test_bad_filters_are_named_not_raised(ui_demo):
    r = requests.get(f"{ui_demo.url}/experiments/many", params={"status": "Finished", "sort": "colour"}, timeout=30)
    assert r.status_code == 200
    assert "unknown status &#39;Finished&#39;" in r.text and "cannot sort by &#39;colour&#39;" in r.text
    missing = requests.get(f"{ui_demo.url}/experiments/nothing-here", timeout=30)
    assert missing.status_code == 404 and "no experiment is named" in missing.text


def test_rest_clients_keep_json_on_shared_addresses(ui_demo):
    """/runs/<id> and /pipelines are REST routes too: a page only for a request asking for HTML."""
    run_id = ui_demo.runs[0]
    api = requests.get(f"{ui_demo.url}/runs/{run_id}", headers=bearer(ui_demo.token), timeout=30)
    assert api.headers["content-type"].startswith("application/json") and api.json()["Id"] == run_id
    assert requests.get(f"{ui_demo.url}/runs/{run_id}", timeout=30).status_code == 401  # the API still needs a token
    assert requests.get(f"{ui_demo.url}/pipelines", headers=bearer(ui_demo.token), timeout=30).json()[0]["Name"] == \
        "demo-nightly"
    page = requests.get(f"{ui_demo.url}/runs/{run_id}", headers=HTML, timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-step="prepare"' in page.text
    assert "demo-nightly" in requests.get(f"{ui_demo.url}/pipelines", headers=HTML, timeout=30).text
    assert requests.get(f"{ui_demo.url}/runs/no-such-run", headers=HTML, timeout=30).status_code == 404


def test_pages_read_without_javascript(ui_demo):
    """Everything a page shows is in its HTML: the graph, logs, charts, lineage, audit."""
    first, second = ui_demo.runs
    run = requests.get(f"{ui_demo.url}/runs/{second}", headers=HTML, timeout=30).text
    assert re.search(r'class="node s-reused reused"\s+data-step="prepare"', run)
    assert re.search(r'class="node s-failed"\s+data-step="evaluate"', run)
    step = requests.get(f"{ui_demo.url}/runs/{second}/steps/evaluate", timeout=30).text
    assert "evaluation failed: the model scored below the threshold" in step
    train = requests.get(f"{ui_demo.url}/runs/{first}/steps/train", timeout=30).text
    assert 'data-metric="loss"' in train and "<polyline" in train
    compare = requests.get(f"{ui_demo.url}/compare", params={"runs": f"{first},{second}"}, timeout=30).text
    assert "parameter rate: 0.5 → 0.25" in compare
    audit = requests.get(f"{ui_demo.url}/audit", timeout=30).text
    assert "the hash chain holds" in audit
    lineage = requests.get(f"{ui_demo.url}/models/clf", timeout=30).text
    assert f'href="/runs/{second}/steps/train"' in lineage


def test_datasets_and_their_lineage(ui_demo):
    listing = requests.get(f"{ui_demo.url}/datasets", timeout=30).text
    assert 'href="/datasets/raw"' in listing and "input rows" in listing
    page = requests.get(f"{ui_demo.url}/datasets/raw", timeout=30).text
    assert "Lineage of version 1" in page
    assert f'href="/runs/{ui_demo.runs[0]}/steps/prepare"' in page  # the step that read it (run 2 reused it)
    assert 'href="/models/clf"' in page  # and the model made from it
    assert requests.get(f"{ui_demo.url}/datasets/raw", params={"version": 7}, timeout=30).status_code == 404


def test_changes_need_a_token(ui_demo):
    pid = ui_demo.pipeline_id
    url = f"{ui_demo.url}/ui/pipelines/pipeline/{pid}/disable"
    refused = requests.post(url, data={"token": "cnl_not-a-token"}, timeout=30, allow_redirects=False)
    assert refused.status_code == 401 and "changes need a valid token" in refused.text
    assert ui_demo.ws.ledger.pipeline(pid).enabled
    done = requests.post(url, data={"token": ui_demo.token}, timeout=30, allow_redirects=False)
    assert done.status_code == 303
    assert not ui_demo.ws.ledger.pipeline(pid).enabled
    back = requests.post(f"{ui_demo.url}/ui/pipelines/pipeline/{pid}/enable", headers=bearer(ui_demo.token),
                         timeout=30, allow_redirects=False)
    assert back.status_code == 303 and ui_demo.ws.ledger.pipeline(pid).enabled


@pytest.mark.slow
def test_beyond_loopback_every_page_needs_a_token(ui_demo, tmp_path):
    """On another address (127.0.0.2 here) no page opens without a token; sign-in keeps it in a cookie."""
    server = Server(ui_demo.root, tmp_path / "serve2.log", host="127.0.0.2").start()
    try:
        for path in ("/", f"/runs/{ui_demo.runs[0]}", "/audit", "/models/clf", f"/ui/live/runs/{ui_demo.runs[0]}"):
            r = requests.get(server.url + path, headers=HTML, timeout=30)
            assert r.status_code == 401 and "every page needs a token" in r.text, path
        assert requests.get(server.url + "/", headers={**HTML, **bearer(ui_demo.token)}, timeout=30).status_code == 200
        s = requests.Session()
        wrong = s.post(server.url + "/ui/login", data={"token": "nope", "back": "/audit"}, timeout=30)
        assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
        signed = s.post(server.url + "/ui/login", data={"token": ui_demo.token, "back": "/audit"}, timeout=30)
        assert signed.status_code == 200 and signed.url.endswith("/audit") and "the hash chain holds" in signed.text
    finally:
        server.stop()
