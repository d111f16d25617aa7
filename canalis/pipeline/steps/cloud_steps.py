"""SDK v1 steps that exist only in the cloud. Each raises when it is made, naming what to use
instead, so a pipeline holding one fails at once rather than at submit."""
from __future__ import annotations

from canalis.exceptions import NotSupportedOfflineError


def _refusing(kind: str, instead: str):
    def __init__(self, *args, **kwargs):
        raise NotSupportedOfflineError(f"{kind} runs on an Azure service and cannot run offline; {instead}")

    return type(kind, (), {"__init__": __init__, "__doc__": f"Refused offline: {instead}"})


DatabricksStep = _refusing("DatabricksStep", "run the notebook's code as a PythonScriptStep (or a CommandStep running "
                                             "`jupyter nbconvert --execute`)")
AdlaStep = _refusing("AdlaStep", "U-SQL needs Data Lake Analytics; rewrite the script in Python (pandas) as a "
                                 "PythonScriptStep")
KustoStep = _refusing("KustoStep", "export the query's result to files and read them with a PythonScriptStep")
AzureBatchStep = _refusing("AzureBatchStep", "run the executable with a CommandStep on this machine")
HyperDriveStep = _refusing("HyperDriveStep", "run one PythonScriptStep per hyperparameter setting (a PipelineParameter "
                                             "each), or a sweep inside one step")
SynapseSparkStep = _refusing("SynapseSparkStep", "run the Spark code with a local pyspark in a PythonScriptStep")
EstimatorStep = _refusing("EstimatorStep", "Estimators were retired in SDK v1; use a PythonScriptStep with a "
                                           "RunConfiguration")
MpiStep = _refusing("MpiStep", "use a PythonScriptStep (MPI jobs run as one process on this machine)")
