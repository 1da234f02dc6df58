"""How αβ and z⁺ treat the bias and their denominators is part of the claim, as libraries write
the rules: a stabiliser (Zennit's ``stabilizer``, Captum's 1e-9), the bias split by its sign,
left out (iNNvestigate's ``*_IB``, Zennit's ``zero_params``) or kept whole with the weights
clamped once (Captum's ``Alpha1_Beta0_Rule``). Code in each convention keeps every claim once
declared and fails the neighbouring declaration."""

from __future__ import annotations

import numpy as np
import pytest

from lrp_invariants import AlphaBeta, Network, ZPlus, explain, targets
from lrp_invariants.configuration import Composite, implied_properties, parse_rule
from lrp_invariants.gate import run_gate

# (target, its declaration): each the reference of one convention
DECLARED = [
    (targets.lrp_alpha_beta_stabilised, "lrp-alpha-beta:2,1,epsilon=1e-6"),
    (targets.lrp_zplus_without_bias, "lrp-zplus:bias=ignored"),
    (targets.lrp_zplus_clamped_weights, "lrp-zplus:epsilon=1e-9,bias=whole,weights-once"),
]
# (target, a neighbouring declaration it must fail)
NEIGHBOURS = [
    (targets.lrp_alpha_beta_stabilised, "lrp-alpha-beta"),
    (targets.lrp_alpha_beta, "lrp-alpha-beta:2,1,epsilon=1e-6"),
    (targets.lrp_zplus_without_bias, "lrp-zplus"),
    (targets.lrp_zplus, "lrp-zplus:bias=ignored"),
    (targets.lrp_zplus_clamped_weights, "lrp-zplus:epsilon=1e-9"),
    (targets.lrp_zplus_clamped_weights, "lrp-zplus:epsilon=1e-9,weights-once"),
]


@pytest.mark.parametrize(("target", "claim"), DECLARED, ids=[c for _, c in DECLARED])
def test_code_in_each_convention_keeps_every_claim_once_declared(
    target: object, claim: str
) -> None:
    report = run_gate(target, claim)  # type: ignore[arg-type]
    assert report.ok, report.render()


@pytest.mark.parametrize(
    ("target", "claim"), NEIGHBOURS, ids=[f"{t.__name__}-as-{c}" for t, c in NEIGHBOURS]
)
def test_code_in_one_convention_fails_the_neighbouring_declaration(
    target: object, claim: str
) -> None:
    report = run_gate(target, claim, shrink=False)  # type: ignore[arg-type]
    assert not report.ok


def _hand_network() -> Network:
    """One hidden unit with a negative bias below a positive one: every convention differs."""
    return Network.from_arrays([[[1.0, -1.0]], [[2.0], [1.0]]], [[-0.5, 0.25], [0.5]])


def test_an_ignored_bias_takes_no_relevance_and_the_inputs_keep_the_rest() -> None:
    rule = ZPlus(bias="ignored")
    _, relevance = explain(_hand_network(), np.array([[2.0]]), np.array([0]), rule)
    logit = 2.0 * 1.5 + 0.5  # relu(2 - 0.5) = 1.5 under the weight 2, the output bias 0.5
    assert all(not np.any(layer.Rb) for layer in relevance.layers)
    # no empty side on this path: the input's relevance is the whole logit
    assert relevance.input.sum() == pytest.approx(logit, rel=4 * np.finfo(float).eps)


def test_the_split_bias_takes_its_share_where_the_ignored_one_takes_none() -> None:
    network, x, classes = _hand_network(), np.array([[2.0]]), np.array([0])
    split = explain(network, x, classes, ZPlus())[1]
    ignored = explain(network, x, classes, ZPlus(bias="ignored"))[1]
    # top: 2 x 1.5 = 3 against the bias 0.5, so the bias keeps 0.5 of 3.5; below, the unit's
    # bias is negative: z⁺ leaves it out of the positive side either way
    assert split.layers[1].Rb.sum() == pytest.approx(0.5)
    assert split.input.sum() == pytest.approx(3.0)
    assert ignored.input.sum() == pytest.approx(3.5)


def test_captum_clamps_weights_so_a_negative_input_keeps_relevance() -> None:
    # x w⁺ = -1 x 1 < 0 with the bias 3 kept: the denominator is 2, the input gets -1/2 R
    network = Network.from_arrays([[[1.0]]], [[3.0]])
    captum = ZPlus(bias="whole", sign_aware=False)
    relevance = explain(network, np.array([[-1.0]]), np.array([0]), captum)[1].input
    assert relevance[0, 0] == -1.0  # R = z = 2, share -1/2
    contributions = explain(network, np.array([[-1.0]]), np.array([0]), ZPlus())[1].input
    assert contributions[0, 0] == 0.0  # (x w)⁺ = 0: z⁺ passes nothing to it


def test_a_stabiliser_keeps_back_its_share_of_each_side() -> None:
    network = Network.from_arrays([[[1.0], [-1.0]]], [[0.0]])
    rule = AlphaBeta(2.0, 1.0, epsilon=0.5)
    _, relevance = explain(network, np.array([[2.0, 1.0]]), np.array([0]), rule)
    # z = 1; the positive side 2 keeps 0.5 / 2.5 of 2 R, the negative side 1 keeps 0.5 / 1.5 of R
    layer = relevance.layers[0]
    assert layer.Rs[0, 0] == pytest.approx(2 * 0.5 / 2.5 - 0.5 / 1.5)
    assert relevance.input[0] == pytest.approx([2 * 2 / 2.5, -1 / 1.5])


@pytest.mark.parametrize(
    ("spec", "holds", "fails"),
    [
        ("lrp-alpha-beta:2,1,epsilon=1e-6", "bias-proxy-transparency", "rescaling"),
        ("lrp-zplus:bias=ignored", "rescaling", "bias-proxy-transparency"),
        ("lrp-zplus:epsilon=1e-9,bias=whole,weights-once", "shift-decomposition", "rescaling"),
        ("lrp-zplus:bias=whole,weights-once", "rescaling", "bias-proxy-transparency"),
        ("lrp-zplus:weights-once", "bias-proxy-transparency", "nothing"),
        ("lrp-alpha-beta:2,1,bias=whole", "rescaling", "bias-proxy-transparency"),
    ],
)
def test_each_convention_implies_what_it_keeps(spec: str, holds: str, fails: str) -> None:
    implied = implied_properties(Composite(parse_rule(spec)))
    assert holds in implied
    assert fails not in implied
    assert "bias-proxy-conservation" in implied  # every sink is counted, Rb = 0 included


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("alpha-beta:2,1,bias=modified", "LRP-gamma's"),
        ("zplus:epsilon=-1e-9", "epsilon must be finite and >= 0"),
        ("zplus:bias=sideways", "bias must be one of"),
    ],
)
def test_a_convention_that_does_not_exist_is_refused_naming_why(spec: str, names: str) -> None:
    with pytest.raises(ValueError, match=names):
        parse_rule(spec)
