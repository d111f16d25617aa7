"""The REST API over real HTTP: a `canalis serve` process on 127.0.0.1, called with
requests as SDK v1 REST code calls a published pipeline."""
from __future__ import annotations

import pytest
import requests

from canalis.core import Experiment
from canalis.core.authentication import InteractiveLoginAuthentication
from canalis.pipeline.core import PipelineEndpoint, PublishedPipeline
from canalis.pipeline.core.run import PipelineRun
from tests.server.conftest import bearer, canalis, wait_for


def _finished(server, headers, run_id):
    def done():
        body = requests.get(f"{server.url}/runs/{run_id}", headers=headers, timeout=10).json()
        return body if body["Status"] in ("Completed", "Failed", "Canceled", "Orphaned") else None

    return wait_for(done, f"run {run_id} finishes")


def test_sdk_v1_rest_code_runs_a_published_pipeline_with_parameters(ws, published, server, counter):
    published = PublishedPipeline.get(ws, published.id)  # its endpoint is built on the recorded address
    assert published.endpoint == f"{server.url}/pipelines/{published.id}/runs"
    auth = InteractiveLoginAuthentication()
    headers = auth.get_authentication_header(ws)
    r = requests.post(published.endpoint, headers=headers,
                      json={"ExperimentName": "rest", "ParameterAssignments": {"n": 7}})
    assert r.status_code == 201, r.text
    run_id = r.json()["Id"]
    assert _finished(server, headers, run_id)["Status"] == "Completed"
    run = PipelineRun(Experiment(ws, "rest"), run_id)
    assert run.get_status() == "Completed"
    assert "argv:7|x" in run.find_step_run("echo")[0].get_stdout_log()
    trigger = ws.ledger.run(run_id).trigger
    assert trigger["via"] == "rest" and trigger["by"] == "local" and trigger["pipeline_id"] == published.id
    steps = requests.get(f"{server.url}/runs/{run_id}/steps", headers=headers, timeout=10).json()
    assert [(s["Name"], s["Status"]) for s in steps] == [("echo", "Completed")]


def test_a_named_token_is_recorded_as_who_triggered_the_run(ws, published, server, token):
    r = requests.post(f"{server.url}/pipelines/{published.id}/runs", headers=bearer(token),
                      json={"ExperimentName": "rest", "ParameterAssignments": {"who": "ci"}})
    assert r.status_code == 201, r.text
    assert ws.ledger.run(r.json()["Id"]).trigger["by"] == "ci"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer cnl_not-a-token"}, {"Authorization": "Basic eDp5"}])
def test_401_without_a_valid_token(ws, published, server, headers):
    for method, path in [("get", "/pipelines"), ("get", f"/pipelines/{published.id}"), ("get", "/openapi.json"),
                         ("post", f"/pipelines/{published.id}/runs")]:
        r = requests.request(method, server.url + path, headers=headers, json={"ExperimentName": "x"}, timeout=10)
        assert r.status_code == 401, (path, r.text)
        assert "bearer token" in r.json()["message"]
    assert requests.get(server.url + "/health", timeout=10).status_code == 200
    assert list(ws.ledger.events(type="run.submitted")) == []


def test_a_revoked_token_is_refused(ws, published, server, token):
    assert requests.get(f"{server.url}/pipelines", headers=bearer(token), timeout=10).status_code == 200
    canalis(ws.root, "token", "revoke", "ci")
    r = requests.get(f"{server.url}/pipelines", headers=bearer(token), timeout=10)
    assert r.status_code == 401


@pytest.mark.parametrize("body,status,message", [
    ({"ExperimentName": "rest", "ParameterAssignments": {"nope": 1}}, 422, "no parameter named 'nope'"),
    ({"ExperimentName": "rest", "ParameterAssignments": {"n": "seven"}}, 422, "'n' must be an integer"),
    ({"ParameterAssignments": {}}, 422, "ExperimentName"),
    ({"ExperimentName": "rest", "Unknown": 1}, 422, "Unknown"),
    ({"ExperimentName": "no spaces allowed"}, 422, "ExperimentName"),
    ({"ExperimentName": "rest", "ParameterAssignments": {"who": "a\u0000b"}}, 422, "NUL"),
    ({"ExperimentName": "rest", "ParameterAssignments": {"who": "AKIAIOSFODNN7EXAMPLE"}}, 422, "AWS access key"),
])
def test_bad_bodies_are_refused_naming_the_problem_and_nothing_is_submitted(ws, published, server, token, body,
                                                                           status, message):
    r = requests.post(f"{server.url}/pipelines/{published.id}/runs", headers=bearer(token), json=body, timeout=10)
    assert r.status_code == status, r.text
    assert message in r.json()["message"]
    assert list(ws.ledger.events(type="run.submitted")) == []


