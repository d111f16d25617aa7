"""`azureml.train` names."""
