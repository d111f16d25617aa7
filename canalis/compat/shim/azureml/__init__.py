"""canalis's `azureml` package for the steps canalis runs.

The executor puts the folder holding this package first on the `PYTHONPATH` of every step, so
that `from azureml.core import Run; Run.get_context()` inside a step reaches canalis (the run
the step belongs to), whether or not the import mapping is installed in the environment. Its
submodules are answered by canalis's import hook (canalis/compat/finder.py).
"""
from canalis.compat import finder as _finder
from canalis.compat import realsdk as _realsdk

_finder.install("canalis")
_sdk = _realsdk.installed()
if _sdk is not None:  # the step's azureml imports shadow an installed SDK: say so, once, in the step's log
    _finder._say_once("canalis-active", _realsdk.canalis_active_note(_sdk))
