"""Deliberately broken attribution functions, each with the method it (wrongly) claims.

Every mutant follows the gate protocol ``fn(weights, biases, x, classes) -> relevance`` and
carries one bug seen in real attribution code. The gate must catch each of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lrp_invariants import LRP0, AlphaBeta, Epsilon, Network, explain, forward, gradient
from lrp_invariants.network import Array

from .configured import epsilon_rule, everywhere, flat_rule, gamma_rule, layered
from .helpers import logit_start, plain_forward

Weights = Sequence[Array]


def _lrp(
    weights: Weights,
    inputs: list[Array],
    pre: list[Array],
    R: Array,
    denominator: Callable[[int, Array], Array],
) -> Array:
    for i in range(len(weights) - 1, -1, -1):
        s = np.divide(
            R, denominator(i, pre[i]), out=np.zeros_like(R), where=denominator(i, pre[i]) != 0
        )
        R = inputs[i] * (s @ weights[i].T)
    return R


def lrp0_bias_left_out_of_the_denominator(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Divides by Σ_i a_i w_ij, forgetting b_j: the bias's relevance is spread over the inputs."""
    inputs, pre = plain_forward(weights, biases, x)
    return _lrp(weights, inputs, pre, logit_start(pre[-1], classes), lambda i, z: z - biases[i])


