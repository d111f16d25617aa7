"""Credential-looking fields never reach the ledger; our own fields (reuse_key, author...) do."""
from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canalis.ledger import events as ev
from canalis.ledger.redact import (
    LAST_WORDS, MASK, REDACTED, WORDS, is_secret_key, mask_values, redact, secret_argument, secret_value_kind,
)

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
    assert run.parameters == {"lr": 0.1, "db_password": REDACTED, "conn": {"AccountKey": REDACTED}}
    assert run.tags == {"owner": "ana", "token": REDACTED}
    assert led.step_run("s1").reuse_key == "rk1"
    assert led.run_plan("r1") == {"steps": [{"reuse_key": "rk1"}]}
    assert led.dataset("d").options == {"sas_token": REDACTED, "path": "p"}
    assert next(led.events(type="annotation.added")).payload["author"] == "auditor"
    conn = sqlite3.connect(str(led.path))
    assert conn.execute("SELECT count(*) FROM events WHERE payload LIKE '%hunter2%'").fetchone()[0] == 0
    conn.close()
    assert led.verify().ok


# -- the extended name rule, both directions -----------------------------------------------------

NEW_SECRET = ["DB_PASS", "GITHUB_PAT", "PASSPHRASE", "dsn", "DSN", "sentry_dsn", "smtpPass", "key_passphrase",
              "my-pat", "jwt", "bearer_value", "db.pass"]
NEW_KEPT = ["path", "compass", "bypass", "passenger", "pass_rate", "pattern", "spat", "patience", "dsnless",
            "passthrough", "author", "tokenizer", "keyboard", "keys", "monkey", "path_prefix", "pat_count"]


@pytest.mark.parametrize("key", NEW_SECRET)
def test_extended_credential_names_are_recognised(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", NEW_KEPT)
def test_words_that_merely_contain_a_stem_are_kept(key):
    assert not is_secret_key(key)


SAFE_WORDS = ["learning", "rate", "path", "compass", "author", "tokenizer", "keyboard", "depth", "model", "patience",
              "passenger", "pattern", "bypass", "keys", "count", "max", "data", "split", "seed", "monkey"]
SEPARATORS = st.sampled_from(["_", "-", ".", " "])


def _join(words, seps, camel):
    if camel:
        return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])
    out = words[0]
    for sep, w in zip(seps, words[1:]):
        out += sep + w
    return out


@given(st.lists(st.sampled_from(SAFE_WORDS), min_size=1, max_size=4), st.lists(SEPARATORS, min_size=3, max_size=3),
       st.booleans())
def test_names_made_of_ordinary_words_are_kept(words, seps, camel):
    assert not is_secret_key(_join(words, seps, camel))


@given(st.lists(st.sampled_from(SAFE_WORDS), max_size=3), st.sampled_from(sorted(WORDS)), st.integers(0, 3),
       st.lists(SEPARATORS, min_size=4, max_size=4), st.booleans(), st.booleans())
def test_a_credential_word_anywhere_makes_a_secret_name(words, secret_word, at, seps, camel, upper):
    words = list(words)
    words.insert(min(at, len(words)), secret_word)
    key = _join(words, seps, camel)
    assert is_secret_key(key.upper() if upper and not camel else key)


@given(st.lists(st.sampled_from(SAFE_WORDS), max_size=3), st.sampled_from(sorted(LAST_WORDS)),
       st.lists(SEPARATORS, min_size=4, max_size=4), st.booleans())
def test_a_credential_last_word_makes_a_secret_name(words, last, seps, camel):
    assert is_secret_key(_join([*words, last], seps, camel))


def test_a_name_value_pair_named_like_a_credential_has_its_value_redacted():
    assert redact({"name": "api_key", "value": "abc", "kind": "scalar"}) == {"name": "api_key", "value": REDACTED,
                                                                            "kind": "scalar"}
    assert redact([{"name": "DB_PASS", "value": {"x": 1}}]) == [{"name": "DB_PASS", "value": REDACTED}]
    plain = {"name": "loss", "value": 0.5}
    assert redact(plain) is plain
    assert redact({"name": "api_key", "other": 1}) == {"name": "api_key", "other": 1}  # no value to hide


