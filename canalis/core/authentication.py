"""SDK v1 credentials. Offline there is no Azure login: each class is accepted (one note), and
`get_authentication_header()` returns the bearer header canalis's own REST server accepts
(the workspace's local token: made on first use, recorded in the ledger as a digest, its text
kept in `.canalis/local-token`, readable by its owner only; see docs/rest-api.md), so SDK v1
code that calls a published pipeline's endpoint with it runs unchanged. `CANALIS_TOKEN` in the
environment takes its place (a token made with `canalis token create` for another user)."""
from __future__ import annotations

TOKEN_ENV = "CANALIS_TOKEN"
_noted = False


class AbstractAuthentication:
    def __init__(self, *args, **kwargs):
        global _noted
        if not _noted:
            _noted = True
            print(f"note: canalis runs offline; {type(self).__name__} is accepted and its credentials are not used")
        self._workspace_root = None  # set by Workspace(auth=...): whose local token the header carries

    def get_authentication_header(self, workspace=None) -> dict:
        """{"Authorization": "Bearer <token>"}: the local token of `workspace`, else of the
        workspace this object was given to, else of the one `Workspace.from_config()` finds."""
        import os

        given = os.environ.get(TOKEN_ENV, "").strip()
        if given:  # a token given for this process: no workspace needed
            return {"Authorization": f"Bearer {given}"}
        if workspace is None:
            from canalis.core.workspace import Workspace

            workspace = Workspace(path=self._workspace_root) if self._workspace_root else Workspace.from_config()
        return {"Authorization": f"Bearer {workspace.session.local_token()}"}

    def get_token(self, *scopes, **kwargs):
        from collections import namedtuple
        import time

        token = self.get_authentication_header(kwargs.get("workspace"))["Authorization"].split(" ", 1)[1]
        return namedtuple("AccessToken", "token expires_on")(token, int(time.time()) + 3600)


class InteractiveLoginAuthentication(AbstractAuthentication):
    pass


class ServicePrincipalAuthentication(AbstractAuthentication):
    pass


class AzureCliAuthentication(AbstractAuthentication):
    pass


class MsiAuthentication(AbstractAuthentication):
    pass


class TokenAuthentication(AbstractAuthentication):
    pass
