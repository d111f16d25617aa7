"""Keeping credentials out of the ledger: names that look like credentials, values that look
like credentials, and masking known secret values in text.

**Key names** (docs/events.md, "Redaction"), applied to every dict key at any depth:

1. The key is split into lower-case words at `_`, `-`, `.`, spaces and camelCase
   boundaries (`storageAccountKey` -> storage, account, key; `DB_PASS` -> db, pass).
2. The key looks like a credential when
   a. its squashed form (words joined, nothing between) contains one of
      ``password passwd passphrase secret apikey accesskey privatekey connectionstring
      credential``, or
   b. one of its words is ``token tokens auth authorization connstr pwd dsn jwt bearer``, or
   c. its last word is ``key``, ``pass`` or ``pat`` (`key`, `api_key`, `sas-key`,
      `storageKey`, `DB_PASS`, `smtpPass`, `GITHUB_PAT`).
3. Exception: keys in ALLOWED (`reuse_key`) are our own structural fields and are kept.

Whole words only (rules b and c): `author`, `tokenizer`, `keyboard`, `monkey`, `keys`, `path`,
`compass`, `bypass`, `passenger`, `pass_rate`, `pattern`, `spat` are kept.

A redacted key keeps its name; its value (whatever it was, even a dict) becomes "[REDACTED]".

**Name/value pairs**: in an object that has a string `name` that looks like a credential (by
the rule above) and a `value` key, the value is redacted too (a metric named `api_key`, an
`{"name": "DB_PASS", "value": ...}` entry).

**Values** (`secret_value_kind`): text that holds a URL with a password in its userinfo
(`postgres://u:pw@h/db`), a well-known token (GitHub `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_`/
`github_pat_`, GitLab `glpat-`, Slack `xox?-`, AWS `AKIA`/`ASIA`, OpenAI-style `sk-`,
Google `AIza`) or a PEM private-key block. The ledger does not redact values by these
rules (a value it stored as "[REDACTED]" could not be given back to a resumed run); the face
refuses them at submit instead. `secret_argument` finds `--password=...`, `--token VALUE`
style arguments.
"""
from __future__ import annotations

import functools
import re

REDACTED = "[REDACTED]"
MASK = "[MASKED]"
ALLOWED = frozenset({"reuse_key"})
SUBSTRINGS = ("password", "passwd", "passphrase", "secret", "apikey", "accesskey", "privatekey", "connectionstring",
              "credential")
WORDS = frozenset({"token", "tokens", "auth", "authorization", "connstr", "pwd", "dsn", "jwt", "bearer"})
LAST_WORDS = frozenset({"key", "pass", "pat"})
#: last words of an argument flag that names where a secret is, not the secret itself
#: (`--password-file /run/secrets/db`, `--token-env GH_TOKEN`, `--secret-name db`)
REFERENCE_WORDS = frozenset({"file", "path", "dir", "env", "var", "name", "id"})

