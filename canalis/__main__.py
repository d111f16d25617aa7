"""`python -m canalis` is the `canalis` command."""
import importlib.util
import sys

if importlib.util.find_spec("canalis.store") is None:
    # `canalis/` of a source checkout shadows the installed package when Python starts in the
    # checkout's root; store/, ledger/ and executor/ only join it when installed.
    sys.exit(
        "canalis: the package found here is a source checkout without its store, ledger and executor; "
        "run `pip install -e .` in it, or use the installed `canalis` command"
    )

from canalis.cli.entry import main  # noqa: E402

# named as the installed command is, so that usage lines and shell completion
# (`_CANALIS_COMPLETE`, canalis/cli/completion.py) are the same either way
main(prog_name="canalis", complete_var="_CANALIS_COMPLETE")
