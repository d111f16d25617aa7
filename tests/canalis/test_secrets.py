"""Secrets: the keyvault, what a step reads through its run context, masked logs, and the
refusal of credential-looking names and values at submit (docs/secrets.md)."""
from __future__ import annotations

import hashlib
import os
import stat

import pytest

from canalis.core import Environment, Experiment, Keyvault, RunConfiguration
from canalis.errors import WorkspaceError
from canalis.exceptions import PipelineValidationError, UserErrorException
from canalis.ledger import events as ev
from canalis.ledger.redact import REDACTED
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script

DB_URL = "postgres://app:Sup3rS3cret-pw@db.internal:5432/prod"
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def everything_stored(ws) -> bytes:
    """Every byte canalis keeps: the ledger file and its WAL, and every object of the store,
    decompressed."""
    ws.ledger  # opened, so its WAL exists
    data = b"".join(p.read_bytes() for p in ws.root.joinpath(".canalis").glob("ledger.db*"))
    return data + b"".join(ws.store.get_bytes(d) for d in ws.store.iter_objects())


def step(src, name="s", arguments=(), env=None, body="print('ok')"):
    script(src, f"{name}.py", body)
    rc = None
    if env is not None:
        e = Environment("with-env")
        e.environment_variables = dict(env)
        rc = RunConfiguration()
        rc.environment = e
    return PythonScriptStep(name=name, script_name=f"{name}.py", source_directory=str(src), arguments=list(arguments),
                            runconfig=rc)


# -- the keyvault -------------------------------------------------------------------------------


def test_keyvault_round_trip_and_events_name_only(ws):
    kv = ws.get_default_keyvault()
    assert isinstance(kv, Keyvault) and kv.list_secrets() == []
    kv.set_secret("db-url", DB_URL)
    kv.set_secrets({"gh_token": TOKEN, "empty": ""})
    assert kv.get_secret("db-url") == DB_URL
    assert kv.get_secrets(["gh_token", "empty"]) == {"gh_token": TOKEN, "empty": ""}
    assert kv.list_secrets() == [{"name": "db-url"}, {"name": "empty"}, {"name": "gh_token"}]
    kv.delete_secret("empty")
    assert [s["name"] for s in kv.list_secrets()] == ["db-url", "gh_token"]
    with pytest.raises(UserErrorException, match="no secret named 'nope'"):
        kv.get_secret("nope")
    with pytest.raises(UserErrorException, match="no secret named 'nope'"):
        kv.delete_secret("nope")
    with pytest.raises(UserErrorException, match="must start with a letter"):
        kv.set_secret("../x", "v")
    with pytest.raises(UserErrorException, match="must be a string"):
        kv.set_secret("n", 5)
    events = [(r.type, r.stream, r.payload) for r in ws.ledger.events(type="secret.")]
    assert events == [("secret.stored", "secret:db-url", {"name": "db-url"}),
                      ("secret.stored", "secret:empty", {"name": "empty"}),
                      ("secret.stored", "secret:gh_token", {"name": "gh_token"}),
                      ("secret.deleted", "secret:empty", {"name": "empty"})]
    stored = everything_stored(ws)
    assert DB_URL.encode() not in stored and TOKEN.encode() not in stored


def test_secret_file_is_created_0600_whatever_the_umask(ws):
    old = os.umask(0)
    try:
        ws.get_default_keyvault().set_secret("a", "b")
    finally:
        os.umask(old)
    path = ws.root / ".canalis" / "secrets.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".secrets")]  # no temp file left


def test_a_secret_file_others_can_read_is_refused_with_the_fix(ws):
    kv = ws.get_default_keyvault()
    kv.set_secret("a", "b")
    path = ws.root / ".canalis" / "secrets.json"
    os.chmod(path, 0o644)
    for call in (lambda: kv.get_secret("a"), lambda: kv.set_secret("c", "d"), kv.list_secrets):
        with pytest.raises(WorkspaceError, match=r"mode 0644.*chmod 600"):
            call()
    os.chmod(path, 0o600)
    assert kv.get_secret("a") == "b" and [s["name"] for s in kv.list_secrets()] == ["a"]


# -- a step reads secrets; its logs and metrics keep them masked ----------------------------------