_split = re.compile(r"[_\-.\s]+")
_camel = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def words_of(key: str) -> list[str]:
    if key.isascii() and key.replace("_", "").isalnum() and key == key.lower():
        # snake_case (every event field, most names): only "_" separates words, and nothing is
        # upper case to split at; the regular expressions below give the same words, slower
        return [w for w in key.split("_") if w]
    return [w.lower() for part in _split.split(key) for w in _camel.split(part) if w]


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether a payload key looks like it holds a credential (see module docstring)."""
    if key in ALLOWED:
        return False
    words = words_of(key)
    if not words:
        return False
    squashed = "".join(words)
    if any(s in squashed for s in SUBSTRINGS):
        return True
    if any(w in WORDS for w in words):
        return True
    return words[-1] in LAST_WORDS


def _secret_pair(value: dict) -> bool:
    name = value.get("name")
    return "value" in value and isinstance(name, str) and is_secret_key(name)


def redact(value):
    """A copy of `value` with every credential-looking key's value (and the `value` of a
    credential-looking name/value pair) replaced by "[REDACTED]". Returns the same object when
    nothing needed redacting (the common case)."""
    if isinstance(value, dict):
        out = None
        pair = _secret_pair(value)
        for k, v in value.items():
            if is_secret_key(k) or (pair and k == "value"):
                nv = REDACTED
            elif isinstance(v, (dict, list)):
                nv = redact(v)
            else:
                nv = v
            if nv is not v and out is None:
                out = dict(value)
            if out is not None:
                out[k] = nv
        return value if out is None else out
    if isinstance(value, list):
        out = None
        for i, v in enumerate(value):
            nv = redact(v) if isinstance(v, (dict, list)) else v
            if nv is not v and out is None:
                out = list(value)
            if out is not None:
                out[i] = nv
        return value if out is None else out
    return value


# -- values that look like credentials ---------------------------------------------------------

# The patterns are compiled when first used (`re`'s cache keeps them), and each is tried only
# on text holding the literal every match of it holds: most values hold none, and compiling
# them all was most of the cost of importing the ledger.
_B = r"(?<![A-Za-z0-9_])"  # a token starts at a word boundary
_URL_USERINFO = r"[A-Za-z][A-Za-z0-9+.\-]*://([^/\s:@?#]*):([^/\s@?#]+)@"
_PLACEHOLDER = r"^(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\*+|x+|<[^>]*>|\{[^}]*\}|%\([^)]*\)s)$"
#: (kind, literals one of which any match holds, pattern)
_TOKENS = (
    ("a GitHub token", ("gh", "github_pat_"), _B + r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("a GitLab token", ("glpat-",), _B + r"glpat-[A-Za-z0-9_\-]{20,}"),
    ("a Slack token", ("xox",), _B + r"xox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("an AWS access key id", ("AKIA", "ASIA"), r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])"),
    ("a Google API key", ("AIza",), _B + r"AIza[0-9A-Za-z_\-]{35}"),
    ("a PEM private key", ("-----BEGIN ",), r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
)
# `sk-` keys are random: at least 20 characters with a digit, a lower- and an upper-case letter
# (`sk-learn-preprocessing` is not one)
_SK = _B + r"sk-([A-Za-z0-9_\-]{20,})"


def secret_value_kind(text) -> str | None:
    """What credential `text` seems to hold ("a URL with a password", "a GitHub token", ...),
    or None. Only strings are examined."""
    if not isinstance(text, str) or len(text) < 8:
        return None
    if "://" in text and "@" in text:
        for m in re.finditer(_URL_USERINFO, text):
            if not re.match(_PLACEHOLDER, m.group(2), re.I):
                return "a URL with a password"
    for kind, literals, pattern in _TOKENS:
        if any(literal in text for literal in literals) and re.search(pattern, text):
            return kind
    if "sk-" in text:
        for m in re.finditer(_SK, text):
            body = m.group(1)
            if re.search(r"[0-9]", body) and re.search(r"[a-z]", body) and re.search(r"[A-Z]", body):
                return "an API key (sk-...)"
    return None


def is_secret_flag(arg: str) -> bool:
    """Whether `arg` is an option flag naming a credential: `--password`, `--db-pass`,
    `--token`, `--client-secret`; not `--password-file` (see REFERENCE_WORDS)."""
    if not arg.startswith("-") or arg in ("-", "--"):
        return False
    name = arg.lstrip("-")
    words = words_of(name)
    return bool(words) and words[-1] not in REFERENCE_WORDS and is_secret_key(name)


def secret_argument(args: list) -> tuple[int, str] | None:
    """In a command line, the first credential passed through a flag: `--password=VALUE`
    (index of that argument) or `--token VALUE` (index of VALUE, which must be a string that
    is not itself a flag). Returns (index, flag) or None. Non-string items (placeholders for
    inputs and outputs) never count as values."""
    for i, arg in enumerate(args):
        if not isinstance(arg, str):
            continue
        flag, eq, value = arg.partition("=")
        if eq and value and is_secret_flag(flag):
            return i, flag
        if not eq and is_secret_flag(arg) and i + 1 < len(args):
            nxt = args[i + 1]
            if isinstance(nxt, str) and nxt and not nxt.startswith("-"):
                return i + 1, arg
    return None


def mask_values(text, values):
    """`text` (str or bytes) with every occurrence of each non-empty secret value replaced by
    "[MASKED]": scanning left to right, at each position the longest secret that starts there
    is masked (so a secret containing another is masked whole). `StepLog.remask` applies the
    same rule to a file a chunk at a time."""
    pattern = mask_pattern(frozenset(v for v in values or () if v), isinstance(text, bytes))
    if pattern is None:
        return text
    return pattern.sub(MASK.encode() if isinstance(text, bytes) else MASK, text)


@functools.lru_cache(maxsize=64)
def mask_pattern(values: frozenset, as_bytes: bool):
    if not values:
        return None
    ordered = sorted(values, key=lambda v: (-len(v), v))
    if as_bytes:
        return re.compile(b"|".join(re.escape(v.encode("utf-8")) for v in ordered))
    return re.compile("|".join(re.escape(v) for v in ordered))


def mask_strings(value, values):
    """`value` with `mask_values` applied to every string in it, at any depth (keys too).
    Returns `value` itself when there is nothing to mask."""
    if not values:
        return value
    if isinstance(value, str):
        return mask_values(value, values)
    if isinstance(value, dict):
        return {mask_values(k, values) if isinstance(k, str) else k: mask_strings(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_strings(v, values) for v in value]
    return value
