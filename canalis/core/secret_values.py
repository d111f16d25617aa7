"""Values that look like credentials, outside the keyvault: the opt-out that lets them be
recorded, and the checks a submit (canalis/pipeline/core/compile.py) and a logged metric make.
Apart from `Keyvault` (canalis/core/keyvault.py, which names them too) so that a submit that
reads no secret does not load the keyvault."""
from __future__ import annotations

import os

from canalis.exceptions import UserErrorException

KEYVAULT_HINT = ("keep it in the workspace's keyvault (ws.get_default_keyvault().set_secret(name, value)) and read "
                 "it inside the step with Run.get_context().get_secret(name); see docs/secrets.md")
#: set to 1 to record values that look like credentials anyway (`allow_secret_values=True`)
ALLOW_ENV = "CANALIS_ALLOW_SECRET_VALUES"


def secret_values_allowed(allow: bool | None = None) -> bool:
    """The opt-out: an explicit `allow`, else the environment variable CANALIS_ALLOW_SECRET_VALUES=1."""
    if allow is not None:
        return bool(allow)
    return os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes")


def strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings_in(v)


def secret_kind_in(value) -> str | None:
    """What credential some string in `value` (at any depth) seems to hold, or None."""
    from canalis.ledger.redact import secret_value_kind

    return next((k for k in map(secret_value_kind, strings_in(value)) if k), None)


def refuse_secret_metric(name, value) -> None:
    """A metric named like a credential (`api_key`) is refused, always; one whose value looks
    like a credential is refused unless CANALIS_ALLOW_SECRET_VALUES=1. (If such a metric
    reached the ledger another way, the ledger would redact its value.)"""
    from canalis.ledger.redact import is_secret_key

    if is_secret_key(str(name)):
        raise UserErrorException(f"metric name {str(name)!r} looks like a credential, and metrics are recorded in the "
                                 f"ledger; rename the metric. If it holds a secret, never log it: {KEYVAULT_HINT}")
    kind = None if secret_values_allowed() else secret_kind_in(value)
    if kind:
        raise UserErrorException(f"metric {str(name)!r} holds {kind}, and metrics are recorded readable in the ledger; "
                                 f"never log secrets: {KEYVAULT_HINT}. If it is not a secret, set {ALLOW_ENV}=1")
