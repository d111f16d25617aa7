"""Imported at every interpreter start by the `.pth` file `canalis compat install` writes.

It only puts a small finder on `sys.meta_path`; canalis itself is imported when, and only
when, the program imports `azureml` (then the real hook, canalis/compat/finder.py, takes over
and decides, with `CANALIS_AZUREML`, whether canalis or an installed Azure ML SDK answers).
"""
import sys


class _FirstAzuremlImport:
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "azureml" and not fullname.startswith("azureml."):
            return None
        from canalis.compat import finder

        if self in sys.meta_path:
            sys.meta_path.remove(self)
        return finder.install().find_spec(fullname, path, target)


if not any(type(f).__name__ in ("_FirstAzuremlImport", "AzuremlFinder") for f in sys.meta_path):
    sys.meta_path.insert(0, _FirstAzuremlImport())
