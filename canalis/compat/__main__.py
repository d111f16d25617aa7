"""`python -m canalis.compat SCRIPT.py [ARGS]`: run an SDK v1 script with `azureml` answered by canalis."""
import os
import sys

from canalis.compat.run_script import run

if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
    print("usage: python -m canalis.compat SCRIPT.py [ARGS...]\n\nRuns SCRIPT.py as `python SCRIPT.py ARGS` would, "
          "with its `import azureml...` answered by canalis.", file=sys.stderr)
    sys.exit(0 if len(sys.argv) > 1 else 2)
if not os.path.isfile(sys.argv[1]):
    sys.exit(f"canalis: {sys.argv[1]} is not a file; pass the path of a Python script")
run(sys.argv[1], sys.argv[2:])
