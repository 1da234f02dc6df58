"""Cases that soundness campaigns and shrinking found, kept so that they stay fixed.

Each was a false alarm of an earlier version (a correct implementation failing a property)
or a crash of the core; all live where floating point is at its weakest, below the smallest
normal number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from lrp_invariants import LRP0, AlphaBeta, Epsilon, Flat, Gamma, Network, ZBox, explain
from lrp_invariants.bounds import agreement_tolerance, enclose_relevance
from lrp_invariants.cases import SeedCase
from lrp_invariants.configuration import Composite
from lrp_invariants.gate import Replayer
from lrp_invariants.invariants import (
    PROPERTIES,
    check_property,
    layerwise_conservation,
    require,
)
from lrp_invariants.methods import METHODS, lrp_method


def _case(weights: list[Any], biases: list[Any], x1: Any, m: Any, classes: Any) -> SeedCase:
    network = Network.from_arrays(
        [np.array(w, float) for w in weights], [np.array(b, float) for b in biases]
    )
    return SeedCase(network, np.array(x1, float), np.array(m, float), np.array(classes))


FOUND = [
    pytest.param(
        "bias-proxy-conservation",
        "lrp-epsilon",
        _case([[[1.0]]], [[0.0]], [[1.11253693e-308]], [-1.0], [0]),
        id="epsilon-absorbs-a-subnormal-logit",
    ),
    pytest.param(
        "bias-proxy-conservation",
        "lrp-0",
        _case([[[3.87705628e-177]], [[1.0]]], [[0.0], [0.0]], [[9.14825878e-227]], [-1.0], [0]),
        id="lrp-0-underflowing-activation",
    ),
    pytest.param(
        "shift-decomposition",
        "lrp-0",
        _case([[[1.0]], [[1.0]]], [[0.0], [0.0]], [[5e-324]], [-1.0], [0]),
        id="lrp-0-smallest-subnormal-input",
    ),
]


@pytest.mark.parametrize(("name", "method", "case"), FOUND)
def test_a_case_found_by_a_campaign_stays_fixed(name: str, method: str, case: SeedCase) -> None:
    chosen = METHODS[method]
    check_property(PROPERTIES[name], case, chosen.reference, chosen, Replayer([]))


def test_a_contribution_that_underflows_to_zero_may_or_may_not_count_as_a_source() -> None:
    # 0.5 * -5e-324 rounds to -0: net1's αβ sees no negative source and keeps the β share,
    # while the unit rescaled by 2**5 gives -5e-324 * 16 exactly, whose β share goes to x
    case = _case(
        [[[0.5, 0.5], [0.5, 0.5]], [[1.0, 1.0], [1.0, 1.0]]],
        [[0.0, 0.0], [0.0, 0.0]],
        [[1.0, -5e-324]],
        [-1.0, -1.0],
        [0],
    )
    chosen = METHODS["lrp-alpha-beta"]
    check_property(PROPERTIES["rescaling"], case, chosen.reference, chosen, Replayer([5, 0]))


@pytest.mark.parametrize(
    ("weights", "biases", "x1"),
    [
        pytest.param(
            [[[-5.46390365e-16]], [[1.0]]],
            [[1.0], [0.0]],
            [[2.90287748e-297]],
            id="beta-share-over-a-subnormal-sum",
        ),
        pytest.param([[[5e-324]]], [[1.0]], [[0.0]], id="smallest-subnormal-weight"),
        pytest.param(
            [[[-5e-324, 1.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]],
            [[0.0, 0.0], [0.0, 0.0]],
            [[5.0, 5.0]],
            id="lone-subnormal-contribution",
        ),
    ],
)
def test_alpha_beta_conserves_relevance_when_a_sign_side_is_subnormal(
    weights: Any, biases: Any, x1: Any
) -> None:
    case = _case(weights, biases, x1, [-1.0] * len(x1[0]), [0])
    require(
        "αβ with a subnormal sign side",
        layerwise_conservation(case.net1, case.x1, case.classes, AlphaBeta(2.0, 1.0)),
    )


def test_net2_and_net3_agree_where_a_subnormal_shift_makes_alpha_beta_bounds_overflow() -> None:
    """Thorough profile, seed 2026: a shift of 1.1e-308 left αβ's bounds so large that two of
    them added up past the largest float (a warning, an error under pytest's settings)."""
    from lrp_invariants.invariants import net2_net3_agreement

    case = _case(
        [[[0.01171875]], [[0.0, 0.0, 1.0]], [[2.0, 2.0, 2.0]] * 3],
        [[0.0], [0.0, 0.0, 0.00012207], [0.0, 0.0, 0.0]],
        [[0.0]],
        [1.11253693e-308],
        [0],
    )
    for rule in (AlphaBeta(2.0, 1.0), AlphaBeta(1.0, 0.0)):
        require("net2 and net3 agree above the input", net2_net3_agreement(case, rule))


def test_a_subnormal_denominator_below_a_normal_relevance_is_shared_first() -> None:
    """Thorough profile: γ = 0 with the bias ignored at the top divides R = 1 by
    D = 0.25 x 2.2e-308; R / D overflows, while the share D / D is 1 and the relevance 1."""
    case = _case(
        [[[0.0]], [[0.25, 0.0]]], [[2.2250738585072014e-308], [1.0, 0.0]], [[0.0]], [-1.0], [0]
    )
    rules = [LRP0(), Gamma(0.0, bias="ignored", sign_aware=False)]
    relevance = explain(case.net1, case.x1, case.classes, rules)[1]
    assert np.all(np.isfinite(relevance.layers[1].R))
    assert relevance.layers[1].R[0, 0] == 1.0
    require("conserved", layerwise_conservation(case.net1, case.x1, case.classes, rules))


def test_lrp_0_below_a_rule_that_passes_a_whole_relevance_to_a_subnormal_unit() -> None:
    """Thorough profile: γ with the bias ignored passes R = 1 to a unit whose z is 5.6e-309;
    LRP-0's R / z = 2**1024 overflows there, its shares (the bias's share is 1) do not."""
    case = _case([[[0.0]], [[1.0, 0.0]]], [[2.0**-1024], [1.0, 0.0]], [[0.0]], [-1.0], [0])
    rules = [LRP0(), Gamma(0.0, bias="ignored", sign_aware=False)]
    relevance = explain(case.net1, case.x1, case.classes, rules)[1]
    assert np.all(np.isfinite(relevance.layers[0].Rb))
    require("conserved", layerwise_conservation(case.net1, case.x1, case.classes, rules))


def test_the_enclosure_below_an_input_blind_rule_says_nothing_where_r_over_z_overflows() -> None:
    """Thorough profile: flat on top hands R = 1 to a unit with z = 2.2e-309; the LRP-0 ball of
    R / z overflowed to inf * 0 = NaN, and must instead be unbounded (a vacuous comparison)."""
    case = _case(
        [[[1.0], [1.0]], [[0.0]]], [[0.0], [1.0]], [[2.225073858507e-309, 0.0]], [-1.0, -1.0], [0]
    )
    rules = [LRP0(), Flat(10.0)]
    balls = enclose_relevance(case.net1, case.balls1, case.classes, rules, case.precision)
    assert not np.any(np.isnan(balls[0].R.rad)) and not np.any(np.isnan(balls[0].R.mid))
    fast = explain(case.net1, case.x1, case.classes, rules)[1].layers[0].R
    assert np.all(np.abs(fast - balls[0].R.mid) <= agreement_tolerance(balls[0].R, balls[0].R))


def test_relevance_reaching_a_unit_with_z_exactly_zero_below_flat_is_kept_back() -> None:
    """Fresh seed 4711: flat above LRP-0 hands relevance to a unit whose z is exactly 0; LRP-0
    keeps it back (Rs), and the enclosure of the bias-proxy conservation must say so too."""
    case = _case([[[0.0]], [[0.0]], [[0.0]]], [[0.0], [0.0], [1.0]], [[0.0]], [-1.0], [0])
    method = lrp_method(Composite(Flat(0.0), first=LRP0()))
    check_property(
        PROPERTIES["bias-proxy-conservation"], case, method.reference, method, Replayer([])
    )


def test_zbox_conservation_counts_the_products_its_evaluation_cancels() -> None:
    """Thorough seed 20261126: z^B on x = -92 in the box [-93, -91] forms
    ``x w - l w⁺ = -87.1 + 88.1``; the relevance ``x (s w) - l (s w⁺)`` cancels terms near 8000,
    and the conservation bound must be relative to them, not to their difference."""
    case = _case([[[0.7697867137638703]]], [[0.0]], [[-92.0]], [-1.0], [0])
    rules = [ZBox(-93.0, -91.0)]
    require("conserved", layerwise_conservation(case.net1, case.x1, case.classes, rules))


def test_the_stabiliser_multiplies_the_underflow_of_its_quotient() -> None:
    """Thorough seed 31337: a subnormal logit 2.2e-313 over ε = 100 gives a subnormal s, whose
    rounding (up to η) the stabiliser's share ε s multiplies by 100."""
    case = _case(
        [[[0.0]], [[0.0]], [[0.0]]], [[0.0], [0.0], [2.2250738585e-313]], [[0.0]], [-1.0], [0]
    )
    rules = [LRP0(), LRP0(), Epsilon(100.0)]
    require("conserved", layerwise_conservation(case.net1, case.x1, case.classes, rules))


def test_gamma_s_stabiliser_multiplies_the_underflow_of_its_quotient_too() -> None:
    """Thorough seed 32290: LRP-ε's fix was missing from the rules that share ``finish`` (γ,
    flat, w², z^B): a subnormal logit 2.9e-311 over ε = 100 under γ lost 46 η, the bound
    allowed 20 η."""
    case = _case([[[3.84757749e-295]]], [[0.0]], [[7.60534649e-17]], [-1.0], [0])
    rules = [Gamma(0.0, 100.0, "modified", True)]
    require("conserved", layerwise_conservation(case.net1, case.x1, case.classes, rules))


def _lrp_epsilon_summed_left_to_right(
    weights: Any, biases: Any, x: Any, classes: Any
) -> np.ndarray[Any, Any]:
    """LRP-ε on a one-layer network, its logit summed input by input in the input's dtype: a
    correct order in which ``3e-5 + 1024 - 1024`` rounds to 0 in float32."""
    (W,), (b,) = weights, biases
    rows = np.arange(len(x))
    z = np.repeat(b[None, :], len(x), axis=0)
    for i in range(x.shape[1]):
        z = z + x[:, i : i + 1] * W[i]
    zc = z[rows, classes]
    den = zc + np.where(zc >= 0, 1e-9, -1e-9).astype(zc.dtype)
    s = np.divide(zc, den, out=np.zeros_like(zc), where=zc != 0)
    return x * W[:, classes].T * s[:, None]


def test_an_epsilon_logit_whose_ball_holds_zero_may_pass_nothing() -> None:
    """float32 gate, large tier: net3's logit cancels (x3 = 1024 beside -m = -1024) and rounds to
    0, so correct code returns no relevance at all; the exact logit is 3e-5. The top layer's
    factor ``|z| / (|z| + ε)`` was evaluated at the ends of the ball of ``|z|``, whose lower end
    lies below 0 when z's ball holds 0, where ``v / (v + ε)`` is about 1, not 0."""
    f = np.float32
    net1 = Network.from_arrays([np.array([[1], [1]], f)], [np.zeros(1, f)])
    case = SeedCase(net1, np.array([[2.0**-15, 0]], f), np.array([0, 1024], f), np.array([0]))
    method = lrp_method(Epsilon(1e-9))
    check_property(
        PROPERTIES["shift-decomposition"],
        case,
        _lrp_epsilon_summed_left_to_right,
        method,
        Replayer([]),
    )


def test_a_logit_that_cancels_to_within_its_rounding_may_be_divided_by_another_evaluation() -> None:
    """Soundness campaign on the gate's new cases (seed 1654756064): net3's logit cancels
    (``x3 = -3.7e7`` beside ``-m``) to within one rounding of 0 while the exact logit is 4e-121;
    LRP-ε that sums its denominator anew gets another value, of either sign, down to the sum's
    grain. The bound had kept ``z' = z`` at such a kink (a gap said in the code); it now holds
    the ratio within ``±|z| / (grain + ε)`` there."""
    from tests.alternatives import ALTERNATIVES

    target, method = ALTERNATIVES["epsilon_denominator_recomputed"]
    weights = [
        [
            [-47073.24325686312, 2.7854391791972216e-121, -51843.25987665268],
            [-22490.372124270965, -50456.08813911013, 7.291122019556398e-304],
        ]
    ]
    x1 = [[8.500485776358709e-126, 0.0], [8.500485776358709e-126, 8.500485776358709e-126]]
    case = _case(
        weights, [[0.0, 0.0, 0.0]], x1, [1.4210402550728297e-123, -37454019.91066953], [2, 0]
    )
    check_property(PROPERTIES["shift-decomposition"], case, target, METHODS[method], Replayer([]))
