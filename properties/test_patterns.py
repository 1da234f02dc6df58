"""PatternNet and PatternAttribution (issue 14): the patterns and both passes lie in their
enclosures, which contain the exact rational values; with patterns learned on the data net2
sees they are input-invariant, with patterns learned on the unshifted data they are not; the
estimator's 0/0 and its defining identity ``wᵀa = 1``. Tolerances come from
:mod:`lrp_invariants.bounds.patterns`."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from tests.rational import exact_pattern_method, exact_patterns

from lrp_invariants import Network, targets
from lrp_invariants import strategies as lst
from lrp_invariants.bounds import agreement_tolerance
from lrp_invariants.bounds.patterns import enclose_patterns
from lrp_invariants.cases import SeedCase
from lrp_invariants.invariants import PROPERTIES, Comparison, require
from lrp_invariants.methods import METHODS
from lrp_invariants.network import forward
from lrp_invariants.patterns import PATTERN_METHODS, learn_patterns, pattern_attribution

CASES = lst.with_data(lst.seed_cases())
TARGETS = {"pattern-net": targets.pattern_net, "pattern-attribution": targets.pattern_attribution}


def _within(value: object, mid: float, rad: float) -> bool:
    """``|value - mid| <= rad``, in exact arithmetic (an unbounded radius holds anything)."""
    if np.isinf(rad):
        return True
    return abs(Fraction(value) - Fraction(mid)) <= Fraction(rad)  # type: ignore[arg-type]


@given(CASES)
def test_the_pattern_enclosures_contain_the_exact_rational_patterns(case: SeedCase) -> None:
    assert case.data is not None
    balls = enclose_patterns(case.net1, case.data_balls1, case.precision)
    for i, (exact, ball) in enumerate(
        zip(exact_patterns(case.net1, case.data), balls, strict=True)
    ):
        for j, pattern in enumerate(exact):
            for r, value in enumerate(pattern):
                assert _within(value, ball.mid[r, j], ball.rad[r, j]), (i, r, j)


@given(CASES)
def test_the_core_patterns_lie_in_their_enclosures(case: SeedCase) -> None:
    assert case.data is not None
    balls = enclose_patterns(case.net1, case.data_balls1, case.precision)
    for A, ball in zip(learn_patterns(case.net1, case.data), balls, strict=True):
        assert np.all(np.abs(A - ball.mid) <= ball.rad)


@pytest.mark.parametrize("method", PATTERN_METHODS)
@given(case=CASES)
def test_the_pattern_method_enclosures_contain_the_exact_rational_value(
    method: str, case: SeedCase
) -> None:
    assert case.data is not None
    ball = case.pattern_enclosure(method)
    exact = exact_pattern_method(method, case.net1, case.x1, case.classes, case.data)
    for s, row in enumerate(exact):
        for r, value in enumerate(row):
            assert _within(value, ball.mid[s, r], ball.rad[s, r]), (s, r)


@pytest.mark.parametrize("method", PATTERN_METHODS)
@given(case=CASES, data=st.data())
def test_patterns_learned_on_the_shifted_data_make_the_method_input_invariant(
    method: str, case: SeedCase, data: st.DataObject
) -> None:
    prop = PROPERTIES["input-invariance"]
    require(prop.sentence, prop.check(case, TARGETS[method], METHODS[method], data.draw))


def _unshifted_data_moves(case: SeedCase) -> bool:
    """PatternAttribution on net2 at x2 with patterns learned on the data net1 saw certainly
    differs from net1's."""
    assert case.data is not None
    r1 = pattern_attribution(case.net1, case.x1, case.classes, case.data)
    r2 = pattern_attribution(case.net2, case.x2, case.classes, case.data)
    ball = case.pattern_enclosure("pattern-attribution")
    comparison = Comparison(
        "relevance(net2, x1 + m; data) == relevance(net1, x1; data)",
        r2,
        r1,
        agreement_tolerance(ball, ball),
    )
    return not comparison.holds() and bool(np.isfinite(comparison.tolerance).all())


