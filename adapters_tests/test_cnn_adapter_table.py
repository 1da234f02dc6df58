"""The CNN adapter table's rows (lrp_invariants.adapters.cnn_table): the ways of writing a torch
CNN compute the drawn CNN; what passes the gate is pinned as passing, and each failure on its
minimal witness, built by hand and checked against this package's reference, so that a fix
upstream shows up as a test to update (docs/cnn-attribution.md says what each one means)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given

from lrp_invariants.adapters.cnn_table import CNN_CONFIGURATIONS, CNN_TARGETS
from lrp_invariants.adapters.torch_cnn import FLATTENS, RESIDUALS, torch_cnn
from lrp_invariants.cnn import (
    CNN,
    BatchNorm,
    Conv,
    Dense,
    Flatten,
    MaxPool,
    ReLU,
    Residual,
    layer_specs,
)
from lrp_invariants.cnn.bounds import enclose_cnn_forward
from lrp_invariants.cnn_cases import cnn_reference
from lrp_invariants.configuration import ZENNIT_STABILISER
from lrp_invariants.gate import run_gate
from lrp_invariants.strategies import CNNSeedCase, cnn_seed_cases

EXAMPLES = 20
"""Cases per gate run: a torch model is built per call (docs/cnn-adapters.md: 40 per row)."""

ROWS = {row.name: row for row in CNN_CONFIGURATIONS}

STABILISED = 4 * ZENNIT_STABILISER
"""How far the witnesses' stabilisers move a ratio: at most four rules on the way, each adding
Zennit's 1e-6 (Captum's 1e-9 less) to denominators of at least 1 on these small integers."""

SAME_FORMULA = 1e-12
"""Relative distance allowed where both sides evaluate the same formula on a witness of a few
small numbers: each rounds a handful of operations (about 1e-15 of the value); 1e-12 lies far
above that and far below every effect pinned here (1e-6 of the value or more)."""


def _relevance(name: str, cnn: CNN, x: np.ndarray, classes: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(CNN_TARGETS[name](layer_specs(cnn), x, classes))


def _reference(claim: str, cnn: CNN, x: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return np.asarray(cnn_reference(claim)(layer_specs(cnn), x, classes))


@pytest.mark.parametrize("residual", RESIDUALS)
@pytest.mark.parametrize("flatten", FLATTENS)
@given(case=cnn_seed_cases())
def test_every_way_of_writing_the_model_computes_the_drawn_cnn(
    case: CNNSeedCase, residual: str, flatten: str
) -> None:
    model = torch_cnn(
        layer_specs(case.net1), case.net1.input_shape, residual=residual, flatten=flatten
    )
    with torch.no_grad():
        logits = model(torch.from_numpy(case.x1)).numpy()
    ball = enclose_cnn_forward(case.net1, case.x1).logits
    assert np.all(np.abs(logits - ball.mid) <= ball.rad)


def test_a_torchvision_block_refuses_a_branch_of_another_shape() -> None:
    branch = (Conv(np.ones((1, 1, 1))), Conv(np.ones((1, 1, 1))))
    cnn = CNN((Residual(branch, None), Flatten(), Dense(np.ones((3, 1)))), (1, 3))
    with pytest.raises(ValueError, match="BasicBlock is conv"):
        torch_cnn(layer_specs(cnn), (1, 3), residual="torchvision")


@pytest.mark.parametrize(
    "name",
    [
        "zennit_epsilon_plus_sum_module",
        "zennit_epsilon_alpha2_beta1_sum_module",
        "captum_input_x_gradient",
        "captum_saliency",
    ],
)
def test_rows_that_keep_their_claim_pass_the_gate(name: str) -> None:
    row = ROWS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = run_gate(CNN_TARGETS[name], row.claim, architecture="cnn", examples=EXAMPLES)
    assert report.ok, report.render()


def _residual_net() -> CNN:
    """conv 1x1 -> relu(branch(x) + x) with the branch conv 1x1, relu, conv 1x1 -> dense."""
    branch = (Conv(np.ones((1, 1, 1, 1))), ReLU(), Conv(np.ones((1, 1, 1, 1))))
    return CNN(
        (Conv(np.ones((1, 1, 1, 1))), Residual(branch, None), Flatten(), Dense(np.ones((4, 1)))),
        (1, 2, 2),
    )


RESIDUAL_X = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
ZERO = np.array([0])


def test_captum_lrp_adds_relevance_to_gradient_at_a_sum_written_out_plus_identity() -> None:
    """Captum's rules multiply by a module's input on one side and divide by its output on the
    other; the ``+`` between them is no module, so at ``y`` the branch brings relevance (its
    first convolution multiplied by ``y``) and the shortcut a gradient (never multiplied): the
    two are summed. Witness: ``relu(y + y)``, ``y = x``: the input relevance is ``2 x (x + 1)``,
    not ``2 x`` (not even homogeneous in ``x``)."""
    relevance = _relevance("captum_lrp_functional_flatten", _residual_net(), RESIDUAL_X, ZERO)
    mixed = 2 * RESIDUAL_X * (RESIDUAL_X + 1)
    assert np.all(np.abs(relevance / mixed - 1) < STABILISED)
    reference = _reference(ROWS["captum_lrp"].claim, _residual_net(), RESIDUAL_X, ZERO)
    assert np.all(np.abs(reference / (2 * RESIDUAL_X) - 1) < STABILISED)


def test_zennit_hands_both_summands_of_out_plus_identity_all_the_relevance() -> None:
    """The ``+`` is no module, so no rule meets it: its gradient passes the whole relevance to
    the branch and to the shortcut. Witness: relu(x + x) of positive x, the input relevance
    adds up to twice the logit (within :data:`STABILISED`). (Under αβ the
    branch and the shortcut would carry different factors: the gate's witness says that.)"""
    relevance = _relevance("zennit_epsilon_plus", _residual_net(), RESIDUAL_X, ZERO)
    logit = 2 * RESIDUAL_X.sum()
    assert abs(relevance.sum() / logit - 2) < 2 * STABILISED
    reference = _reference(ROWS["zennit_epsilon_plus"].claim, _residual_net(), RESIDUAL_X, ZERO)
    assert abs(reference.sum() / logit - 1) < STABILISED


@pytest.mark.parametrize("name", ["zennit_epsilon_plus_sum_module", "zennit_epsilon_plus_resnet"])
def test_with_a_sum_module_the_residual_conserves(name: str) -> None:
    relevance = _relevance(name, _residual_net(), RESIDUAL_X, np.array([0]))
    assert abs(relevance.sum() / (2 * RESIDUAL_X.sum()) - 1) < STABILISED


def _norm_net(var: float) -> CNN:
    norm = BatchNorm(np.ones(1), np.zeros(1), np.zeros(1), np.array([var]))
    return CNN((Conv(np.ones((1, 1, 1))), norm, Flatten(), Dense(np.ones((3, 1)))), (1, 3))


@pytest.mark.parametrize(
    "name", ["zennit_epsilon_plus_merged", "zennit_epsilon_alpha2_beta1_merged"]
)
def test_the_merged_batch_norm_keeps_its_eps_and_scales_the_explanation(name: str) -> None:
    """``SequentialMergeBatchNorm`` folds ``1 / sqrt(var + eps)`` into the convolution and
    leaves the batch norm dividing by ``sqrt(1 + eps)``: the network explained is the model
    times ``(1 + eps)**-0.5``, 5e-6 low for torch's eps = 1e-5 (var = 1 here, an exact merge)."""
    x = np.array([[[1.0, 2.0, 3.0]]])
    classes = np.array([0])
    relevance = _relevance(name, _norm_net(1.0 - 1e-5), x, classes)
    reference = _reference(ROWS[name].claim, _norm_net(1.0 - 1e-5), x, classes)
    ratio = relevance.sum() / reference.sum()
    assert abs(ratio - (1 + 1e-5) ** -0.5) < ZENNIT_STABILISER / 6  # over a sum of 6
    assert ratio < 1 - 4e-6  # the kept eps: 5e-6 low


def test_captum_lrp_declines_a_model_with_an_nn_flatten() -> None:
    cnn = CNN((Conv(np.ones((1, 1, 1, 1))), Flatten(), Dense(np.ones((4, 1)))), (1, 2, 2))
    with pytest.raises(NotImplementedError, match="Flatten'> has no rule"):
        _relevance("captum_lrp", cnn, RESIDUAL_X, np.array([0]))


def test_captum_lrp_declines_a_conv1d() -> None:
    cnn = CNN((Conv(np.ones((1, 1, 1))), Flatten(), Dense(np.ones((3, 1)))), (1, 3))
    with pytest.raises(NotImplementedError, match="Conv1d'> has no rule"):
        _relevance("captum_lrp_functional_flatten", cnn, np.ones((1, 1, 3)), np.array([0]))


def test_captum_lrp_puts_its_epsilon_rule_on_max_pooling() -> None:
    """Captum maps ``MaxPool2d`` to ``EpsilonRule(1e-9)``: a winner ``a`` keeps ``a / (a +
    1e-9)`` of its relevance, the rest is lost; winner-take-all keeps all of it. Witness: one
    window of a small positive value 2**-20 (1e-9 / 2**-20 = 1.05e-3 of it lost)."""
    a = 2.0**-20
    cnn = CNN(
        (Conv(np.ones((1, 1, 1, 1))), MaxPool((2, 2)), Flatten(), Dense(np.ones((1, 1)))),
        (1, 2, 2),
    )
    x = np.array([[[[a, a / 2], [a / 4, a / 8]]]])
    classes = np.array([0])
    relevance = _relevance("captum_lrp_functional_flatten", cnn, x, classes)
    reference = _reference(ROWS["captum_lrp_functional_flatten"].claim, cnn, x, classes)
    kept = relevance.sum() / reference.sum()
    # three ε-rules meet z = a (conv, pool, dense): each keeps a / (a + 1e-9); the pool's is
    # the one the claim does not make
    assert kept == pytest.approx(a / (a + 1e-9), rel=SAME_FORMULA)
    assert kept < 1 - 1e-3


def _all_rows_run(name: str) -> Any:
    cnn = CNN((Conv(np.ones((1, 1, 1, 1))), ReLU(), Flatten(), Dense(np.ones((4, 2)))), (1, 2, 2))
    return _relevance(name, cnn, RESIDUAL_X, np.array([1]))


@pytest.mark.parametrize(
    "name", [row.name for row in CNN_CONFIGURATIONS if row.name != "captum_lrp"]
)
def test_every_row_explains_a_plain_2d_cnn(name: str) -> None:
    assert _all_rows_run(name).shape == RESIDUAL_X.shape


def test_zennits_box_rule_boxes_a_padding_module_as_if_it_were_input() -> None:
    """z^B at a convolution padded by a module of its own (``nn.ZeroPad1d``, as torch writes
    padding that differs per side): Zennit's ``ZBox`` sees the padded tensor, so the padding's
    zeros are boxed inputs (``0 - low w⁺ - high w⁻``) and take relevance that the padding
    module's backward then drops. Witness: conv [1, 1] padded (1, 0), x = [1, 2, 3], box
    [-3, 3]: Zennit's relevance is the box rule's on the network whose input is ``[0, x]``,
    the padding's share cut off; the claim (zero padding is no input) differs."""
    conv = Conv(np.array([[[1.0, 1.0]]]), padding=((1, 0),))
    cnn = CNN((conv, Flatten(), Dense(np.ones((3, 1)))), (1, 3))
    x = np.array([[[1.0, 2.0, 3.0]]])
    name = "zennit_epsilon_gamma_box_sum_module"
    relevance = _relevance(name, cnn, x, ZERO)
    padded = CNN((Conv(np.array([[[1.0, 1.0]]])), Flatten(), Dense(np.ones((3, 1)))), (1, 4))
    as_input = _reference(ROWS[name].claim, padded, np.array([[[0.0, 1.0, 2.0, 3.0]]]), ZERO)
    np.testing.assert_allclose(relevance, as_input[..., 1:], rtol=SAME_FORMULA)
    claimed = _reference(ROWS[name].claim, cnn, x, ZERO)
    # the padding's share of the first window (its relevance 1, the logit's first term): 3 / 7
    assert claimed.sum() - relevance.sum() == pytest.approx(3 / 7, rel=STABILISED)


def test_zennits_flat_rule_counts_a_padding_modules_positions_as_connections() -> None:
    """The flat rule at a convolution padded by a module of its own: Zennit's ``Flat`` runs
    the convolution on ``ones_like`` of the padded tensor, so a padding position is a
    connection that takes a share, which the padding's backward drops. Witness (the gate's,
    shrunk): conv [1, 1] padded (0, 1) by a module, x = [1, 1, 1]: the relevance is flat's on
    the input ``[x, 0]``, the last window's half cut off (1.5 where 2 is claimed)."""
    conv = Conv(np.array([[[1.0, 1.0]]]), padding=((0, 1),))
    cnn = CNN((conv, Flatten(), Dense(np.ones((3, 1)))), (1, 3))
    x = np.ones((1, 1, 3))
    name = "zennit_epsilon_plus_flat_sum_module"
    relevance = _relevance(name, cnn, x, ZERO)
    padded = CNN((Conv(np.array([[[1.0, 1.0]]])), Flatten(), Dense(np.ones((3, 1)))), (1, 4))
    as_input = _reference(ROWS[name].claim, padded, np.array([[[1.0, 1.0, 1.0, 0.0]]]), ZERO)
    np.testing.assert_allclose(relevance, as_input[..., :3], rtol=SAME_FORMULA)
    claimed = _reference(ROWS[name].claim, cnn, x, ZERO)
    assert claimed[0, 0, 2] - relevance[0, 0, 2] == pytest.approx(0.5, rel=STABILISED)


CUDA = torch.cuda.is_available()
gpu = pytest.mark.skipif(not CUDA, reason="no CUDA device: the GPU check runs where one is lent")


@pytest.mark.skipif(CUDA, reason="this machine has a CUDA device")
def test_a_cnn_row_asked_for_an_absent_cuda_device_refuses_before_any_work() -> None:
    from lrp_invariants.torch import DeviceUnavailable

    cnn = CNN((Conv(np.ones((1, 1, 1, 1))), Flatten(), Dense(np.ones((4, 1)))), (1, 2, 2))
    with pytest.raises(DeviceUnavailable, match="CUDA is not available"):
        CNN_TARGETS["captum_saliency"](layer_specs(cnn), RESIDUAL_X, ZERO, device="cuda")


@gpu
@pytest.mark.parametrize(
    "name",
    ["zennit_epsilon_plus_sum_module", "captum_input_x_gradient", "zennit_epsilon_plus_merged"],
)
def test_gpu_a_cnn_row_gets_the_same_verdict_on_cuda_as_on_the_cpu(name: str) -> None:
    """float64 CNNs on the device (the CNN cases are float64); GPU reductions may differ between
    calls, so determinism is held within the bounds."""
    import functools

    row = ROWS[name]
    verdicts = []
    for device in ("cpu", "cuda"):
        target = functools.partial(CNN_TARGETS[name], device=device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = run_gate(
                target, row.claim, architecture="cnn", examples=EXAMPLES, deterministic=False
            )
        verdicts.append({p.name: p.ok for p in report.properties})
    assert verdicts[0] == verdicts[1]
