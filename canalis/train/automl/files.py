"""The names of the files an AutoML step writes in its outputs and among its run files."""

#: in the model output: the pickled FittedPipeline of the best trial
MODEL_FILE = "model.pkl"
#: in the metrics output: one entry per trial
METRICS_FILE = "metrics.json"
#: FLAML's log of the trials, in the step's working folder (uploaded as `logs/<debug_log>`)
TRIALS_LOG = "automl_trials.jsonl"
