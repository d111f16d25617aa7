"""SDK v1 credentials. Offline there is no Azure login: each class is accepted (one note), and
`get_authentication_header()` returns the bearer header canalis's own REST server accepts
(the workspace's local token, canalis/core/local_token.py), so SDK v1 code that calls a
published pipeline's endpoint with it runs unchanged."""
from __future__ import annotations

_noted = False


class AbstractAuthentication:
    def __init__(self, *args, **kwargs):
        global _noted
        if not _noted:
            _noted = True
            print(f"note: canalis runs offline; {type(self).__name__} is accepted and its credentials are not used")
        self._workspace_root = None  # set by Workspace(auth=...): whose local token the header carries

    def get_authentication_header(self) -> dict:
        """{"Authorization": "Bearer <token>"}: the local token of the workspace this object was
        given to (else the one `Workspace.from_config()` finds)."""
        from canalis import layout as _layout
        from canalis.core import sdk_config
        from canalis.core.local_token import ENV, local_token

        import os

        if os.environ.get(ENV, "").strip():  # a token given for this process: no workspace needed
            return {"Authorization": f"Bearer {os.environ[ENV].strip()}"}
        lay = _layout.at(self._workspace_root) if self._workspace_root else sdk_config.find_layout()
        return {"Authorization": f"Bearer {local_token(lay)}"}

    def get_token(self, *scopes, **kwargs):
        from collections import namedtuple
        import time

        token = self.get_authentication_header()["Authorization"].split(" ", 1)[1]
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
