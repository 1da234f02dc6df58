"""Soundness campaign: every correct implementation, every property of its method, random seeds.

``python campaigns/soundness.py --seeds 1 2 3 --examples 1000 [--jobs 2] [--log FILE]
[--arithmetic ftz] [--dtype float32] [--properties reference determinism]``

Each seed runs one Hypothesis search per property of the thorough kind (random, no database,
the gate's default cases: both size tiers, units on their kinks, scales swept; each with a data
set for the pattern methods):
every drawn case is checked against every correct target that claims a method implying the
property, the built-in references and the alternatives of ``tests/alternatives.py`` alike, so one
drawn case serves all of them. A failure is a false alarm of the gate (every target here is
correct); it is printed with the case and recorded in the log, one JSON line per
(seed, property). The totals at the end count property checks: one target, one property, one
drawn case. With ``--arithmetic ftz`` every case is held to flush-to-zero arithmetic, and the
flushing targets of ``tests/flushing.py`` join the correct ones.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.alternatives import ALTERNATIVES  # noqa: E402
from tests.flushing import FLUSHING  # noqa: E402

from lrp_invariants import targets  # noqa: E402
from lrp_invariants.cases import SeedCase  # noqa: E402
from lrp_invariants.gate import ARITHMETICS, DTYPES, default_cases, describe_case  # noqa: E402
from lrp_invariants.invariants import PROPERTIES, InvariantViolation, TargetMisbehaved  # noqa: E402
from lrp_invariants.methods import METHODS, Method  # noqa: E402
from lrp_invariants.strategies import with_data  # noqa: E402

BUILTIN = {
    "targets.gradient": (targets.gradient, "gradient"),
    "targets.gradient_x_input": (targets.gradient_x_input, "gradient-x-input"),
    "targets.lrp_0": (targets.lrp_0, "lrp-0"),
    "targets.lrp_epsilon": (targets.lrp_epsilon, "lrp-epsilon"),
    "targets.lrp_alpha_beta": (targets.lrp_alpha_beta, "lrp-alpha-beta"),
    "targets.lrp_zplus": (targets.lrp_zplus, "lrp-zplus"),
}
CORRECT: dict[str, tuple[Callable[..., Any], str]] = {**BUILTIN, **ALTERNATIVES}

# Within one drawn case many targets claim the same method, and each property encloses the same
# networks for each of them: the campaign computes each enclosure once per case. The cache holds
# its networks and balls, so that no id is reused while it lives, and is emptied for every case.
_ENCLOSED: dict[tuple[Any, ...], tuple[Any, ...]] = {}
_enclose, _enclose_layers = Method.enclose, Method.enclose_layers


def _cached(compute: Callable[..., Any]) -> Callable[..., Any]:
    def cached(method: Method, network: Any, forward: Any, classes: Any, p: Any) -> Any:
        key = (compute.__name__, method.name, id(network), id(forward), id(classes), p)
        if key not in _ENCLOSED:
            _ENCLOSED[key] = (compute(method, network, forward, classes, p), network, forward)
        return _ENCLOSED[key][0]

    return cached


Method.enclose = _cached(_enclose)  # type: ignore[method-assign]
Method.enclose_layers = _cached(_enclose_layers)  # type: ignore[method-assign]


def _search(
    prop_name: str, seed: int, examples: int, flush: bool, dtype: str = "float64"
) -> dict[str, Any]:
    prop = PROPERTIES[prop_name]
    correct = {**CORRECT, **FLUSHING} if flush else CORRECT
    claimants = [
        (name, fn, METHODS[method])
        for name, (fn, method) in correct.items()
        if prop_name in METHODS[method].properties
    ]
    record: dict[str, Any] = {
        "seed": seed,
        "property": prop_name,
        "arithmetic": "ftz" if flush else "ieee",
        "dtype": dtype,
        "cases": 0,
        "checks": 0,
    }
    failures: list[str] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=with_data(default_cases(dtype=dtype)), data=st.data())
    def search(case: SeedCase, data: st.DataObject) -> None:
        case = case.under(flush)
        _ENCLOSED.clear()
        record["cases"] += 1
        for name, fn, method in claimants:
            record["checks"] += 1
            try:
                failed = [c for c in prop.check(case, fn, method, data.draw) if not c.holds()]
            except (InvariantViolation, TargetMisbehaved) as error:
                failures.append(f"{name}: {error}\n  case: {describe_case(case)}")
                continue
            if failed:
                details = "; ".join(c.describe() for c in failed)
                failures.append(f"{name}: {details}\n  case: {describe_case(case)}")

    start = time.perf_counter()
    search()
    record["seconds"] = round(time.perf_counter() - start, 1)
    record["false_alarms"] = failures
    return record


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--examples", type=int, default=1000, help="drawn cases per property")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--log", type=Path, default=None)
    parser.add_argument("--arithmetic", choices=tuple(ARITHMETICS), default="ieee")
    parser.add_argument("--dtype", choices=DTYPES, default="float64")
    parser.add_argument(
        "--properties",
        nargs="+",
        choices=sorted(PROPERTIES),
        default=list(PROPERTIES),
        help="the properties to search (all by default; a subset finishes an interrupted seed)",
    )
    args = parser.parse_args(argv)
    flush = args.arithmetic == "ftz"
    jobs = [(name, seed) for seed in args.seeds for name in args.properties]
    totals = {"cases": 0, "checks": 0, "false_alarms": 0}
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [
            pool.submit(_search, name, seed, args.examples, flush, args.dtype)
            for name, seed in jobs
        ]
        for future in futures:
            record = future.result()
            for key in ("cases", "checks"):
                totals[key] += record[key]
            totals["false_alarms"] += len(record["false_alarms"])
            line = json.dumps(record)
            print(line, flush=True)
            if args.log is not None:
                with args.log.open("a") as log:
                    log.write(line + "\n")
    print(json.dumps({"total": totals}), flush=True)
    return 1 if totals["false_alarms"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