def lrp_epsilon_started_from_all_logits(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Propagates every logit at once instead of the chosen class's."""
    network = Network.from_arrays(weights, biases)
    trace = forward(network, x)
    from lrp_invariants import lrp

    return lrp(network, trace, trace.logits.copy(), Epsilon(1e-9)).input


def lrp_epsilon_started_from_a_probability(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Starts from the softmax probability of the class instead of its logit."""
    network = Network.from_arrays(weights, biases)
    trace = forward(network, x)
    shifted = np.exp(trace.logits - trace.logits.max(axis=1, keepdims=True))
    probability = shifted / shifted.sum(axis=1, keepdims=True)
    R = np.zeros_like(probability)
    rows = np.arange(len(classes))
    R[rows, classes] = probability[rows, classes]
    from lrp_invariants import lrp

    return lrp(network, trace, R, Epsilon(1e-9)).input


def lrp0_normalised_heatmap(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """Scales each heatmap to a maximum of 1, as plotting code does, and returns that."""
    R = explain(Network.from_arrays(weights, biases), x, classes, LRP0())[1].input
    peak = np.abs(R).max(axis=1, keepdims=True)
    return np.divide(R, peak, out=np.zeros_like(R), where=peak != 0)


def lrp0_batch_coupled_scaling(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Rescales every sample by a statistic of the whole batch."""
    R = explain(Network.from_arrays(weights, biases), x, classes, LRP0())[1].input
    return R * (1 + np.abs(x).mean())


def lrp0_drops_negative_inputs(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Keeps relevance only where the input is positive (an image-data habit)."""
    R = explain(Network.from_arrays(weights, biases), x, classes, LRP0())[1].input
    return np.where(x < 0, 0.0, R)


def lrp_epsilon_in_float32(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """Computes in float32 and hands back float64."""
    network = Network.from_arrays(
        [w.astype(np.float32) for w in weights], [b.astype(np.float32) for b in biases]
    )
    R = explain(network, x.astype(np.float32), classes, Epsilon(1e-9))[1].input
    return R.astype(np.float64)


def lrp0_modifies_its_input(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """Clips the caller's batch in place before explaining it."""
    np.clip(x, -1, 1, out=x)
    return explain(Network.from_arrays(weights, biases), x, classes, LRP0())[1].input


def lrp_epsilon_with_sign_of_zero_zero(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Stabilises with np.sign, whose sign(0) = 0: an exact zero pre-activation divides 0 by 0."""
    inputs, pre = plain_forward(weights, biases, x)
    R = logit_start(pre[-1], classes)
    for i in range(len(weights) - 1, -1, -1):
        with np.errstate(all="ignore"):
            s = R / (pre[i] + 1e-9 * np.sign(pre[i]))
        R = inputs[i] * (s @ weights[i].T)
    return R


def alpha_beta_with_alpha_minus_beta_not_one(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """LRP-α2β0.5: positive and negative shares no longer add up to the relevance."""
    network = Network.from_arrays(weights, biases)
    rule = AlphaBeta.__new__(AlphaBeta)  # bypass the α - β = 1 check, as a careless port would
    object.__setattr__(rule, "alpha", 2.0)
    object.__setattr__(rule, "beta", 0.5)
    return explain(network, x, classes, rule)[1].input


def gradient_with_torch_weight_layout(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Reads every W as (out, in), as torch.nn.Linear stores it: right only by accident."""
    transposed = [w.T for w in weights]
    if any(w.shape[0] != w.shape[1] for w in weights):
        transposed = list(weights)  # shapes that do not fit would crash: keep those right
    elif len(weights) == 1:
        transposed = list(weights)
    network = Network.from_arrays(transposed, biases)
    return gradient(network, forward(network, x), classes)


def lrp0_bias_relevance_redistributed(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """The seed's option THREE: the biases' relevance is spread over the inputs, so a heatmap
    sums to the logit, at the price of attributing to inputs what the biases did."""
    trace, relevance = explain(Network.from_arrays(weights, biases), x, classes, LRP0())
    R = relevance.input
    total = R.sum(axis=1, keepdims=True)
    logit = trace.logits[np.arange(len(classes)), classes][:, None]
    return np.divide(R * logit, total, out=np.zeros_like(R), where=total != 0)


def lrp_epsilon_unsigned_stabiliser(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Adds +ε whatever the sign of z: a pre-activation near -ε explodes."""
    inputs, pre = plain_forward(weights, biases, x)
    return _lrp(weights, inputs, pre, logit_start(pre[-1], classes), lambda i, z: z + 0.25)


def lrp0_absolute_relevance(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """Returns |R|: negative evidence becomes positive."""
    return np.abs(explain(Network.from_arrays(weights, biases), x, classes, LRP0())[1].input)


_CACHE: dict[tuple[int, ...], Array] = {}


def gradient_x_input_cached_by_shape(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Memoises on the batch's shape: the second network of the same size gets the first's
    gradient (hidden module state)."""
    key = (*x.shape, *(w.shape[1] for w in weights))
    if key not in _CACHE:
        network = Network.from_arrays(weights, biases)
        _CACHE[key] = gradient(network, forward(network, x), classes)
    return _CACHE[key] * x


# configured rules: each claims a configuration and computes a neighbouring one

gamma_bias_convention_swapped = everywhere(gamma_rule(0.25, "source", True))
gamma_bias_convention_swapped.__name__ = "gamma_bias_convention_swapped"


def _gamma_favouring_negative(a: Array, W: Array, b: Array, z: Array, R: Array) -> Array:
    """γ added to the negative weights: ``a (w + γ w⁻)``."""
    rho = a[:, :, None] * (W + 0.25 * np.minimum(W, 0))[None]
    den = rho.sum(axis=1) + b + 0.25 * np.minimum(b, 0)
    s = np.divide(R, den, out=np.zeros_like(R), where=den != 0)
    return np.einsum("nij,nj->ni", rho, s)


gamma_on_negative_weights = everywhere(_gamma_favouring_negative)
gamma_on_negative_weights.__name__ = "gamma_on_negative_weights"


def _zbox_swapped(a: Array, W: Array, b: Array, z: Array, R: Array) -> Array:
    """z^B with the bounds swapped: ``x w - h w⁺ - l w⁻`` for the box [l, h] = [-1, 2]."""
    low, high = -1.0, 2.0
    W_pos, W_neg = np.maximum(W, 0), np.minimum(W, 0)
    den = a @ W - high * W_pos.sum(axis=0) - low * W_neg.sum(axis=0)
    s = np.divide(R, den, out=np.zeros_like(R), where=den != 0)
    return a * (s @ W.T) - high * (s @ W_pos.T) - low * (s @ W_neg.T)


zbox_bounds_swapped = layered(_zbox_swapped, epsilon_rule(1e-6))
zbox_bounds_swapped.__name__ = "zbox_bounds_swapped"

flat_on_the_last_layer_instead_of_the_first = layered(
    epsilon_rule(1e-6), epsilon_rule(1e-6), last=flat_rule(0.0)
)
flat_on_the_last_layer_instead_of_the_first.__name__ = "flat_on_the_last_layer_instead_of_the_first"

MUTANTS: dict[str, tuple[Callable[..., Array], str]] = {
    fn.__name__: (fn, method)
    for fn, method in (
        (lrp0_bias_left_out_of_the_denominator, "lrp-0"),
        (lrp_epsilon_started_from_all_logits, "lrp-epsilon"),
        (lrp_epsilon_started_from_a_probability, "lrp-epsilon"),
        (lrp0_normalised_heatmap, "lrp-0"),
        (lrp0_batch_coupled_scaling, "lrp-0"),
        (lrp0_drops_negative_inputs, "lrp-0"),
        (lrp_epsilon_in_float32, "lrp-epsilon"),
        (lrp0_modifies_its_input, "lrp-0"),
        (lrp_epsilon_with_sign_of_zero_zero, "lrp-epsilon"),
        (alpha_beta_with_alpha_minus_beta_not_one, "lrp-alpha-beta"),
        (gradient_with_torch_weight_layout, "gradient"),
        (lrp0_bias_relevance_redistributed, "lrp-0"),
        (lrp_epsilon_unsigned_stabiliser, "lrp-epsilon"),
        (lrp0_absolute_relevance, "lrp-0"),
        (gradient_x_input_cached_by_shape, "gradient-x-input"),
        (gamma_bias_convention_swapped, "lrp-gamma"),
        (gamma_on_negative_weights, "lrp-gamma:0.25,weights-once"),
        (zbox_bounds_swapped, "lrp-composite first=zbox:low=-1,high=2 hidden=epsilon:1e-6"),
        (
            flat_on_the_last_layer_instead_of_the_first,
            "lrp-composite first=flat hidden=epsilon:1e-6",
        ),
    )
}
