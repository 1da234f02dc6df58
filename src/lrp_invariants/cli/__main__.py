"""``python -m lrp_invariants.cli``: the same command line as the ``lrp-invariants`` script."""

from . import run

run()
