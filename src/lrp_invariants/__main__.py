"""``python -m lrp_invariants``: the same command line as the ``lrp-invariants`` script."""

from .cli import run

run()
