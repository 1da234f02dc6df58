"""``lrp-invariants``: the command line.

* ``check TARGET --method METHOD``: run the gate on ``package.module:function`` or
  ``path/to/file.py:function``. Exit 0 if every claimed property holds, 1 if one fails or the
  target misbehaves, 2 if the target cannot be loaded or the arguments are wrong;
  ``--junit-xml FILE`` and ``--json FILE`` write the results for CI, and under GitHub Actions
  each failure is also an ``::error`` annotation at the target's source line.
* ``replay FILE TARGET``: rerun one saved counterexample (from ``check --report DIR``).
* ``demo``: the reply's experiment on scikit-learn's handwritten digits.
* ``methods``: which property holds for which method.

One idea per module: :mod:`.status` (exit statuses and the usage error), :mod:`.loading`
(importing a target), :mod:`.options` (what the configuration options mean, and the keys of a
configured target), :mod:`.parser` (the argument parsers), :mod:`.prepare` (targets checked and
loaded before any runs) and :mod:`.commands` (what each command does).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from .commands import COMMANDS
from .loading import load_target
from .options import CONFIG_KEYS, PARAMETERS, configured_method
from .parser import CASES_FOLDER, check_parser, command_parser
from .prepare import PreparedTarget, prepare_configured
from .status import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, fail_usage

_parser = command_parser  # the names the tests have always imported
_check_parser = check_parser

__all__ = [
    "CASES_FOLDER",
    "COMMANDS",
    "CONFIG_KEYS",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PARAMETERS",
    "PreparedTarget",
    "UsageError",
    "_check_parser",
    "_parser",
    "check_parser",
    "command_parser",
    "configured_method",
    "load_target",
    "main",
    "prepare_configured",
    "run",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status (usage errors exit with 2)."""
    words = list(sys.argv[1:] if argv is None else argv)
    args = command_parser().parse_args(words)
    args.words = words[words.index(args.command) + 1 :]  # the command's own, for configured targets
    try:
        return COMMANDS[args.command](args)
    except UsageError as error:
        fail_usage(str(error))


def run() -> NoReturn:
    """The console script: exit with :func:`main`'s status. Output is line-buffered, so that
    a CI log shows each report as it is printed even when piped."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(line_buffering=True)
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if any(t.daemon and t.is_alive() for t in threading.enumerate()):
        os._exit(status)  # a target that hung is still running in a daemon thread: leave it
    raise SystemExit(status)
