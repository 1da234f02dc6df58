"""Flush-to-zero arithmetic: a target that flushes subnormal numbers passes when it declares
so, fails with a one-line classification when it does not, and a real defect in the same code
still fails under the declaration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st

from lrp_invariants import Network, targets
from lrp_invariants.cases import SeedCase
from lrp_invariants.cli import main
from lrp_invariants.gate import Replayer, probe_flushing, run_gate, run_property
from lrp_invariants.invariants import PROPERTIES
from lrp_invariants.methods import METHODS

from . import mutants
from .example_counts import scaled
from .flushing import (
    FLUSHING,
    FLUSHING_MUTANTS,
    ftz_gradient,
    ftz_gradient_x_input,
    ftz_lrp_0,
    ftz_lrp_epsilon,
    ftz_lrp_epsilon_off_by_1e6,
)
from .mutants import MUTANTS
from .test_mutants import CATCHES


def _case(weights: list[Any], biases: list[Any], x: Any) -> SeedCase:
    network = Network.from_arrays(
        [np.array(w, float) for w in weights], [np.array(b, float) for b in biases]
    )
    batch = np.array(x, float)
    return SeedCase(network, batch, np.zeros(batch.shape[1]), np.zeros(len(batch), int))


# The cases of the issue: an input, an input through a unit, a product below the smallest
# normal. The first and last also lose LRP-0's relevance in an order valid with gradual
# underflow, (x w R) / z, so only gradient-based claims can tell flushing from it there.
SUBNORMAL_INPUT = _case([[[1.0]]], [[0.0]], [[2.225e-311]])
SUBNORMAL_UNIT = _case([[[1.0]], [[1.0]]], [[0.0], [0.0]], [[1.11e-308]])
SUBNORMAL_PRODUCT = _case([[[4.44e-172]]], [[0.0]], [[9.44e-138]])
CASES = [
    pytest.param(ftz_gradient_x_input, "gradient-x-input", "reference", SUBNORMAL_INPUT, id="gxi"),
    pytest.param(ftz_gradient, "gradient", "reference", SUBNORMAL_UNIT, id="gradient"),
]


def _holds(fn: Any, method: str, prop: str, case: SeedCase) -> bool:
    comparisons = PROPERTIES[prop].check(case, fn, METHODS[method], Replayer([]))
    return bool(comparisons) and all(c.holds() for c in comparisons)


@pytest.mark.parametrize(("fn", "method", "prop", "case"), CASES)
def test_a_flushing_target_fails_the_case_under_gradual_underflow(
    fn: Any, method: str, prop: str, case: SeedCase
) -> None:
    assert not _holds(fn, method, prop, case)


@pytest.mark.parametrize("case", [SUBNORMAL_INPUT, SUBNORMAL_PRODUCT], ids=["input", "product"])
def test_lrp_0_may_lose_a_subnormal_relevance_in_gradual_underflow_too(case: SeedCase) -> None:
    """LRP-0 evaluated as (x w R) / z underflows to 0 here with gradual underflow as well: every
    operation correctly rounded. Its flushed 0 is therefore no defect under either model."""
    x, w = float(case.x1[0, 0]), float(case.net1.weights[0][0, 0])
    R = x * w  # the logit, which is the relevance of the only unit
    assert (x * w * R) / R == 0.0 and x * w != 0.0
    assert _holds(ftz_lrp_0, "lrp-0", "reference", case)


@pytest.mark.parametrize(("fn", "method", "prop", "case"), CASES)
def test_a_flushing_target_passes_the_case_when_it_declares_flushing(
    fn: Any, method: str, prop: str, case: SeedCase
) -> None:
    assert _holds(fn, method, prop, case.under(True))


@pytest.mark.parametrize(("fn", "method", "prop", "case"), CASES)
def test_the_undeclared_failure_is_classified_as_subnormal_only(
    fn: Any, method: str, prop: str, case: SeedCase
) -> None:
    report = run_property(PROPERTIES[prop], fn, METHODS[method], cases=st.just(case))
    assert not report.ok and report.only_subnormal
    rendered = run_gate(fn, method, properties=[prop], cases=st.just(case)).render()
    assert "differs only where values are subnormal" in rendered
    assert "--arithmetic ftz" in rendered


@pytest.mark.parametrize(
    ("name", "prop"), [(n, p) for n, (_, m) in FLUSHING.items() for p in METHODS[m].properties]
)
def test_a_flushing_target_keeps_every_property_when_declared(name: str, prop: str) -> None:
    fn, method = FLUSHING[name]
    report = run_property(
        PROPERTIES[prop], fn, METHODS[method], examples=scaled(25), shrink=False, arithmetic="ftz"
    )
    assert report.ok, report.failure


def test_a_real_error_in_a_flushing_target_still_fails_under_the_declaration() -> None:
    report = run_gate(
        ftz_lrp_epsilon_off_by_1e6,
        "lrp-epsilon",
        arithmetic="ftz",
        shrink=False,
        first_failure=True,
    )
    failed = [p for p in report.properties if not p.ok]
    assert failed and not any(p.only_subnormal for p in failed)


@pytest.mark.parametrize("name", sorted(FLUSHING_MUTANTS))
def test_a_flushing_mutant_is_caught_under_the_declaration(name: str) -> None:
    fn, method, prop = FLUSHING_MUTANTS[name]
    report = run_property(PROPERTIES[prop], fn, METHODS[method], shrink=False, arithmetic="ftz")
    assert not report.ok, f"{name} passed {prop} under flush-to-zero"


@pytest.fixture(autouse=True)
def _empty_mutant_cache() -> None:
    mutants._CACHE.clear()


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_every_mutant_is_still_caught_under_flush_to_zero(name: str) -> None:
    mutant, method = MUTANTS[name]
    caught_by = CATCHES[name]
    names = caught_by if isinstance(caught_by, tuple) else (caught_by,)
    report = run_gate(mutant, method, properties=names, shrink=False, arithmetic="ftz")
    assert not report.ok, f"{name} passed {names} under flush-to-zero"


def test_a_correct_target_with_gradual_underflow_passes_under_flush_to_zero_too() -> None:
    assert run_gate(targets.lrp_epsilon, "lrp-epsilon", examples=scaled(15), arithmetic="ftz").ok


def test_the_probe_tells_a_flushing_target_from_one_with_gradual_underflow() -> None:
    assert probe_flushing(ftz_lrp_0) is True
    assert probe_flushing(targets.lrp_0) is False
    assert probe_flushing(targets.gradient) is False


def test_the_probe_holds_for_stabilised_rules_where_epsilon_swallows_a_subnormal_input() -> None:
    """With weights of 1, LRP-ε's relevance of a subnormal input is 0 even with gradual
    underflow: the probe must not take that for flushing."""
    assert probe_flushing(targets.lrp_epsilon, "lrp-epsilon") is False
    assert probe_flushing(ftz_lrp_epsilon, "lrp-epsilon") is True


def test_the_probe_says_nothing_about_a_target_that_raises() -> None:
    def broken(weights: Any, biases: Any, x: Any, classes: Any) -> Any:
        raise RuntimeError("no")

    assert probe_flushing(broken) is None


def test_the_report_says_which_arithmetic_it_checked(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "check",
            "tests.flushing:ftz_gradient",
            "--method",
            "gradient",
            "--arithmetic",
            "ftz",
            "--examples",
            "10",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "arithmetic: flush-to-zero" in out


def test_an_unknown_arithmetic_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown arithmetic 'fast'"):
        run_gate(targets.lrp_0, "lrp-0", arithmetic="fast")