READER = f"""
import hashlib, sys
from canalis.core import Run
run = Run.get_context()
url = run.get_secret("db-url")
both = run.get_secrets(["db-url", "gh"])
print("connecting to", url)
print("token", both["gh"], file=sys.stderr)
print("multi\\nline:", run.get_secret("pem"))
word = run.get_secret("word")
run.log("note", "used " + word)
run.tag("conn", word)
# the source is snapshotted into the store, so it names the values only by their digests
assert hashlib.sha256(url.encode()).hexdigest() == {hashlib.sha256(DB_URL.encode()).hexdigest()!r}
assert hashlib.sha256(both["gh"].encode()).hexdigest() == {hashlib.sha256(TOKEN.encode()).hexdigest()!r}
"""


def test_step_reads_secrets_and_its_logs_metrics_and_tags_are_masked(ws, src, counter):
    pem = "-----BEGIN PRIVATE KEY-----\nMIIBVgIBADANBg\nkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    ws.get_default_keyvault().set_secrets({"db-url": DB_URL, "gh": TOKEN, "pem": pem, "word": "opensesame-42",
                                             "unread": "n0t-read-by-step"})
    run = Experiment(ws, "sec").submit(Pipeline(ws, [step(src, "reader", body=READER)]))
    status = run.wait_for_completion(raise_on_error=False)
    s = run.find_step_run("reader")[0]
    assert status == "Completed", s.get_stderr_log()
    out, err = s.get_stdout_log(), s.get_stderr_log()
    assert "connecting to [MASKED]" in out and "multi\nline: [MASKED]" in out
    assert "token [MASKED]" in err
    assert s.get_metrics()["note"] == "used [MASKED]"
    assert s.get_tags()["conn"] == "[MASKED]"
    stored = everything_stored(ws)
    for value in (DB_URL, TOKEN, pem, "MIIBVgIBADANBg", "opensesame-42"):
        assert value.encode() not in stored, value
    assert not (ws.root / ".canalis" / "runs" / run.id).exists() or not any(
        DB_URL.encode() in p.read_bytes() for p in (ws.root / ".canalis" / "runs" / run.id).rglob("*.txt"))


def test_step_logs_of_a_failed_step_are_masked_too(ws, src, counter):
    ws.get_default_keyvault().set_secret("db-url", DB_URL)
    body = "from canalis.core import Run\nraise SystemExit('cannot reach ' + Run.get_context().get_secret('db-url'))\n"
    run = Experiment(ws, "sec").submit(Pipeline(ws, [step(src, "fails", body=body)]))
    assert run.wait_for_completion(raise_on_error=False) == "Failed"
    s = run.find_step_run("fails")[0]
    assert "cannot reach [MASKED]" in s.get_stderr_log()
    assert DB_URL.encode() not in everything_stored(ws)
    kept = list((ws.root / ".canalis" / "runs" / run.id).rglob("stderr.txt"))  # kept after a failure
    assert kept and all(DB_URL.encode() not in p.read_bytes() for p in kept)


def test_missing_secret_fails_the_step_with_a_clear_message(ws, src, counter):
    body = "from canalis.core import Run\nRun.get_context().get_secret('never-set')\n"
    run = Experiment(ws, "sec").submit(Pipeline(ws, [step(src, "missing", body=body)]))
    assert run.wait_for_completion(raise_on_error=False) == "Failed"
    assert "no secret named 'never-set'" in run.find_step_run("missing")[0].get_stderr_log()


# -- the leaks: refused at submit, never recorded ---------------------------------------------------


@pytest.mark.parametrize("name", ["DB_PASS", "GITHUB_PAT", "PASSPHRASE"])
def test_leak_credential_named_environment_variable_is_refused(ws, src, counter, name):
    value = f"v4lue-of-{name.lower()}"
    with pytest.raises(PipelineValidationError) as e:
        Experiment(ws, "leak").submit(Pipeline(ws, [step(src, env={name: value})]))
    assert f"environment variable {name!r}" in str(e.value) and "set_secret" in str(e.value)
    assert value.encode() not in everything_stored(ws)
    assert counter.lines() == []


def test_leak_dsn_url_with_a_password_is_refused(ws, src, counter):
    by_name = PipelineParameter("dsn", default_value="sqlite:///local.db")
    with pytest.raises(PipelineValidationError, match="pipeline parameter 'dsn'.*set_secret"):
        Experiment(ws, "leak").submit(Pipeline(ws, [step(src, arguments=["--db", by_name])]))
    by_value = PipelineParameter("database", default_value="sqlite:///local.db")
    pipeline = Pipeline(ws, [step(src, arguments=["--db", by_value])])
    with pytest.raises(PipelineValidationError) as e:
        Experiment(ws, "leak").submit(pipeline, pipeline_parameters={"database": DB_URL})
    assert "pipeline parameter 'database' holds a URL with a password" in str(e.value)
    assert "Sup3rS3cret" not in str(e.value) and "set_secret" in str(e.value)
    with pytest.raises(PipelineValidationError, match="argument 2 of step 's' holds a URL with a password"):
        Experiment(ws, "leak").submit(Pipeline(ws, [step(src, arguments=["--db", DB_URL])]))
    assert b"Sup3rS3cret" not in everything_stored(ws)
    assert counter.lines() == []


