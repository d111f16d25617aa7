"""SDK v1 credentials: accepted offline, with one note. `get_authentication_header()` gives
what SDK v1 REST code sends to a published pipeline's endpoint: `{"Authorization": "Bearer
<token>"}` with the workspace's local token (made on first use, kept in
`.canalis/local-token`, readable by its owner only; see docs/rest-api.md)."""

_noted = False


class _Ignored:
    def __init__(self, *args, **kwargs):
        global _noted
        if not _noted:
            _noted = True
            print(f"note: canalis runs offline; {type(self).__name__} gives the workspace's local token "
                  "(get_authentication_header) and signs in nowhere")

    def get_authentication_header(self, workspace=None) -> dict:
        """The header for the REST API of `canalis serve`: the local token of `workspace`
        (default: the workspace Workspace.from_config() finds)."""
        from canalis.core.workspace import Workspace

        ws = workspace if workspace is not None else Workspace.from_config()
        return {"Authorization": f"Bearer {ws.session.local_token()}"}

    def get_token(self, *scopes, **kwargs):
        """The local token's text (what SDK v1 returned as an access token's string)."""
        return self.get_authentication_header(kwargs.get("workspace"))["Authorization"].split(" ", 1)[1]


class InteractiveLoginAuthentication(_Ignored):
    pass


class ServicePrincipalAuthentication(_Ignored):
    pass


class AzureCliAuthentication(_Ignored):
    pass


class MsiAuthentication(_Ignored):
    pass
