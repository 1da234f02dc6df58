"""Zero false alarms: correct implementations written unlike the core pass every property of
their method, and the evaluation orders that once raised false alarms stay regression cases.

The long version of this, every alternative under many random seeds at 1000 examples, is
``campaigns/soundness.py`` (docs/soundness.md).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from lrp_invariants import Network
from lrp_invariants.cases import SeedCase
from lrp_invariants.gate import Replayer, default_cases, run_property
from lrp_invariants.invariants import PROPERTIES
from lrp_invariants.methods import METHODS, resolve_method
from lrp_invariants.targets import EPSILON

from .alternatives import (
    ALTERNATIVES,
    epsilon_per_sample_loops,
    gamma_normalised_by_the_logit,
    lrp0_fsum,
)
from .configured import CONFIGURED
from .example_counts import scaled

ETA = float(np.finfo(np.float64).smallest_subnormal)


def test_there_are_at_least_eight_alternatives_covering_every_method() -> None:
    assert len(ALTERNATIVES) >= 8
    written = {method for _, method in ALTERNATIVES.values()}
    written |= {spec for _, spec in CONFIGURED.values()}  # the newer rules' own, per configuration
    assert set(METHODS) <= written


@pytest.mark.parametrize(
    ("name", "prop"),
    [
        (name, prop)
        for name, (_, method) in ALTERNATIVES.items()
        for prop in METHODS[method].properties
    ],
)
def test_a_correct_alternative_keeps_every_property_of_its_method(name: str, prop: str) -> None:
    fn, method = ALTERNATIVES[name]
    report = run_property(PROPERTIES[prop], fn, METHODS[method], examples=scaled(25), shrink=False)
    assert report.ok, f"false alarm on {name}: {report.failure}"


# The per-sample-loop and fsum orders are written with sequential accumulations and vectorised
# products so that the campaign can afford them; these are the loops they stand for, literally.


def _added_in_a_loop(terms: Any) -> Any:
    """``total = 0; total += t`` for every term, left to right. Not the built-in ``sum``: from
    Python 3.12 on it compensates float rounding (Neumaier), a different order of operations."""
    total = 0
    for t in terms:
        total = total + t
    return total


def _epsilon_in_python_loops(weights: Any, biases: Any, x: Any, classes: Any) -> Any:
    out = np.zeros_like(x)
    for n in range(x.shape[0]):
        a = [float(v) for v in x[n]]
        activations, pre = [], []
        for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
            activations.append(a)
            z = [
                _added_in_a_loop(a[k] * float(W[k, j]) for k in range(len(a))) + float(b[j])
                for j in range(len(b))
            ]
            pre.append(z)
            a = [max(v, 0.0) for v in z] if i < len(weights) - 1 else z
        R = [0.0] * len(pre[-1])
        R[int(classes[n])] = pre[-1][int(classes[n])]
        for i in range(len(weights) - 1, -1, -1):
            a, z, W = activations[i], pre[i], weights[i]
            den = [v + (EPSILON if v >= 0 else -EPSILON) for v in z]
            R = [
                _added_in_a_loop(a[k] * float(W[k, j]) * R[j] / den[j] for j in range(len(z)))
                for k in range(len(a))
            ]
        out[n] = R
    return out


def _lrp0_in_fsum_loops(weights: Any, biases: Any, x: Any, classes: Any) -> Any:
    def fsum_matmul(a: Any, W: Any, b: Any) -> Any:
        return np.array(
            [
                [
                    math.fsum([*(a[n, k] * W[k, j] for k in range(W.shape[0])), *b[j : j + 1]])
                    for j in range(W.shape[1])
                ]
                for n in range(a.shape[0])
            ],
            dtype=a.dtype,
        ).reshape(a.shape[0], W.shape[1])

    a, inputs, pre = x, [], []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        inputs.append(a)
        pre.append(fsum_matmul(a, W, b))
        a = np.maximum(pre[-1], 0) if i < len(weights) - 1 else pre[-1]
    rows = np.arange(len(classes))
    R = np.zeros_like(pre[-1])
    R[rows, classes] = pre[-1][rows, classes]
    for i in range(len(weights) - 1, -1, -1):
        s = np.zeros_like(R)
        np.divide(R, pre[i], out=s, where=pre[i] != 0)
        R = inputs[i] * fsum_matmul(s, weights[i].T, b=[])
    return R


LITERAL = {
    "epsilon_per_sample_loops": (epsilon_per_sample_loops, _epsilon_in_python_loops),
    "lrp0_fsum": (lrp0_fsum, _lrp0_in_fsum_loops),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(LITERAL))
def test_a_vectorised_order_is_its_literal_loops_bit_for_bit(name: str, dtype: Any) -> None:
    fast, literal = LITERAL[name]
    assert name in ALTERNATIVES and ALTERNATIVES[name][0] is fast

    @settings(max_examples=scaled(100), deadline=None)
    @given(case=default_cases(dtype=dtype))
    def same_bits(case: SeedCase) -> None:
        weights, biases = case.net1.weights, case.net1.biases
        with np.errstate(all="ignore"):
            expected = literal(weights, biases, case.x1, case.classes)
        got = fast(weights, biases, case.x1, case.classes)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))

    same_bits()


def _case(weights: list[Any], biases: list[Any], x: Any) -> SeedCase:
    network = Network.from_arrays(
        [np.array(w, float) for w in weights], [np.array(b, float) for b in biases]
    )
    batch = np.array(x, float)
    return SeedCase(network, batch, np.zeros(batch.shape[1]), np.zeros(len(batch), int))


# The witnesses of the issue, each a correctly rounded evaluation order the bounds once missed.
WITNESSES = {
    # shares first: fl(32 η / 48) = η, times 96, gives 96 η for an exact 64 η
    "alpha_beta_shares_first": _case([[[32 * ETA, 48.0], [48.0, 48.0]]], [[0.0, 0.0]], [[1, 1]]),
    "zplus_shares_first": _case([[[32 * ETA, 48.0], [48.0, 48.0]]], [[0.0, 0.0]], [[1, 1]]),
    # (a_i w_ij) first: fl(0.75 x 3 η) = 2 η, then multiplied by about 65536
    "epsilon_contribution_tensor": _case(
        [[[1.0], [3 * ETA]], [[65536.0]]], [[0.0], [0.0]], [[1.0, 0.75]]
    ),
    # forward mode: 3 η x 0.25 rounds to η before it meets 65536
    "gradient_forward_mode": _case(
        [[[3 * ETA]], [[0.25]], [[65536.0]]], [[1.0], [1.0], [0.0]], [[1.0]]
    ),
}


@pytest.mark.parametrize("name", sorted(WITNESSES))
def test_an_evaluation_order_that_underflows_on_the_way_is_no_false_alarm(name: str) -> None:
    fn, method = ALTERNATIVES[name]
    case = WITNESSES[name]
    comparisons = PROPERTIES["reference"].check(case, fn, METHODS[method], Replayer([]))
    assert comparisons and all(c.holds() for c in comparisons), comparisons[0].describe()


@pytest.mark.parametrize("name", sorted(WITNESSES))
def test_the_witness_really_differs_from_the_reference_in_its_last_bits(name: str) -> None:
    """The regression is not vacuous: the alternative's result is not the reference's."""
    fn, method = ALTERNATIVES[name]
    case = WITNESSES[name]
    (comparison,) = PROPERTIES["reference"].check(case, fn, METHODS[method], Replayer([]))
    assert not np.array_equal(comparison.actual, comparison.expected)
    assert np.all(np.isfinite(comparison.tolerance))  # a finite bound, not a vacuous one


def test_a_share_whose_bound_underflows_in_the_bounds_own_arithmetic_is_no_false_alarm() -> None:
    """Soundness campaign, seed 8: input -η on a unit whose negative side sums to -582. The
    share 15η / 582 is below η, so the bound of the share computed in float64 came out 0 and
    the enclosure claimed exactly 0; shares-first returns 0, the core 16η."""
    W0 = [
        [5.48337310914356, 4.699797847549892, -16.0, 7.075072797979591e-129],
        [6.598275075387566e-99, -6.346186887051983, -2.794703075616919, -2.3599717395388886],
        [-2.794703075616919, -0.7615770782617695, -4.4200965541510495, 12.916817960840447],
        [15.536867671621309, -15.108581799303067, 1.7800590868057611e-307, 7.736032188408199],
    ]
    b0 = [-0.002658056033785737, 0.0011097704409484275, 0.001953125, 0.0035304255329328665]
    network = Network.from_arrays([np.array(W0)], [np.array(b0)])
    case = SeedCase(
        network,
        np.array([[-45.729256680493734, 0.0, 118.56206069587637, -ETA]]),
        np.zeros(4),
        np.array([0]),
    )
    fn, method = ALTERNATIVES["alpha_beta_shares_first"]
    comparisons = PROPERTIES["reference"].check(case, fn, METHODS[method], Replayer([]))
    assert all(c.holds() for c in comparisons), comparisons[0].describe()


def test_a_denominator_recomputed_in_another_order_is_no_false_alarm() -> None:
    """Found by a fresh-seed run: ``z0 = 1.395 x 1 + 1 x 8193 - 1 x 8192`` on net3 cancels, and
    LRP-ε summing its denominator anew from the contributions differs from the forward pass's
    ``z0`` by about 1e-12 relative; the bound assumed the two were the same number."""
    case = SeedCase(
        Network.from_arrays(
            [np.array([[1.3949827839633437], [1.0]]), np.ones((1, 1))], [np.zeros(1), np.zeros(1)]
        ),
        np.ones((2, 2)),
        np.array([0.0, 8192.0]),
        np.zeros(2, int),
    )
    for fn in (CONFIGURED["epsilon_0_01"][0], ALTERNATIVES["epsilon_denominator_recomputed"][0]):
        spec = "lrp-epsilon:0.01" if fn is CONFIGURED["epsilon_0_01"][0] else "lrp-epsilon"
        comparisons = PROPERTIES["shift-decomposition"].check(
            case, fn, resolve_method(spec), Replayer([])
        )
        assert all(c.holds() for c in comparisons), [c.describe() for c in comparisons]


# Found at the end of the session that changed the gate's search path (the Captum γ adapter,
# then reproduced in numpy): relevance normalised by the logit at the output and scaled back at
# the end is a valid evaluation order whose underflows count in units of the logit. On this case
# the subnormal input's relevance is computed as 2.8e-313 (normalised) and loses 8e-12 of
# itself, where the bounds allowed 6e-12 until the enclosures covered that order too
# (:func:`lrp_invariants.bounds.enclose_relevance`: the normalised order, scaled by the logit).
NORMALISED_WITNESS = (
    [
        [
            [8.962040040613415e-18, -8192.0],
            [0.0004882812502016, 8.962040040613415e-18],
            [512.0, 8.962040040613415e-18],
        ],
        [[1.0, 1.0], [1.0, 1.0]],
        [[512.0], [512.0]],
    ],
    [[0.0, 0.0], [0.0, 0.0], [0.0]],
    [[-5.0, 1.0, 2.225073858507e-311]],
)


def test_relevance_normalised_by_the_logit_is_within_the_gamma_bound() -> None:
    weights, biases, x = NORMALISED_WITNESS
    network = Network.from_arrays(weights, biases)
    case = SeedCase(network, np.array(x), -np.ones(3), np.array([0]))
    method = resolve_method("lrp-gamma:0.25,epsilon=1e-9,bias=ignored,weights-once")
    comparisons = PROPERTIES["reference"].check(
        case, gamma_normalised_by_the_logit, method, Replayer([])
    )
    assert all(c.holds() for c in comparisons)


# Found by the float32 soundness campaign (seed 1611598025, baseline-invariance): on net2 the
# shift-compensated bias rounds to float32, so two first-layer units that sit on their kinks at
# net1's zero baseline cross 0 within about 1e-7 of net2's shifted one. The path walk recomputed
# every pre-activation from the input at each stop; a unit just crossed came back as its
# rounding error on the old side of 0, and the walk crept on by steps of that size until its
# iteration cap, at t = 1e-11: relevance 3e-19 for an exact 6955. The walk now carries values
# and slopes and lands each unit it reaches on 0.
WALK_WITNESS = (
    [
        [
            [-6.596264839172363, 16.0, 17.043550491333008],
            [-29.263797760009766, -3.6522066593170166, 1.5999999959603883e-05],
            [-6.367127895355225, -32.0, -5.915287494659424],
            [-1.5328586101531982, -32.0, -30.399999618530273],
        ],
        [
            [1.3808193886802149e-14, -0.9559508562088013, 16.0],
            [-0.9559508562088013, 7.989013195037842, 0.0],
            [-10.348472595214844, 32.0, -0.9559508562088013],
        ],
        [
            [125.07396697998047, 25.712656021118164, 64.0],
            [-102.89678955078125, -0.0, 14.013070106506348],
            [-53.73827362060547, 0.0, 121.84258270263672],
        ],
    ],
    [[0.0, -112.20502471923828, 0.0], [0.0, -606.92626953125, -9.719210624694824], [0.0] * 3],
    [[0.0, 0.28969767689704895, -4.0, 0.0]],
    [0.0, 0.10197213292121887, -1.407979965209961, 0.0],
)


def _float32_witness_holds(witness: Any, name: str, prop: str, draws: list[Any]) -> None:
    """A campaign's float32 witness ``(weights, biases, x, m)``, first class chosen: ``prop``
    holds for the alternative ``name`` with the property's draws replayed."""
    weights, biases, x, m = witness
    f32 = np.float32
    network = Network.from_arrays(
        [np.array(w, f32) for w in weights], [np.array(b, f32) for b in biases]
    )
    case = SeedCase(network, np.array(x, f32), np.array(m, f32), np.zeros(len(x), int))
    fn, method = ALTERNATIVES[name]
    comparisons = PROPERTIES[prop].check(case, fn, METHODS[method], Replayer(draws))
    assert comparisons and all(c.holds() for c in comparisons), [c.describe() for c in comparisons]


