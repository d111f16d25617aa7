"""canalis's `azureml_user` package for ParallelRunStep entry scripts: SDK v1 gave them
`from azureml_user.parallel_run import EntryScript`. It sits beside the `azureml` shim on a
step's `PYTHONPATH` (canalis/compat/steps.py)."""
