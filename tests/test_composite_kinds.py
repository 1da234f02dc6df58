"""Composites by layer kind (Zennit's layer maps on CNNs) and Zennit's Pass rule at batch norms.

On a CNN a composite may give convolutions, the first convolution, average pooling, batch norms
and residual sums rules of their own, and merge each batch norm into the convolution before it
(a canonizer); an MLP has none of those layers, so its rules do not change.
"""

from __future__ import annotations

import numpy as np
import pytest

from lrp_invariants.cnn import CNN, BatchNorm, Conv, Dense, Flatten, ReLU, Residual, explain
from lrp_invariants.cnn.bounds import enclose_cnn_forward, enclose_cnn_relevance
from lrp_invariants.cnn.canonize import fold_batch_norms
from lrp_invariants.cnn.relevance import CNNRules
from lrp_invariants.cnn_cases import cnn_reference
from lrp_invariants.composite import Composite
from lrp_invariants.configuration import PRESETS, parse_composite
from lrp_invariants.gate import run_gate
from lrp_invariants.methods import resolve_method
from lrp_invariants.network import Linear, Network, forward
from lrp_invariants.relevance import explain as explain_mlp
from lrp_invariants.rules import LRP0, AlphaBeta, Epsilon, Flat, Pass, ZPlus

RNG = np.random.default_rng(7)


def _bn_cnn() -> CNN:
    """conv 1 -> 2 (2 taps) -> batch norm (a negative scale) -> ReLU -> dense head."""
    conv = Conv(RNG.normal(size=(2, 1, 2)), bias=RNG.normal(size=2))
    norm = BatchNorm(np.array([1.5, -0.5]), np.array([0.25, 1.0]), np.zeros(2), np.ones(2))
    head = Dense(RNG.normal(size=(6, 3)), RNG.normal(size=3))
    return CNN((conv, norm, ReLU(), Flatten(), head), (1, 4))


def test_a_kind_rule_goes_to_every_convolution_and_hidden_to_dense_layers() -> None:
    composite = Composite(Epsilon(1e-6), convolutions=ZPlus())
    rules = composite.weighted_rules([True, True, False, False])
    assert rules == (ZPlus(), ZPlus(), Epsilon(1e-6), Epsilon(1e-6))


def test_the_first_convolution_gets_its_own_rule_and_first_wins_at_the_first_layer() -> None:
    composite = Composite(Epsilon(1e-6), convolutions=ZPlus(), first_convolution=LRP0())
    assert composite.weighted_rules([True, True, False]) == (LRP0(), ZPlus(), Epsilon(1e-6))
    flat_first = Composite(Epsilon(1e-6), first=Flat(1e-6), convolutions=ZPlus())
    assert flat_first.weighted_rules([True, True, False])[0] == Flat(1e-6)


def test_kind_rules_change_nothing_on_an_mlp() -> None:
    for name in ("zennit-epsilon-plus", "zennit-epsilon-alpha2-beta1", "captum-default"):
        composite = PRESETS[name].composite
        assert all(rule == composite.hidden for rule in composite.rules_for(4)), name


def test_a_composite_spec_with_kinds_reads_back_as_the_same_composite() -> None:
    composite = Composite(
        Epsilon(1e-6),
        first=Flat(1e-6),
        convolutions=AlphaBeta(2.0, 1.0, 1e-6),
        pooling=Epsilon(1e-6),
        batch_norm=Pass(),
        sums=LRP0(),
        merge_batch_norms=True,
    )
    assert parse_composite(composite.spec()) == composite


def test_a_preset_followed_by_words_changes_only_what_they_name() -> None:
    merged = parse_composite("zennit-epsilon-plus merge-batch-norms sums=0")
    base = PRESETS["zennit-epsilon-plus"].composite
    assert merged.merge_batch_norms and merged.sums == LRP0()
    assert (merged.convolutions, merged.batch_norm) == (base.convolutions, base.batch_norm)


def test_an_unknown_composite_word_names_the_kinds() -> None:
    with pytest.raises(ValueError, match="convolutions=, first-convolution="):
        parse_composite("zennit-epsilon-plus bogus")


def test_gamma_box_is_not_judged_on_cnns_without_its_box() -> None:
    method = resolve_method("lrp-composite zennit-epsilon-gamma-box")
    assert not method.on_cnns
    assert "first convolution not given" in method.describe()


def test_z_plus_at_the_first_convolution_does_not_claim_shift_decomposition_on_cnns() -> None:
    assert not resolve_method("lrp-composite zennit-epsilon-plus").decomposes_on_cnns
    assert resolve_method("lrp-epsilon").decomposes_on_cnns


