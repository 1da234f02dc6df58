"""The gate's own speed: its default run on a correct target, in examples per second.

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
