"""`EntryScript`: what a ParallelRunStep's entry script asks of its runner (SDK v1 imported it
from `azureml_user.parallel_run`, which canalis's import mapping answers with this module)."""
from __future__ import annotations

import logging
import os

from canalis.pipeline.steps.parallel_driver import LOGGER_NAME


class EntryScript:
    """`EntryScript().logger` writes into the log of the mini-batch being run (kept in the
    step's stdout with the mini-batch's number)."""

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger(LOGGER_NAME)

    @property
    def working_dir(self) -> str:
        return os.getcwd()

    @property
    def log_dir(self) -> str:
        return os.getcwd()