def test_a_path_walk_whose_units_cross_next_to_the_baseline_is_no_false_alarm() -> None:
    _float32_witness_holds(
        WALK_WITNESS, "integrated_gradients_walked_from_baseline", "baseline-invariance", []
    )


# Found by the float32 soundness campaign (seed 1152668798, rescaling): a subnormal first-layer
# weight (448 grains) rescaled by 2**-5 keeps 14 grains, and DeepLIFT in forward mode multiplies
# it by a multiplier before it meets the large weights above, so that product's underflow (half
# a grain) is amplified about 3000-fold. The chain's underflow slack folded the multipliers into
# the next matrix, as the gradient's exact 0/1 masks are; DeepLIFT's are real factors of their
# own now (tolerance was 3.3e-42 for a difference of 1.5e-41 between two correct evaluations).
SUBNORMAL_RESCALING_WITNESS = (
    [
        [[-53.61260986328125, 17.523698806762695], [-0.0, 6.2778171201751805e-43]],
        [[9.188241958618164], [93.07898712158203]],
    ],
    [[91.49321746826172, -112.83853912353516], [0.0]],
    [[7.872677803039551, -8.0]],
    [5.064068794250488, -2.245964765548706],
)


def test_forward_mode_deeplift_on_a_rescaled_subnormal_weight_is_no_false_alarm() -> None:
    _float32_witness_holds(
        SUBNORMAL_RESCALING_WITNESS, "deeplift_forward_mode", "rescaling", [9, -5]
    )
