"""`azureml.pipeline` namespace."""
