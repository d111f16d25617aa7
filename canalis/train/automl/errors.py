"""What an AutoML configuration, its data or its installation can get wrong."""
from canalis.exceptions import UserErrorException


class AutoMLConfigError(UserErrorException):
    """An AutoMLConfig setting canalis cannot use (task, metric, budget, models ...)."""


class AutoMLDataError(UserErrorException):
    """The training data cannot be used as configured (missing label column, no rows ...)."""


class AutoMLNotInstalledError(UserErrorException):
    """FLAML, which does the search, is not installed."""


INSTALL_HINT = "install the automl extra: pip install 'canalis[automl]' (it brings flaml[automl])"


def require_flaml() -> None:
    """Raise AutoMLNotInstalledError unless FLAML can be imported."""
    import importlib.util

    try:
        found = importlib.util.find_spec("flaml") is not None
    except (ImportError, ValueError):  # a broken or blocked installation
        found = False
    if not found:
        raise AutoMLNotInstalledError(f"AutoML in canalis searches with FLAML, which is not installed; {INSTALL_HINT}")