def test_metric_named_like_a_credential_is_stored_redacted(led):
    rec = led.append(ev.MetricLogged(run_id="r", name="api_key", value="sk-abc"))
    assert rec.payload["value"] == REDACTED and rec.payload["name"] == "api_key"
    assert led.metrics(run_id="r")[0].value == REDACTED


# -- values that look like credentials -----------------------------------------------------------

VALUES = [
    ("postgres://app:pw123456@db/prod", "a URL with a password"),
    ("redis://:s3cr3t@cache:6379/0", "a URL with a password"),
    ("prefix https://u:p4ss@host/x suffix", "a URL with a password"),
    ("ghp_" + "a1B2" * 9, "a GitHub token"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "a GitHub token"),
    ("glpat-abcdefghij0123456789", "a GitLab token"),
    ("xoxb-1234567890-abcdefghij", "a Slack token"),
    ("AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
    ("AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "a Google API key"),
    ("sk-proj-Ab3dEfGh1jKlMn0pQrStUv", "an API key (sk-...)"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "a PEM private key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "a PEM private key"),
]
NOT_VALUES = ["https://example.org/data.csv", "postgres://app@db/prod", "postgres://app:${DB_PASSWORD}@db/prod",
              "mysql://u:****@h/db", "sk-learn-preprocessing-pipeline", "ghp_short", "AKIA1234", "my_ghp_value",
              "-----BEGIN PUBLIC KEY-----", "file:///tmp/x", "mailto:ana@example.org", "user:name@host",
              "learning_rate=0.1", "", "short"]


@pytest.mark.parametrize("value, kind", VALUES)
def test_credential_values_are_recognised(value, kind):
    assert secret_value_kind(value) == kind


@pytest.mark.parametrize("value", NOT_VALUES)
def test_ordinary_values_are_not_taken_for_credentials(value):
    assert secret_value_kind(value) is None


@pytest.mark.parametrize("args, found", [
    (["--password=x1"], (0, "--password")), (["-v", "--token", "abc"], (2, "--token")),
    (["--db-pass", "x"], (1, "--db-pass")), (["--client-secret=y"], (0, "--client-secret")),
    (["--api-key", "k"], (1, "--api-key")), (["--token", None], None), (["--token", "--other"], None),
    (["--password-file", "/run/secrets/db"], None), (["--token-env", "GH_TOKEN"], None), (["--secret-name", "db"], None),
    (["--tokenizer", "bpe"], None), (["--password="], None), (["password", "x"], None), (["--token"], None),
])
def test_credential_arguments(args, found):
    assert secret_argument(args) == found


@given(st.lists(st.text(min_size=1, max_size=6), max_size=4), st.text(max_size=60))
def test_masking_leaves_no_secret_value_behind(values, text):
    values = [v for v in values if v not in MASK and "\0" not in v]
    pieces = [text]
    for v in values:
        pieces += [v, text]
    joined = "".join(pieces)
    masked = mask_values(joined, values)
    for v in values:
        assert v not in masked.replace(MASK, "\0")
    assert mask_values(joined.encode(), values) == masked.encode()


@given(st.text(alphabet="ab_z09Ký-. \tÉ", max_size=12) | st.from_regex(r"[a-z0-9_]{0,12}", fullmatch=True))
def test_the_words_of_a_key_are_those_the_patterns_find(key):
    """snake_case keys are split without the regular expressions: into the same words."""
    import re

    from canalis.ledger.redact import words_of

    by_patterns = [w.lower() for part in re.split(r"[_\-.\s]+", key)
                   for w in re.split(r"(?<=[a-z0-9])(?=[A-Z])", part) if w]
    assert words_of(key) == by_patterns
