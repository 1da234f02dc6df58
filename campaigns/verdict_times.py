"""How long a wrong target waits for its verdict: every gate-level mutant of the repository at
the gate's defaults, shrinking included (issue 25, item 3).

``python campaigns/verdict_times.py [--only PREFIX] [--log campaigns/logs/verdict_times.jsonl]``
runs :func:`~lrp_invariants.gate.run_gate` once per mutant (the MLP mutants of
``tests/mutants.py`` and ``tests/reach_mutants.py``, the pattern mutants of
``tests/test_pattern_gate.py``, the CNN mutants of ``tests/cnn_protocol_mutants.py``), each
with nothing but its claimed method and architecture, as ``lrp-invariants check`` runs it, and
prints one JSON line per mutant: seconds to the verdict (the search, the first shrink), caught
or not, the failing properties, whether one failing property's case is minimal (shrunk to the
end: the smallest failing case) and which others stopped at the shrink budget. The last line
sums up: median and slowest time, mutants caught, cases minimal. Timings are wall-clock on
whatever the machine is doing: run it alone for the figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lrp_invariants.gate import run_gate  # noqa: E402


def gate_mutants() -> Iterator[tuple[str, Callable[..., Any], str, str, Callable[[], None]]]:
    """Every gate-level mutant: (name, target, method, architecture, reset before the run)."""
    from tests import test_pattern_gate
    from tests.cnn_protocol_mutants import CNN_GATE_MUTANTS
    from tests.mutants import MUTANTS
    from tests.reach_mutants import REACH_MUTANTS

    def nothing() -> None:
        pass

    for name, (target, method) in MUTANTS.items():
        yield f"mlp/{name}", target, method, "mlp", nothing
    for name, (target, method) in REACH_MUTANTS.items():
        yield f"reach/{name}", target, method, "mlp", nothing
    forget = test_pattern_gate._FIXED_DATA.clear  # learns_once keeps what it learned: a run
    for name, (target, _) in test_pattern_gate.MUTANTS.items():  # starts it empty
        yield f"pattern/{name}", target, "pattern-attribution", "mlp", forget
    for name, (target, method) in CNN_GATE_MUTANTS.items():
        yield f"cnn/{name}", target, method, "cnn", nothing


def measure(
    target: Callable[..., Any], method: str, architecture: str, reset: Callable[[], None]
) -> dict[str, Any]:
    """One default gate run of a mutant: its time to the verdict and what the report shows."""
    reset()
    stages: dict[str, float] = {}  # when each stage of the run began

    def progress(stage: str, done: int, total: int) -> None:
        stages.setdefault(stage, time.perf_counter())

    start = time.perf_counter()
    report = run_gate(target, method, architecture=architecture, progress=progress)
    end = time.perf_counter()
    seconds = end - start
    # the search, the first failing property's shrink, the rest (other shrinks, the notes)
    shrinks = sorted(t for stage, t in stages.items() if stage.startswith("shrink")) or [end]
    first_shrink_end = shrinks[1] if len(shrinks) > 1 else end
    failed = [p for p in report.properties if not p.ok]
    # the one failing property shrunk to the end (its case was the smallest)
    first = next((p for p in failed if p.minimised and not p.shrink_stopped), None)
    return {
        "seconds": round(seconds, 2),
        "caught": not report.ok,
        "failed": [p.name for p in failed],
        "first": None if first is None else first.name,
        "first_minimal": first is not None,
        "budget_stopped": [p.name for p in failed if p.shrink_stopped],
        "search_seconds": round(shrinks[0] - start, 2),
        "first_shrink_seconds": round(first_shrink_end - shrinks[0], 2),
        "search_ended": report.search_ended,
    }


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    times = [row["seconds"] for row in rows]
    return {
        "mutants": len(rows),
        "caught": sum(row["caught"] for row in rows),
        "first_minimal": sum(row["first_minimal"] for row in rows),
        "median_seconds": round(statistics.median(times), 2),
        "slowest_seconds": max(times),
        "slowest": max(rows, key=lambda row: row["seconds"])["mutant"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="mutants whose name starts with this (mlp/, cnn/, ...)")
    parser.add_argument("--log", type=Path, help="append the JSON lines to this file")
    args = parser.parse_args(argv)
    rows = []
    for name, target, method, architecture, reset in gate_mutants():
        if args.only and not name.startswith(args.only):
            continue
        row = {"mutant": name, "method": method, **measure(target, method, architecture, reset)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    total = {"total": summary(rows), "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(total), flush=True)
    if args.log:
        with args.log.open("a") as log:
            for row in [*rows, total]:
                log.write(json.dumps(row) + "\n")
    return 0 if all(row["caught"] and row["first_minimal"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
