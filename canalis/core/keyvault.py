"""`Keyvault`: the workspace's secrets (SDK v1 `azureml.core.Keyvault`), kept in a local file.

Secrets live in `.canalis/secrets.json`, readable by the workspace's owner only (0600; 0660
in a workspace shared with a group), written atomically with that mode, and refused when
its mode grants more. Values never reach the ledger, the store or the logs: setting and
deleting record `secret.stored` / `secret.deleted` with the name only, and a step's stdout and
stderr have the values of the secrets it read masked. docs/secrets.md has the details.

File format: ``{"format": 1, "secrets": {"NAME": "value", ...}}`` (UTF-8 JSON).
"""
from __future__ import annotations

import fcntl
import json
import os
import re
from contextlib import contextmanager

from canalis.errors import WorkspaceError
from canalis.exceptions import UserErrorException
# values that look like credentials (canalis/core/secret_values.py), named here as before
from canalis.core.secret_values import (  # noqa: F401
    ALLOW_ENV, KEYVAULT_HINT, refuse_secret_metric, secret_kind_in, secret_values_allowed, strings_in,
)

FORMAT = 1
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,126}$")


class SecretFile:
    """The secret file of one workspace (no ledger: a step process reads it too)."""

    def __init__(self, layout):
        from canalis.permissions import apply_umask

        self.layout = layout
        self.path = layout.secrets_path
        apply_umask(self._policy())  # the lock file and folder follow the workspace's permissions

    def _policy(self):
        return self.layout.permissions()

    def read(self) -> dict[str, str]:
        from canalis.permissions import refuse_open_file

        refuse_open_file(self.path, self._policy(), "the workspace's secrets")
        try:
            with open(self.path, encoding="utf-8") as f:
                doc = json.load(f)
        except FileNotFoundError:
            return {}
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise WorkspaceError(f"{self.path} is not valid JSON ({e}); restore it from a backup or delete it "
                                 "and set the secrets again") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("secrets"), dict):
            raise WorkspaceError(f"{self.path} is not a canalis secret file of format {FORMAT}")
        return dict(doc["secrets"])

    @contextmanager
    def _locked(self):
        self.layout.locks.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.layout.locks / "secrets.lock", os.O_CREAT | os.O_RDWR, 0o666)  # the umask decides
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def update(self, change) -> None:
        """Read, apply `change(secrets)` (it edits the dict in place), write back; one writer
        at a time."""
        with self._locked():
            current = self.read()
            change(current)
            self._write(current)

    def _write(self, values: dict) -> None:
        policy = self._policy()
        tmp = self.path.with_name(f".secrets.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, policy.file_mode)  # exactly this mode, whatever the umask
            if policy.gid is not None:
                os.fchown(fd, -1, policy.gid)
            with os.fdopen(fd, "w", encoding="utf-8", closefd=False) as f:
                json.dump({"format": FORMAT, "secrets": values}, f, sort_keys=True, ensure_ascii=False)
                f.write("\n")
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        os.close(fd)
        os.replace(tmp, self.path)


def _check_name(name) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise UserErrorException(f"secret name {name!r} must start with a letter or digit and hold only letters, "
                                 "digits, '-' and '_' (at most 127 characters)")
    return name


class Keyvault:
    """The workspace's secrets: `ws.get_default_keyvault()`."""

    def __init__(self, workspace, secret_file: SecretFile):
        self.workspace = workspace
        self._file = secret_file

    def _record(self, names, deleted=False) -> None:
        self.workspace.session.record_secrets(names, deleted=deleted)

    def set_secret(self, name, value) -> None:
        self.set_secrets({name: value})

    def set_secrets(self, secrets_batch: dict) -> None:
        """Add or replace secrets; each is recorded as `secret.stored` with its name only."""
        batch = {}
        for name, value in dict(secrets_batch).items():
            if not isinstance(value, str):
                raise UserErrorException(f"secret {name!r}: the value must be a string, got {type(value).__name__}")
            batch[_check_name(name)] = value
        self._file.update(lambda current: current.update(batch))
        self._record(sorted(batch))

    def get_secret(self, name) -> str:
        return self.get_secrets([name])[name]

    def get_secrets(self, secrets) -> dict:
        """{name: value} of the named secrets; a missing one is an error naming it."""
        values = self._file.read()
        missing = [n for n in secrets if n not in values]
        if missing:
            raise UserErrorException(f"the workspace's keyvault has no secret named {missing[0]!r}; set it with "
                                     f"ws.get_default_keyvault().set_secret({missing[0]!r}, value)")
        return {n: values[n] for n in secrets}

    def values_of(self, names) -> list[str]:
        """The values of those of `names` that exist (what the executor masks in a step's logs)."""
        values = self._file.read()
        return [values[n] for n in names if n in values]

    def list_secrets(self) -> list[dict]:
        """[{"name": ...}] sorted by name (values are never listed)."""
        return [{"name": n} for n in sorted(self._file.read())]

    def delete_secret(self, name) -> None:
        self.delete_secrets([name])

    def delete_secrets(self, secrets) -> None:
        """Remove secrets; each is recorded as `secret.deleted`. Deleting a missing one is an error."""
        names = list(secrets)
        found = {}

        def change(current):
            missing = [n for n in names if n not in current]
            if missing:
                raise UserErrorException(f"the workspace's keyvault has no secret named {missing[0]!r}")
            for n in names:
                found[n] = current.pop(n)

        self._file.update(change)
        self._record(sorted(found), deleted=True)

    def __repr__(self):
        return f"Keyvault(workspace={self.workspace.name!r})"


def read_secrets_at(workspace_root) -> dict[str, str]:
    """The secrets of the workspace at `workspace_root` (what a step reads; no ledger)."""
    from canalis import layout as _layout

    return SecretFile(_layout.at(workspace_root)).read()
