"""The gate's own speed: its default run on a correct target (examples per second, and against the
first gate's 11 s), and how long a wrong target waits for its verdict.

The floor is what no gate run can avoid: Hypothesis drawing the same number of cases from the
gate's default strategy, with nothing checked. The default run checks every property of the
method on every case (one search for all of them), so its cost over the floor is the checks.
Examples per second per property are printed at the end (``extra_info``), beside the ratio.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings

from lrp_invariants.cases import SeedCase
from lrp_invariants.defaults import DEFAULT_EXAMPLES
from lrp_invariants.gate import default_cases, run_gate
from lrp_invariants.targets import lrp_epsilon


def _draw_only() -> None:
    @settings(
        max_examples=DEFAULT_EXAMPLES,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(default_cases())
    def drawn(case: SeedCase) -> None:
        pass

    drawn()


def test_floor_drawing_the_gates_cases(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "gate"
    benchmark.pedantic(_draw_only, rounds=3, iterations=1, warmup_rounds=1)


def test_gate_default_run_on_lrp_epsilon(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "gate"
    report = benchmark.pedantic(
        run_gate, args=(lrp_epsilon, "lrp-epsilon"), rounds=3, iterations=1, warmup_rounds=1
    )
    assert report.ok
    seconds = benchmark.stats.stats.min
    properties = len(report.properties)
    # each case runs through every property: per property, the run sees examples / seconds
    benchmark.extra_info["examples per second per property"] = round(DEFAULT_EXAMPLES / seconds, 1)
    benchmark.extra_info["property checks per second"] = round(
        DEFAULT_EXAMPLES * properties / seconds, 1
    )
    # issue 25: at least 3x faster than the first version of the gate's default run (11 s on
    # this 2-core machine), at equal or better power
    benchmark.extra_info["x faster than the first gate's 11 s"] = round(FIRST_GATE / seconds, 2)


FIRST_GATE = 11.0
"""Seconds the first version of the gate took for this run on the project's 2-core machine."""

VERDICT_MUTANTS = (
    "mlp/lrp0_drops_negative_inputs",
    "mlp/lrp_epsilon_unsigned_stabiliser",
    "mlp/gradient_with_torch_weight_layout",
    "cnn/batch_norm_merged_keeping_eps",
)
"""A sample of the repository's mutants, of four kinds of first failing property (the whole
set, 38 of them: ``campaigns/verdict_times.py``, about seven minutes)."""


def _verdicts() -> list[float]:
    from campaigns.verdict_times import gate_mutants, measure

    chosen = {name: rest for name, *rest in gate_mutants() if name in VERDICT_MUTANTS}
    rows = [measure(*chosen[name]) for name in VERDICT_MUTANTS]
    assert all(row["caught"] and row["first_minimal"] for row in rows), rows
    return [row["seconds"] for row in rows]


def test_gate_verdicts_on_mutants(benchmark) -> None:  # type: ignore[no-untyped-def]
    """Time to exit 1 at the defaults (shrinking included) on a sample of wrong targets."""
    benchmark.group = "gate verdicts"  # no floor: the targets are seconds
    times = benchmark.pedantic(_verdicts, rounds=1, iterations=1)
    ordered = sorted(times)
    benchmark.extra_info["mutant verdict seconds, median"] = ordered[len(ordered) // 2]
    benchmark.extra_info["mutant verdict seconds, slowest"] = ordered[-1]