def test_merged_batch_norms_explain_the_folded_network_bit_for_bit() -> None:
    cnn = _bn_cnn()
    x = RNG.normal(size=(3, 1, 4))
    classes = np.array([0, 1, 2])
    method = resolve_method("lrp-composite zennit-epsilon-plus merge-batch-norms")
    folded = fold_batch_norms(cnn, "left")
    rules = CNNRules(weighted=(ZPlus(1e-6), Epsilon(1e-6)))
    expected = explain(folded, x, classes, rules)[1].input
    assert np.array_equal(method.cnn_relevance(cnn, x, classes), expected)


def test_pass_hands_a_batch_norms_relevance_on_unchanged() -> None:
    cnn = _bn_cnn()
    x = RNG.normal(size=(2, 1, 4))
    rules = CNNRules(weighted=LRP0(), batch_norm=Pass())
    layers = explain(cnn, x, np.array([0, 1]), rules)[1].layers
    at_norm = layers[1]
    assert np.array_equal(at_norm.R, at_norm.R_out)
    assert np.all(at_norm.sinks() == 0)


def test_pass_is_refused_at_a_layer_with_more_than_one_input_per_output() -> None:
    cnn = CNN((Conv(np.ones((1, 1, 2))), Flatten(), Dense(np.ones((2, 1)))), (1, 3))
    with pytest.raises(ValueError, match=r"layer 0: pass hands .* not one input per output"):
        explain(cnn, np.ones((1, 1, 3)), np.array([0]), Pass())


def test_pass_is_refused_at_a_residual_sum() -> None:
    block = Residual((Conv(np.ones((1, 1, 1))), ReLU(), Conv(np.ones((1, 1, 1)))), None)
    cnn = CNN((block, Flatten(), Dense(np.ones((3, 1)))), (1, 3))
    with pytest.raises(ValueError, match="not one input per output"):
        explain(cnn, np.ones((1, 1, 3)), np.array([0]), CNNRules(sums=Pass()))


def test_pass_on_a_diagonal_dense_layer_passes_relevance_and_refuses_a_full_one() -> None:
    network = Network((Linear(np.diag([2.0, -3.0]), np.array([1.0, 1.0])),))
    x = np.array([[1.0, 2.0]])
    relevance = explain_mlp(network, x, np.array([0]), [Pass()])[1]
    R_out = forward(network, x).logits * np.array([[1.0, 0.0]])
    assert np.array_equal(relevance.input, R_out)
    full = Network((Linear(np.ones((2, 2)), np.zeros(2)),))
    with pytest.raises(ValueError, match="layer 0: pass hands"):
        explain_mlp(full, x, np.array([0]), [Pass()])


def test_the_pass_enclosure_is_the_relevance_it_receives() -> None:
    cnn = _bn_cnn()
    x = RNG.normal(size=(2, 1, 4))
    rules = CNNRules(weighted=Epsilon(1e-6), batch_norm=Pass())
    balls = enclose_cnn_relevance(cnn, enclose_cnn_forward(cnn, x), np.array([0, 1]), rules)
    at_norm = balls[1]
    assert np.array_equal(at_norm.R.mid, at_norm.R_out.mid)
    assert np.array_equal(at_norm.R.rad, at_norm.R_out.rad)


@pytest.mark.parametrize(
    "spec",
    [
        "lrp-composite zennit-epsilon-plus",
        "lrp-composite zennit-epsilon-alpha2-beta1 merge-batch-norms",
        "lrp-composite captum-default",
    ],
)
def test_the_gate_passes_the_reference_of_a_composite_by_kind_on_cnns(spec: str) -> None:
    report = run_gate(cnn_reference(spec), spec, architecture="cnn", examples=15)
    assert report.ok, report.render()


def test_a_composite_whose_library_fills_a_role_keeps_it_unset_through_its_spec() -> None:
    """EpsilonGammaBox's box is the caller's: a spec written and read back is still not
    judged on CNNs, and one that gives the box is."""
    merged = parse_composite("zennit-epsilon-gamma-box merge-batch-norms")
    assert merged.unset == ("first_convolution",)
    assert parse_composite(merged.spec()) == merged
    boxed = parse_composite(f"{merged.spec()} first-convolution=zbox:low=0,high=1")
    assert boxed.unset == ()


def test_pass_refuses_a_layer_that_mixes_inputs_with_rows_balanced_on_a_ramp() -> None:
    """A 1x1 convolution whose rows satisfy sum_i M_ji (i - j) = 0 maps 1, 2, ..., N to d * v:
    a second, shuffled vector tells it from a diagonal one."""
    weight = np.array([[1.0, 2.0, -1.0], [1.0, 1.0, 1.0], [1.0, -2.0, 1.0]])[:, :, None, None]
    cnn = CNN((Conv(weight), Flatten(), Dense(np.ones((60, 1)))), (3, 4, 5))
    with pytest.raises(ValueError, match="not one input per output"):
        explain(cnn, np.ones((1, 3, 4, 5)), np.array([0]), Pass())