def test_patterns_learned_on_the_unshifted_data_are_not_input_invariant() -> None:
    # net2's units see data + m; on the data itself they switch on and off elsewhere (and the
    # output's pattern covaries with other logits), so the patterns and relevance move
    case = find(  # the first one found: shrinking it shows nothing the assertion needs
        CASES,
        _unshifted_data_moves,
        settings=settings(
            max_examples=500, database=None, derandomize=True, phases=[Phase.generate]
        ),
    )
    assert case.data is not None
    assert not np.array_equal(
        pattern_attribution(case.net2, case.x2, case.classes, case.data),
        pattern_attribution(case.net1, case.x1, case.classes, case.data),
    )


@given(CASES)
def test_a_unit_active_on_fewer_than_two_samples_has_the_pattern_zero(case: SeedCase) -> None:
    assert case.data is not None
    trace = forward(case.net1, case.data)
    patterns = learn_patterns(case.net1, case.data)
    for z, A in zip(trace.z[:-1], patterns[:-1], strict=True):
        few = (z > 0).sum(axis=0) < 2
        assert np.all(A[:, few] == 0)


@given(CASES)
def test_a_pattern_is_normalised_to_its_weights_exactly(case: SeedCase) -> None:
    # wᵀ a = wᵀ cov / wᵀ cov = 1 for every unit with a pattern: in exact arithmetic, so that
    # PatternAttribution of one linear layer adds up to its logit
    assert case.data is not None
    for layer, patterns in zip(case.net1.layers, exact_patterns(case.net1, case.data), strict=True):
        for j, pattern in enumerate(patterns):
            if any(pattern):
                total = sum(
                    Fraction(float(w)) * a for w, a in zip(layer.W[:, j], pattern, strict=True)
                )
                assert total == 1


def test_pattern_attribution_of_a_linear_model_is_w_times_a_times_the_logit() -> None:
    # y = 2 x0 + x1 + 0.5 on data (0, 0), (1, 1): x moves by (1, 1) where y moves by 3, so
    # a = cov(x, y) / var(y) = (3/4, 3/4) / (9/4) = (1/3, 1/3); at x = (1, -1) the logit is
    # 1.5 and the relevance w ⊙ a · 1.5 = (1, 1/2)
    network = Network.from_arrays([np.array([[2.0], [1.0]])], [np.array([0.5])])
    data = np.array([[0.0, 0.0], [1.0, 1.0]])
    x, classes = np.array([[1.0, -1.0]]), np.array([0])
    assert exact_pattern_method("pattern-attribution", network, x, classes, data) == [
        [Fraction(1), Fraction(1, 2)]
    ]
    case = SeedCase(network, x, np.zeros(2), classes, data=data)
    ball = case.pattern_enclosure("pattern-attribution")
    computed = pattern_attribution(network, x, classes, data)
    assert np.all(np.abs(computed - ball.mid) <= ball.rad)
    assert np.all(np.abs(ball.mid - [[1.0, 0.5]]) <= ball.rad)


def test_a_logit_exactly_0_on_every_row_has_the_pattern_0_in_every_evaluation() -> None:
    # every hidden unit dead on the data and no bias: the logit is 0 on every row, a sum of
    # zeros, so its covariances are exactly 0 in any order and the pattern is 0, not unknown
    network = Network.from_arrays(
        [np.array([[-1.0, -2.0]]), np.array([[3.0], [5.0]])], [np.zeros(2), np.zeros(1)]
    )
    data = np.array([[1.0], [2.0], [3.0]])
    case = SeedCase(network, np.array([[-1.0]]), np.zeros(1), np.array([0]), data=data)
    balls = enclose_patterns(network, case.data_balls1, case.precision)
    assert np.all(balls[-1].mid == 0) and np.all(balls[-1].rad == 0)
    assert np.all(learn_patterns(network, data)[-1] == 0)
