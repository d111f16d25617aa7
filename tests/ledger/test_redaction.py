"""Credential-looking fields never reach the ledger; our own fields (reuse_key, author...) do."""
from __future__ import annotations

import sqlite3

import pytest

from canalis.ledger import events as ev
from canalis.ledger.redact import REDACTED, is_secret_key, redact

SECRET = ["password", "db_password", "DB_PASSWORD", "passwd", "secret", "client_secret", "clientSecret",
          "token", "sas_token", "accessToken", "api_key", "apikey", "API-KEY", "access_key", "aws_access_key_id",
          "private_key", "key", "account_key", "storageKey", "sas-key", "connection_string", "connectionString",
          "connstr", "credential", "credentials", "auth", "basic_auth", "Authorization", "tokens", "pwd"]
KEPT = ["reuse_key", "author", "tokenizer", "keyboard", "monkey", "keys", "key_count", "name", "learning_rate",
        "description", "secretary_name_is_fine_not", "run_id", "step_name", "outputs", "max_depth", "authority"]


@pytest.mark.parametrize("key", SECRET)
def test_credential_keys_are_redacted(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", [k for k in KEPT if k != "secretary_name_is_fine_not"])
def test_ordinary_keys_are_kept(key):
    assert not is_secret_key(key)


def test_secret_substring_is_redacted_even_inside_a_longer_word():
    # the documented rule: "secret" anywhere in the squashed key (over-redaction is the safe side)
    assert is_secret_key("secretary_name_is_fine_not")


def test_redaction_at_any_depth_and_the_original_is_not_mutated():
    value = {"a": [{"password": "x", "ok": 1}], "tags": {"nested": {"api_key": {"deep": 1}}}, "reuse_key": "k"}
    out = redact(value)
    assert out == {"a": [{"password": REDACTED, "ok": 1}], "tags": {"nested": {"api_key": REDACTED}}, "reuse_key": "k"}
    assert value["a"][0]["password"] == "x"
    clean = {"a": [1, {"b": 2}]}
    assert redact(clean) is clean


def test_secrets_never_reach_the_file_but_reuse_key_does(led):
    led.append(ev.RunSubmitted(run_id="r1", experiment="e",
                               parameters={"lr": 0.1, "db_password": "hunter2", "conn": {"AccountKey": "s3cr3t"}},
                               tags={"owner": "ana", "token": "ghp_abcdef"}, plan={"steps": [{"reuse_key": "rk1"}]}))
    rec = led.append(ev.StepStarted(run_id="r1", step_run_id="s1", step_name="a", reuse_key="rk1"))
    led.append(ev.DatasetRegistered(name="d", version=1, id="x", digest="t", lineage={"sources": [{"datastore": "blob"}]},
                                    options={"sas_token": "sv=2020", "path": "p"}))
    led.append(ev.AnnotationAdded(stream_name="run:r1", message="ok", author="auditor"))
    assert rec.payload["reuse_key"] == "rk1"
    raw = open(led.path, "rb").read() + b"".join(
        p.read_bytes() for p in led.path.parent.glob("ledger.db-wal") if p.exists())
    for secret in (b"hunter2", b"s3cr3t", b"ghp_abcdef", b"sv=2020"):
        assert secret not in raw
    run = led.run("r1")
    assert run["parameters"] == {"lr": 0.1, "db_password": REDACTED, "conn": {"AccountKey": REDACTED}}
    assert run["tags"] == {"owner": "ana", "token": REDACTED}
    assert led.step_run("s1")["reuse_key"] == "rk1"
    assert led.run_plan("r1") == {"steps": [{"reuse_key": "rk1"}]}
    assert led.dataset("d")["options"] == {"sas_token": REDACTED, "path": "p"}
    assert next(led.events(type="annotation.added")).payload["author"] == "auditor"
    conn = sqlite3.connect(str(led.path))
    assert conn.execute("SELECT count(*) FROM events WHERE payload LIKE '%hunter2%'").fetchone()[0] == 0
    conn.close()
    assert led.verify().ok
