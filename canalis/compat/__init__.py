"""Running unmodified Azure ML SDK v1 code: `import azureml...` answered by canalis.

- `canalis exec SCRIPT.py [ARGS]` or `python -m canalis.compat SCRIPT.py [ARGS]` runs a script
  with the mapping on (`run_script`);
- `canalis compat install` writes a `.pth` file that turns it on for every `python` (and
  Jupyter kernel) of the environment (`pth.py`); `%load_ext canalis.compat` turns it on in one
  IPython or Jupyter session;
- the steps canalis runs always have it (`steps.py`).

The hook is in `finder.py`, which SDK v1 name is answered by which canalis object in
`names.py`. When the Azure ML SDK itself is installed beside canalis, canalis never shadows
it silently (`realsdk.py`). This module imports nothing heavy: the `.pth` hook imports it at
every interpreter start.
"""
from __future__ import annotations


def activate(mode: str = "canalis") -> None:
    """Answer `azureml` imports in this process (mode "canalis"; "auto" lets an installed
    SDK answer them, with a note)."""
    from canalis.compat import finder

    finder.install(None if mode == "auto" else mode)


def load_ipython_extension(ipython) -> None:
    """`%load_ext canalis.compat`: canalis answers `azureml` imports in this IPython session."""
    import os

    from canalis.compat import finder, realsdk

    finder.install("canalis")
    os.environ[finder.ENV] = "canalis"  # processes the session starts get it too (with the .pth or as steps)
    sdk = realsdk.installed()
    print(realsdk.canalis_active_note(sdk) if sdk else "canalis: `azureml` imports in this session are answered by canalis")


def unload_ipython_extension(ipython) -> None:
    from canalis.compat import finder

    finder.uninstall()
