"""`from azureml_user.parallel_run import EntryScript` in a ParallelRunStep's entry script."""
from canalis.pipeline.steps.entry_script import EntryScript

__all__ = ["EntryScript"]