def test_bad_json_and_unknown_ids_are_4xx(ws, published, server, token):
    headers = {**bearer(token), "Content-Type": "application/json"}
    r = requests.post(f"{server.url}/pipelines/{published.id}/runs", headers=headers, data=b"{not json", timeout=10)
    assert r.status_code == 422 and "JSON" in r.json()["message"]
    for path in ("/pipelines/nope", "/endpoints/nope", "/runs/nope", "/runs/nope/steps", "/schedules/nope"):
        r = requests.get(server.url + path, headers=bearer(token), timeout=10)
        assert r.status_code == 404 and "nope" in r.json()["message"], path
    r = requests.post(f"{server.url}/pipelines/nope/runs", headers=bearer(token), json={"ExperimentName": "e"})
    assert r.status_code == 404
    assert list(ws.ledger.events(type="run.submitted")) == []


def test_a_disabled_pipeline_refuses_runs_over_http_until_enabled(ws, published, server, token):
    url = f"{server.url}/pipelines/{published.id}"
    assert requests.post(url + "/disable", headers=bearer(token), timeout=10).json()["Status"] == "Disabled"
    r = requests.post(url + "/runs", headers=bearer(token), json={"ExperimentName": "rest"}, timeout=10)
    assert r.status_code == 409 and "disabled" in r.json()["message"]
    assert list(ws.ledger.events(type="run.submitted")) == []
    assert PublishedPipeline.get(ws, published.id).status == "Disabled"
    assert requests.post(url + "/enable", headers=bearer(token), timeout=10).json()["Status"] == "Active"
    r = requests.post(url + "/runs", headers=bearer(token), json={"ExperimentName": "rest"}, timeout=10)
    assert r.status_code == 201


def test_pipeline_endpoint_runs_the_default_or_the_named_version(ws, published, server, token, tmp_path):
    second = PipelineRun(Experiment(ws, "e"), Experiment(ws, "e").submit(published).id)
    assert second.wait_for_completion() == "Completed"
    other = second.publish_pipeline(name="echo-2", version="2")
    endpoint = PipelineEndpoint.publish(ws, "ep", "two versions", published)
    endpoint.add(other)
    url = f"{server.url}/endpoints/{endpoint.id}"
    listed = requests.get(f"{server.url}/endpoints", headers=bearer(token), timeout=10).json()
    assert [(e["Name"], e["DefaultVersion"], len(e["Versions"])) for e in listed] == [("ep", "0", 2)]
    r = requests.post(url + "/runs", headers=bearer(token), json={"ExperimentName": "ep"}, timeout=10)
    assert r.status_code == 201 and r.json()["PipelineId"] == published.id
    r = requests.post(url + "/runs", headers=bearer(token), json={"ExperimentName": "ep", "PipelineVersion": "1"})
    assert r.status_code == 201 and r.json()["PipelineId"] == other.id
    assert ws.ledger.run(r.json()["Id"]).trigger["endpoint_id"] == endpoint.id
    r = requests.post(url + "/runs", headers=bearer(token), json={"ExperimentName": "ep", "PipelineVersion": "9"})
    assert r.status_code == 404 and "no version '9'" in r.json()["message"]
    endpoint.set_default_version("1")
    r = requests.post(url + "/runs", headers=bearer(token), json={"ExperimentName": "ep"}, timeout=10)
    assert r.json()["PipelineId"] == other.id
    assert requests.post(url + "/disable", headers=bearer(token), timeout=10).status_code == 200
    r = requests.post(url + "/runs", headers=bearer(token), json={"ExperimentName": "ep"}, timeout=10)
    assert r.status_code == 409


def test_the_openapi_document_is_served(ws, server, token):
    doc = requests.get(f"{server.url}/openapi.json", headers=bearer(token), timeout=10).json()
    assert {"/pipelines/{pipeline_id}/runs", "/endpoints/{endpoint_id}/runs", "/runs/{run_id}", "/health"} <= set(doc["paths"])


def test_the_token_is_printed_once_alone_on_the_last_line_and_stored_as_a_digest(ws):
    r = canalis(ws.root, "token", "create", "deploy")
    text = r.stdout.strip().splitlines()[-1]
    assert text.startswith("cnl_") and len(text) > 40 and r.stdout.strip() == text
    rows = [t for t in ws.ledger.tokens() if t.name == "deploy"]
    assert len(rows) == 1 and text not in repr(rows[0]) and text not in (ws.root / ".canalis" / "ledger.db").read_bytes().decode("latin-1")
    listed = canalis(ws.root, "token", "list", "--json").stdout
    assert "deploy" in listed and text not in listed
    again = canalis(ws.root, "token", "create", "deploy", check=False)
    assert again.returncode == 1 and "exists" in again.stderr and "Traceback" not in again.stderr


def test_the_local_token_file_is_readable_by_its_owner_only(ws):
    header = InteractiveLoginAuthentication().get_authentication_header(ws)
    path = ws.root / ".canalis" / "local-token"
    assert path.stat().st_mode & 0o777 == 0o600
    assert header == {"Authorization": f"Bearer {path.read_text().strip()}"}
    assert InteractiveLoginAuthentication().get_authentication_header(ws) == header
