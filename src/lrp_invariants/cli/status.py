"""The command line's exit statuses, and the error that ends a command with status 2."""

from __future__ import annotations

import sys
from typing import NoReturn

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with the command line or the target: exit status 2."""


def fail_usage(message: str) -> NoReturn:
    """Print ``message`` the way argparse prints its own errors and exit with status 2."""
    print(f"lrp-invariants: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)