@pytest.mark.parametrize("args, flag", [(["--password=hunter2hunter2"], "--password"),
                                        (["--token", "hunter2hunter2"], "--token"),
                                        (["-v", "--client-secret=hunter2hunter2"], "--client-secret")])
def test_leak_password_argument_is_refused(ws, src, counter, args, flag):
    with pytest.raises(PipelineValidationError) as e:
        Experiment(ws, "leak").submit(Pipeline(ws, [step(src, arguments=args)]))
    assert f"argument {flag!r} of step 's' passes a credential" in str(e.value)
    assert "hunter2" not in str(e.value)
    assert b"hunter2hunter2" not in everything_stored(ws)


def test_leak_metric_named_api_key_is_refused_in_the_step_and_redacted_by_the_ledger(ws, src, counter, monkeypatch):
    monkeypatch.setenv("LEAKED_VALUE", "sk-live-1234567890abcdefXYZ")  # not in the snapshotted source
    body = "import os\nfrom canalis.core import Run\nRun.get_context().log('api_key', os.environ['LEAKED_VALUE'])\n"
    run = Experiment(ws, "leak").submit(Pipeline(ws, [step(src, "logs_key", body=body)]))
    assert run.wait_for_completion(raise_on_error=False) == "Failed"
    err = run.find_step_run("logs_key")[0].get_stderr_log()
    assert "metric name 'api_key' looks like a credential" in err
    with pytest.raises(UserErrorException, match="metric name 'api_key'"):
        run.log("api_key", "sk-live-1234567890abcdefXYZ")
    # anything that reaches the ledger another way has its value redacted
    rec = ws.ledger.append(ev.MetricLogged(run_id=run.id, name="api_key", value="sk-live-1234567890abcdefXYZ"))
    assert rec.payload["value"] == REDACTED
    assert b"sk-live-1234567890abcdefXYZ" not in everything_stored(ws)


def test_metric_with_a_token_value_is_refused_unless_allowed(ws, monkeypatch):
    run = Experiment(ws, "m")
    from canalis.core.keyvault import refuse_secret_metric

    with pytest.raises(UserErrorException, match="metric 'note' holds a GitHub token"):
        refuse_secret_metric("note", {"x": [TOKEN]})
    monkeypatch.setenv("CANALIS_ALLOW_SECRET_VALUES", "1")
    refuse_secret_metric("note", TOKEN)
    with pytest.raises(UserErrorException, match="metric name"):
        refuse_secret_metric("db_password", 1)  # names are never allowed
    assert run.name == "m"


def test_opt_out_records_values_that_only_look_like_secrets(ws, src, counter, monkeypatch):
    lookalike = "https://user:not-a-secret@example.invalid/"
    run = Experiment(ws, "optout").submit(Pipeline(ws, [step(src, arguments=[lookalike])]), allow_secret_values=True)
    assert run.wait_for_completion(raise_on_error=False) == "Completed"
    monkeypatch.setenv("CANALIS_ALLOW_SECRET_VALUES", "1")
    run = Experiment(ws, "optout").submit(Pipeline(ws, [step(src, "t", arguments=["--token", "abc12345"])]))
    assert run.wait_for_completion(raise_on_error=False) == "Completed"
    with pytest.raises(PipelineValidationError):  # an explicit False wins over the environment
        Experiment(ws, "optout").submit(Pipeline(ws, [step(src, "u", arguments=["--token", "abc12345"])]),
                                        allow_secret_values=False)
    assert b"not-a-secret" in everything_stored(ws)


def test_ordinary_arguments_and_values_are_not_refused(ws, src, counter):
    args = ["--password-file", "/run/secrets/db", "--token-env", "GH_TOKEN", "--tokenizer", "bpe",
            "--url", "https://example.org/data.csv", "--model", "sk-learn-preprocessing-pipeline",
            "--keyboard", "us", "--author", "ana", "--compass", "north"]
    env = {"PATH_PREFIX": "/opt", "TOKENIZERS_PARALLELISM": "false", "DATABASE_HOST": "db.internal"}
    run = Experiment(ws, "ok").submit(Pipeline(ws, [step(src, arguments=args, env=env)]))
    assert run.wait_for_completion(raise_on_error=False) == "Completed"
