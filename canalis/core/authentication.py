"""SDK v1 credentials: accepted and ignored offline, with one note."""

_noted = False


class _Ignored:
    def __init__(self, *args, **kwargs):
        global _noted
        if not _noted:
            _noted = True
            print(f"note: canalis runs offline; {type(self).__name__} is accepted and not used")


class InteractiveLoginAuthentication(_Ignored):
    pass


class ServicePrincipalAuthentication(_Ignored):
    pass


class AzureCliAuthentication(_Ignored):
    pass


class MsiAuthentication(_Ignored):
    pass
