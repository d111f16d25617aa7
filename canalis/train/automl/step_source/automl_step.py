"""The process of an AutoMLStep: canalis runs this script with the step's settings and data."""
import sys

from canalis.exceptions import UserErrorException
from canalis.train.automl.step_main import main

try:
    main()
except UserErrorException as e:  # a problem with the data or settings: its message, not a traceback
    print(f"AutoML: {e}", file=sys.stderr, flush=True)
    sys.exit(1)
