"""Soundness and power of the gate on CNN targets: correct code under fresh seeds, mutants.

``python campaigns/cnn_soundness.py [--seeds S ...] [--examples 100] [--until 20:40]
[--log campaigns/logs/cnn_soundness.jsonl]`` runs, for each seed (fresh ones from ``secrets``
until the ``--until`` UTC time where none are given), the gate on CNN cases (``architecture=
"cnn"``, ``shrink=False``) against every (alternative, method) pair of
``campaigns/cnn_alternatives.py`` and against :func:`~lrp_invariants.cnn_cases.cnn_reference`
of every method judged on CNNs. Every target is correct, so any failing property is a false
alarm of the gate: its report is printed and logged. One JSON line per run: seed, target,
method, drawn cases, property checks (one property on one drawn case), verdict, the worst
error / tolerance per property.

``python campaigns/cnn_soundness.py --mutants [--mutant-seeds 20] [--mutant NAME ...]`` runs
each CNN mutant of ``tests/cnn_protocol_mutants.py`` (or the named ones) with
``first_failure=True, shrink=False`` on the default derandomised search and on fresh random
seeds, and reports caught k/20.
"""

from __future__ import annotations

import argparse
import datetime
import json
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from campaigns.cnn_alternatives import pairs  # noqa: E402
from lrp_invariants.architectures import ARCHITECTURES  # noqa: E402
from lrp_invariants.cnn_cases import cnn_reference  # noqa: E402
from lrp_invariants.gate import GateReport, run_gate  # noqa: E402
from lrp_invariants.methods import METHODS  # noqa: E402

LOG = ROOT / "campaigns" / "logs" / "cnn_soundness.jsonl"
JUDGED = ("gradient", "saliency", "gradient-x-input", "lrp-0", "lrp-epsilon", "lrp-alpha-beta",
          "lrp-zplus", "lrp-gamma", "lrp-w-square")  # fmt: skip
"""The methods the gate judges on CNNs (checked against the architecture at start)."""


def correct_targets() -> list[tuple[str, str, Callable[..., Any]]]:
    """(name, method, target): every alternative's methods, then the references."""
    found = [(f"{name}({method})", method, target) for name, method, target in pairs()]
    found += [(f"cnn_reference({m})", m, cnn_reference(m)) for m in JUDGED]
    return found


def record(report: GateReport, name: str, seconds: float, **extra: Any) -> dict[str, Any]:
    """One run as a JSON-able line."""
    drawn = max((p.examples for p in report.properties), default=0)
    line: dict[str, Any] = {
        **extra,
        "seed": report.seed,
        "target": name,
        "method": report.method,
        "examples": drawn,
        "checks": sum(p.examples for p in report.properties),
        "verdict": "pass" if report.ok else "fail",
        "worst": {p.name: p.worst_ratio for p in report.properties},
        "seconds": round(seconds, 1),
    }
    if not report.ok:
        line["failed"] = [p.name for p in report.properties if not p.ok]
        line["report"] = report.render()
    return line


def _write(line: dict[str, Any], log: Path | None) -> None:
    text = json.dumps(line)
    if log is not None:
        with log.open("a") as f:
            f.write(text + "\n")


def soundness(
    seeds: Sequence[int | None] | None,
    examples: int,
    until: datetime.datetime | None,
    log: Path | None,
    fresh: bool = True,
) -> int:
    """Every correct target on ``seeds`` (None: the default derandomised search), then, with
    ``fresh``, on fresh seeds until ``until``."""
    targets = correct_targets()
    totals = {"seeds": 0, "runs": 0, "cases": 0, "checks": 0, "false_alarms": 0}
    queue = list(seeds or [])
    while True:
        seed: int | None
        if queue:
            seed = queue.pop(0)
        elif not fresh:
            break
        else:
            if until is not None and datetime.datetime.now(datetime.timezone.utc) >= until:
                break
            seed = secrets.randbelow(2**31)
        for name, method, target in targets:
            if until is not None and datetime.datetime.now(datetime.timezone.utc) >= until:
                break  # a seed cut short: its finished runs count, each logged on its own
            start = time.perf_counter()
            report = run_gate(
                target, method, architecture="cnn", seed=seed, examples=examples, shrink=False
            )
            line = record(report, name, time.perf_counter() - start, mode="soundness")
            _write(line, log)
            totals["runs"] += 1
            totals["cases"] += line["examples"]
            totals["checks"] += line["checks"]
            if not report.ok:
                totals["false_alarms"] += 1
                print(line["report"], flush=True)
            print(
                f"{seed} {name}: {line['verdict']} {line['examples']} cases ({line['seconds']} s)",
                flush=True,
            )
        totals["seeds"] += 1
    print(json.dumps({"total": totals}), flush=True)
    return 1 if totals["false_alarms"] else 0


def mutants(count: int, log: Path | None, only: Sequence[str] | None = None) -> int:
    """Each CNN mutant (or those named in ``only``) on the default search and on ``count``
    fresh seeds."""
    from tests.cnn_protocol_mutants import CNN_GATE_MUTANTS

    rows = []
    for name, (target, method) in CNN_GATE_MUTANTS.items():
        if only and name not in only:
            continue
        seeds = [None] + [secrets.randbelow(2**31) for _ in range(count)]
        caught, default = 0, False
        for seed in seeds:
            start = time.perf_counter()
            report = run_gate(
                target, method, architecture="cnn", seed=seed, first_failure=True, shrink=False
            )
            line = record(report, name, time.perf_counter() - start, mode="mutant")
            line.pop("report", None)  # a mutant's failure is expected: the verdict is enough
            _write(line, log)
            if seed is None:
                default = not report.ok
            else:
                caught += not report.ok
        rows.append({"mutant": name, "method": method, "default": default, "caught": caught,
                     "seeds": count})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return 0 if all(r["default"] for r in rows) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument(
        "--default-first",
        action="store_true",
        help="first the default derandomised search (seed None), as the full test tier runs it",
    )
    parser.add_argument("--examples", type=int, default=100, help="drawn cases per run")
    parser.add_argument("--until", default=None, help="stop at this UTC time, HH:MM")
    parser.add_argument("--log", type=Path, default=LOG)
    parser.add_argument("--mutants", action="store_true")
    parser.add_argument("--mutant-seeds", type=int, default=20)
    parser.add_argument("--mutant", action="append", help="only this mutant (repeatable)")
    args = parser.parse_args(argv)
    judged = {m for m in METHODS if ARCHITECTURES["cnn"].judges(METHODS[m])}
    if not set(JUDGED) <= judged:
        raise SystemExit(f"not judged on CNNs: {sorted(set(JUDGED) - judged)}")
    if args.mutants:
        return mutants(args.mutant_seeds, args.log, args.mutant)
    until = None
    if args.until is not None:
        hour, minute = map(int, args.until.split(":"))
        now = datetime.datetime.now(datetime.timezone.utc)
        until = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if args.seeds is None and until is None:
        raise SystemExit("give --seeds or --until (fresh seeds until then)")
    first = [None] if args.default_first else []
    seeds = None if args.seeds is None and not first else [*first, *(args.seeds or [])]
    return soundness(seeds, args.examples, until, args.log, fresh=args.seeds is None)


if __name__ == "__main__":
    raise SystemExit(main())
