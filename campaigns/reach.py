"""Reach campaign: is every reach mutant (tests/reach_mutants.py) caught by the default gate run
and by random seeds?

``python campaigns/reach.py --seeds S1 S2 ... [--mutant NAME ...]``

For each mutant: the gate at its defaults (derandomised, 100 examples per property, no
shrinking, as fast as a CI gate runs), then once per seed. Prints one line per mutant: caught
or missed by the derandomised run, and by how many of the seeds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.reach_mutants import REACH_MUTANTS

from lrp_invariants.gate import GateOptions, run_gate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--mutant", action="append", choices=sorted(REACH_MUTANTS))
    args = parser.parse_args()
    options = GateOptions(shrink=False)  # as fast as a CI gate runs
    missed = 0
    for name in args.mutant or sorted(REACH_MUTANTS):
        mutant, method = REACH_MUTANTS[name]
        start = time.perf_counter()
        default = not run_gate(mutant, method, options=options).ok
        seeds = [not run_gate(mutant, method, options=options, seed=s).ok for s in args.seeds]
        missed += (not default) + seeds.count(False)
        print(
            f"{name:58s} default run: {'caught' if default else 'MISSED'}; "
            f"seeds: {sum(seeds)}/{len(seeds)}  ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
