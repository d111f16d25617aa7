"""`secret_value_kind` compiles its patterns on first use and tries each only on text holding
a literal every match holds: it finds what the patterns, tried on every text, find."""
from __future__ import annotations

import re
import subprocess
import sys

from hypothesis import given, settings, strategies as st

from canalis.ledger.redact import secret_value_kind

# the patterns as they were compiled at import, tried on every text
_B = r"(?<![A-Za-z0-9_])"
URL_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([^/\s:@?#]*):([^/\s@?#]+)@")
PLACEHOLDER = re.compile(r"^(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\*+|x+|<[^>]*>|\{[^}]*\}|%\([^)]*\)s)$", re.I)
TOKENS = (
    ("a GitHub token", re.compile(_B + r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("a GitLab token", re.compile(_B + r"glpat-[A-Za-z0-9_\-]{20,}")),
    ("a Slack token", re.compile(_B + r"xox[abposr]-[A-Za-z0-9\-]{10,}")),
    ("an AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])")),
    ("a Google API key", re.compile(_B + r"AIza[0-9A-Za-z_\-]{35}")),
    ("a PEM private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
)
SK = re.compile(_B + r"sk-([A-Za-z0-9_\-]{20,})")


def reference(text):
    if not isinstance(text, str) or len(text) < 8:
        return None
    for m in URL_USERINFO.finditer(text):
        if not PLACEHOLDER.match(m.group(2)):
            return "a URL with a password"
    for kind, pattern in TOKENS:
        if pattern.search(text):
            return kind
    for m in SK.finditer(text):
        body = m.group(1)
        if re.search(r"[0-9]", body) and re.search(r"[a-z]", body) and re.search(r"[A-Z]", body):
            return "an API key (sk-...)"
    return None


pieces = st.sampled_from(["gh", "p_", "s_", "github_pat_", "glpat-", "xoxb-", "xox", "AKIA", "ASIA", "AIza",
                          "-----BEGIN ", "RSA ", "PRIVATE KEY-----", "sk-", "://", "@", ":", "https", "${PW}", "***",
                          "a" * 12, "Z" * 8, "9" * 6, "aZ9" * 4, "_", "-", " ", "/", "x"])
texts = st.lists(pieces | st.text(max_size=3), max_size=14).map("".join)


@settings(max_examples=500)
@given(texts)
def test_the_literal_checks_find_what_the_patterns_find(text):
    assert secret_value_kind(text) == reference(text)


def test_importing_the_redaction_rules_compiles_no_value_pattern():
    """(`re`'s own cache of compiled patterns is looked at, in a fresh interpreter.)"""
    code = ("import re; import canalis.ledger.redact\n"
            "cached = [*getattr(re, '_cache', {}).values(), *getattr(re, '_cache2', {}).values()]\n"
            "print(sorted(str(p.pattern) for p in cached if 'PRIVATE' in str(p.pattern) or 'glpat' in str(p.pattern)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "[]\n"
