"""Correct attribution functions written unlike this package's core: the gate must pass them all.

Each function follows the gate protocol ``fn(weights, biases, x, classes) -> relevance`` and
computes exactly what its method defines, with every operation correctly rounded, but in another
evaluation order than :mod:`lrp_invariants.rules`: shares before relevance, the explicit
``(n, in, out)`` contribution tensor, a forward-mode Jacobian, ``math.fsum`` sums, per-sample
Python loops, torch's ``(out, in)`` weight layout with the "gradient x (input / z)" form of
autograd-based LRP, and einsum. They are written from the equations, independently of the core,
and share nothing with it but the conventions the gate's methods document: the relevance starts
at the chosen class logit; a zero denominator passes nothing (0/0 -> 0); the ε stabiliser has
sign(0) = +1; αβ splits each contribution ``a_i w_ij`` (and the bias) by its own sign, with a
side that has no source passing nothing.

A gate that fails one of these on any seed raises a false alarm (issue: "Zero false alarms for
every correct evaluation order").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from lrp_invariants.network import Array
from lrp_invariants.targets import EPSILON

from .helpers import logit_start, plain_forward

Weights = Sequence[Array]


def _signed_epsilon(z: Array, epsilon: float) -> Array:
    """``z + ε sign(z)`` with sign(0) = +1."""
    return z + np.where(z >= 0, epsilon, -epsilon).astype(z.dtype)


def _safe_ratio(numerator: Array, denominator: Array) -> Array:
    """numerator / denominator, 0 where the denominator is 0 (0/0 -> 0)."""
    out = np.zeros(np.broadcast_shapes(numerator.shape, denominator.shape), numerator.dtype)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


# --- αβ and z⁺, shares first: R_i = Σ_j (α z⁺_ij / Z⁺_j - β z⁻_ij / Z⁻_j) R_j --------------------


def _alpha_beta_shares_first(
    weights: Weights, biases: Weights, x: Array, classes: Array, alpha: float, beta: float
) -> Array:
    inputs, pre = plain_forward(weights, biases, x)
    R = logit_start(pre[-1], classes)
    for i in range(len(weights) - 1, -1, -1):
        zij = inputs[i][:, :, None] * weights[i][None, :, :]  # (n, in, out)
        b = np.broadcast_to(biases[i], (zij.shape[0], 1, zij.shape[2]))
        sources = np.concatenate([zij, b], axis=1)  # the bias is a source like any other
        positive, negative = np.maximum(sources, 0), np.minimum(sources, 0)
        share_pos = _safe_ratio(positive, positive.sum(axis=1, keepdims=True))
        share_neg = _safe_ratio(negative, negative.sum(axis=1, keepdims=True))
        shares = alpha * share_pos - beta * share_neg  # the textbook's fractions, then R
        R = (shares[:, :-1, :] * R[:, None, :]).sum(axis=2)
    return R


def alpha_beta_shares_first(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """LRP-α2β1 as the textbook writes it: each contribution's share of its sign's sum, times R."""
    return _alpha_beta_shares_first(weights, biases, x, classes, 2.0, 1.0)


def zplus_shares_first(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """z⁺ (α1β0) with shares first."""
    return _alpha_beta_shares_first(weights, biases, x, classes, 1.0, 0.0)


def _relevance_first(parts: Array, side_sum: Array, R: Array) -> Array:
    """Σ_j parts_ij (R_j / side_sum_j): the relevance per unit of contribution first. Where
    R_j / side_sum_j overflows (a subnormal sum) the quotient is not finite, and that unit's
    shares parts_ij / side_sum_j (all in [0, 1]) are taken first instead: a correct
    implementation returns finite numbers."""
    with np.errstate(over="ignore"):
        per_unit = _safe_ratio(R, side_sum)  # (n, out)
    finite = np.isfinite(per_unit)
    relevance = np.einsum("nio,no->ni", parts, np.where(finite, per_unit, 0.0))
    if not finite.all():
        shares = _safe_ratio(parts, side_sum[:, None, :])
        relevance += np.einsum("nio,no->ni", shares, np.where(finite, 0.0, R))
    return relevance


def zplus_relevance_first(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """z⁺ with the relevance per unit of positive contribution first: (R_j / Z⁺_j) z⁺_ij."""
    inputs, pre = plain_forward(weights, biases, x)
    R = logit_start(pre[-1], classes)
    for i in range(len(weights) - 1, -1, -1):
        a, W = inputs[i], weights[i]
        positive = np.maximum(a[:, :, None] * W[None, :, :], 0)
        total = positive.sum(axis=1) + np.maximum(biases[i], 0)
        R = _relevance_first(positive, total, R)
    return R


# --- LRP-ε and LRP-0 -------------------------------------------------------------------------


def epsilon_contribution_tensor(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """LRP-ε with the explicit (n, in, out) tensor: (a_i w_ij) first, then times R_j / den_j."""
    inputs, pre = plain_forward(weights, biases, x)
    R = logit_start(pre[-1], classes)
    for i in range(len(weights) - 1, -1, -1):
        zij = inputs[i][:, :, None] * weights[i][None, :, :]
        s = R / _signed_epsilon(pre[i], EPSILON)
        R = (zij * s[:, None, :]).sum(axis=2)
    return R


def epsilon_denominator_recomputed(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """LRP-ε whose denominator is summed anew from the contributions, ``Σ_i z_ij + b_j``, in
    another order than the forward pass's product: where that sum cancels, the two evaluations
    of ``z_j`` differ by far more than one rounding."""
    inputs, pre = plain_forward(weights, biases, x)
    R = logit_start(pre[-1], classes)
    for i in range(len(weights) - 1, -1, -1):
        zij = inputs[i][:, :, None] * weights[i][None, :, :]
        den = zij.sum(axis=1) + biases[i]
        s = R / _signed_epsilon(den, EPSILON)
        R = (zij * s[:, None, :]).sum(axis=2)
    return R


def _left_to_right(terms: Array, axis: int) -> Array:
    """The sum of ``terms`` along ``axis`` as a plain loop adds: from the integer 0, one term at a
    time, left to right (the built-in ``sum`` did so up to Python 3.11; from 3.12 on it
    compensates). ``np.add.accumulate`` is strictly sequential (each partial sum depends on
    the last), so its final element is that loop's result bit for bit; the leading 0 turns a
    first term of -0.0 into +0.0 as ``0 + (-0.0)`` does."""
    start = np.zeros_like(np.take(terms, [0], axis=axis))
    return np.add.accumulate(np.concatenate([start, terms], axis=axis), axis=axis).take(-1, axis)


def epsilon_per_sample_loops(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """LRP-ε as per-sample Python loops compute it, one contribution at a time: every value a
    Python float (float64 whatever the arrays' dtype, rounded to it once at the end), every sum
    left to right, ``R_i = Σ_j (a_i w_ij) R_j / den_j`` multiplied left to right.

    Written with sequential accumulations rather than literal loops (the same operations in the
    same order, bit for bit: ``tests/test_alternatives.py`` holds it to the loops), so that the
    soundness campaign can afford it on every drawn case."""
    with np.errstate(all="ignore"):  # Python floats overflow to inf and divide to nan silently
        a = x.astype(np.float64)
        activations, pre = [], []
        for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
            activations.append(a)
            terms = a[:, :, None] * W.astype(np.float64)[None, :, :]  # (n, in, out)
            z = _left_to_right(terms, axis=1) + b.astype(np.float64)
            pre.append(z)
            a = np.where(z < 0.0, 0.0, z) if i < len(weights) - 1 else z  # max(z, 0.0)
        rows = np.arange(x.shape[0])
        R = np.zeros_like(pre[-1])
        R[rows, classes] = pre[-1][rows, classes]
        for i in range(len(weights) - 1, -1, -1):
            a, z, W = activations[i], pre[i], weights[i].astype(np.float64)
            den = np.where(z >= 0, z + EPSILON, z - EPSILON)
            terms = a[:, :, None] * W[None, :, :] * R[:, None, :] / den[:, None, :]
            R = _left_to_right(terms, axis=2)
    return R.astype(x.dtype)


def _fsum_rows(terms: Array, dtype: np.dtype) -> Array:
    """``math.fsum`` of every row of the last axis (each exact sum rounded once to float64, then
    to ``dtype``)."""
    flat = terms.reshape(-1, terms.shape[-1]).tolist()  # Python floats: every value exact
    return np.array(list(map(math.fsum, flat)), dtype=dtype).reshape(terms.shape[:-1])


def _fsum_matmul(a: Array, W: Array) -> Array:
    """``a @ W`` with every dot product summed exactly once (math.fsum) from its products, each
    product rounded to the arrays' precision first."""
    products = a[:, :, None] * W[None, :, :]  # (n, in, out)
    return _fsum_rows(products.transpose(0, 2, 1), a.dtype)


def lrp0_fsum(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """LRP-0 with every sum (forward and backward) correctly rounded by math.fsum."""
    a, inputs, pre = x, [], []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        inputs.append(a)
        products = a[:, :, None] * W[None, :, :]  # (n, in, out)
        bias = np.broadcast_to(b, (a.shape[0], 1, W.shape[1]))
        z = _fsum_rows(np.concatenate([products, bias], axis=1).transpose(0, 2, 1), a.dtype)
        pre.append(z)
        a = np.maximum(z, 0) if i < len(weights) - 1 else z
    R = logit_start(pre[-1], classes)
    for i in range(len(weights) - 1, -1, -1):
        s = _safe_ratio(R, pre[i])
        R = inputs[i] * _fsum_matmul(s, weights[i].T)
    return R


def _torch_layout(weights: Weights) -> list[Array]:
    """Weights as torch.nn.Linear keeps them: (out, in)."""
    return [np.ascontiguousarray(W.T) for W in weights]


def _gradient_times_input_over_z(
    weights: Weights, biases: Weights, x: Array, classes: Array, epsilon: float
) -> Array:
    """Autograd-style LRP: at every layer, R_in = a * (d/da of z . stop(R / den)), which for a
    Linear layer in torch's (out, in) layout is a * ((R / den) @ W_t)."""
    W_t = _torch_layout(weights)
    a, inputs, pre = x, [], []
    for i, (W, b) in enumerate(zip(W_t, biases, strict=True)):
        inputs.append(a)
        z = a @ W.T + b  # torch's F.linear
        pre.append(z)
        a = np.maximum(z, 0) if i < len(W_t) - 1 else z
    R = logit_start(pre[-1], classes)
    for i in range(len(W_t) - 1, -1, -1):
        den = _signed_epsilon(pre[i], epsilon) if epsilon else pre[i]
        grad_seed = _safe_ratio(R, den)
        R = inputs[i] * (grad_seed @ W_t[i])
    return R


def lrp0_autograd_torch_layout(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """LRP-0 as gradient x (input / z) in torch's weight layout."""
    return _gradient_times_input_over_z(weights, biases, x, classes, 0.0)


def epsilon_autograd_torch_layout(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """LRP-ε as gradient x (input / (z + ε sign z)) in torch's weight layout."""
    return _gradient_times_input_over_z(weights, biases, x, classes, EPSILON)


def alpha_beta_einsum(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """LRP-α2β1 with einsum for every product and sum, relevance per unit first."""
    a, inputs, pre = x, [], []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        inputs.append(a)
        z = np.einsum("ni,ij->nj", a, W) + b
        pre.append(z)
        a = np.maximum(z, 0) if i < len(weights) - 1 else z
    R = logit_start(pre[-1], classes)
    for i in range(len(weights) - 1, -1, -1):
        zij = np.einsum("ni,ij->nij", inputs[i], weights[i])
        pos, neg = np.maximum(zij, 0), np.minimum(zij, 0)
        Zp = np.einsum("nij->nj", pos) + np.maximum(biases[i], 0)
        Zn = np.einsum("nij->nj", neg) + np.minimum(biases[i], 0)
        R = _relevance_first(pos, Zp, 2.0 * R) - _relevance_first(neg, Zn, 1.0 * R)
    return R


# --- gradients --------------------------------------------------------------------------------


def _forward_mode_jacobian(weights: Weights, biases: Weights, x: Array) -> Array:
    """d logits / d x per sample, (n, d, outputs), accumulated from the input forwards."""
    a = x
    J = np.broadcast_to(np.eye(x.shape[1], dtype=x.dtype), (x.shape[0], x.shape[1], x.shape[1]))
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        z = a @ W + b
        J = J @ W  # (n, d, in) @ (in, out)
        if i < len(weights) - 1:
            J = J * (z > 0)[:, None, :]
            a = np.maximum(z, 0)
    return J


def gradient_forward_mode(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """The gradient by forward-mode accumulation: the Jacobian from the input up, then a column."""
    J = _forward_mode_jacobian(weights, biases, x)
    return J[np.arange(x.shape[0]), :, classes]


def gradient_x_input_forward_mode(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Gradient x input with the forward-mode Jacobian."""
    return gradient_forward_mode(weights, biases, x, classes) * x


def saliency_forward_mode(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """|gradient| from the forward-mode Jacobian."""
    return np.abs(gradient_forward_mode(weights, biases, x, classes))


def gradient_x_input_einsum(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """Gradient x input, backward with einsum, the input multiplied into the first layer's
    weights before the rest of the chain: Σ_j (x_i w_ij) g_j."""
    a, pre = x, []
    for W, b in zip(weights, biases, strict=True):
        z = np.einsum("ni,ij->nj", a, W) + b
        pre.append(z)
        a = np.maximum(z, 0)
    g = np.zeros_like(pre[-1])
    g[np.arange(len(classes)), classes] = 1
    for i in range(len(weights) - 1, 0, -1):
        g = np.einsum("nj,ij->ni", g, weights[i]) * (pre[i - 1] > 0)
    return np.einsum("ni,ij,nj->ni", x, weights[0], g)


# --- reference methods: DeepLIFT-Rescale and exact integrated gradients --------------------


def _pre_activations(weights: Weights, biases: Weights, x: Array) -> list[Array]:
    a, pre = x, []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        z = a @ W + b
        pre.append(z)
        if i < len(weights) - 1:
            a = np.maximum(z, 0)
    return pre


def _secants(z: Array, z0: Array) -> Array:
    """Δa / Δz, the derivative at z where Δz = 0, written as z⁺ / (z - z0) and its mirror."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        both_on = (z > 0) & (z0 > 0)
        only_z = (z > 0) & (z0 <= 0)
        only_z0 = (z <= 0) & (z0 > 0)
        slope = np.where(both_on, 1.0, 0.0).astype(z.dtype)
        slope = np.where(only_z, z / (z - z0), slope)
        slope = np.where(only_z0, -z0 / (z - z0), slope)
    return np.where(z == z0, (z > 0).astype(z.dtype), slope)


def _deeplift_forward_mode(
    weights: Weights, biases: Weights, x: Array, classes: Array, x0: Array
) -> Array:
    """DeepLIFT-Rescale as a Jacobian of multipliers from the input up, (x - x0) last."""
    z, z0 = _pre_activations(weights, biases, x), _pre_activations(weights, biases, x0)
    J = np.broadcast_to(np.eye(x.shape[1], dtype=x.dtype), (x.shape[0], x.shape[1], x.shape[1]))
    for i, W in enumerate(weights):
        J = J @ W
        if i < len(weights) - 1:
            J = J * _secants(z[i], z0[i])[:, None, :]
    return (x - x0) * J[np.arange(x.shape[0]), :, classes]


def deeplift_forward_mode(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """DeepLIFT-Rescale from zero, multipliers chained from the input forwards."""
    return _deeplift_forward_mode(weights, biases, x, classes, np.zeros_like(x))


def deeplift_forward_mode_from_baseline(
    weights: Weights, biases: Weights, x: Array, classes: Array, baseline: Array
) -> Array:
    """The same from a given reference."""
    return _deeplift_forward_mode(weights, biases, x, classes, baseline)


def _walked_path(weights: Weights, biases: Weights, x: Array, x0: Array, chosen: int) -> Array:
    """Integrated gradients of one sample by walking the path ``x0 + t (x - x0)``: every hidden
    pre-activation is carried along as a value and a slope ``dz/dt`` (forward mode, under the
    pattern just past ``t``), the walk steps to the nearest zero ahead, lands the unit that
    reaches it on exactly 0, and integrates the pattern's gradient over the step. An evaluation
    order unlike the core's layer-by-layer refinement of breakpoints.

    The values are moved along their slopes, not recomputed from the input at every stop: a
    recomputed ``z`` of a unit just crossed is its rounding error, which may lie on the old
    side of 0 again and let the walk creep on by steps of that size (it once stopped, after
    100,000 of them, at ``t = 1e-11``)."""
    delta = x - x0
    hidden = len(weights) - 1
    zs = [z[0] for z in _pre_activations(weights, biases, x0[None, :])[:hidden]]
    t, total = 0.0, np.zeros_like(x)
    for _ in range(100_000):
        # the pattern just past t and every unit's slope under it
        slope, slopes, ons = delta, [], []
        for i in range(hidden):
            dz = slope @ weights[i]
            on = (zs[i] > 0) | ((zs[i] == 0) & (dz > 0))
            slopes.append(dz)
            ons.append(on)
            slope = np.where(on, dz, 0.0)
        # the nearest zero ahead: an active unit falling, an inactive one rising
        ahead = [
            np.divide(
                -z,
                dz,
                out=np.full_like(z, np.inf),
                where=(on & (dz < 0)) | (~on & (z < 0) & (dz > 0)),
            )
            for z, dz, on in zip(zs, slopes, ons, strict=True)
        ]
        step = min((float(np.min(v)) for v in ahead), default=np.inf)
        end = min(t + step, 1.0)
        g = weights[-1][:, chosen].copy()  # the gradient of the pattern on (t, end), backwards
        for i in range(hidden - 1, -1, -1):
            g = weights[i] @ (g * ons[i])
        total = total + (end - t) * g
        zs = [z + (end - t) * dz for z, dz in zip(zs, slopes, strict=True)]
        for z, v in zip(zs, ahead, strict=True):
            z[t + v <= end] = 0.0  # the units reached at `end` land on their kink
        t = end
        if t >= 1.0:
            return delta * total
    raise RuntimeError(f"the walk did not reach the end of the path (stopped at t = {t})")


def _ig_walk(weights: Weights, biases: Weights, x: Array, classes: Array, x0: Array) -> Array:
    ws = [np.asarray(w, np.float64) for w in weights]
    bs = [np.asarray(b, np.float64) for b in biases]
    rows = [
        _walked_path(ws, bs, x[i].astype(np.float64), x0[i].astype(np.float64), int(classes[i]))
        for i in range(x.shape[0])
    ]
    return np.array(rows).reshape(x.shape).astype(x.dtype)


def integrated_gradients_walked(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Exact integrated gradients from zero, walking from breakpoint to breakpoint."""
    return _ig_walk(weights, biases, x, classes, np.zeros_like(x))


def integrated_gradients_walked_from_baseline(
    weights: Weights, biases: Weights, x: Array, classes: Array, baseline: Array
) -> Array:
    """The same from a given baseline."""
    return _ig_walk(weights, biases, x, classes, baseline)


def gamma_normalised_by_the_logit(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """γ = 0.25 (weights modified once, bias ignored, ε = 1e-9) with the relevance normalised to
    1 at the output and multiplied by the logit at the end, as Captum's LRP computes it. A valid
    order (every operation correctly rounded) that the bounds do not cover yet: its underflows
    count in units of the logit (see test_alternatives.py)."""
    a, inputs = x, []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        inputs.append(a)
        z = a @ W + b
        if i < len(weights) - 1:
            a = np.maximum(z, 0)
    rows = np.arange(len(classes))
    logit = z[rows, classes]
    R = np.zeros_like(z)
    R[rows, classes] = 1.0
    for i in range(len(weights) - 1, -1, -1):
        modified = weights[i] + 0.25 * np.maximum(weights[i], 0)
        z_modified = inputs[i] @ modified
        s = R / (z_modified + np.where(z_modified >= 0, 1e-9, -1e-9))
        R = inputs[i] * (s @ modified.T)
    return R * logit[:, None]


def _raw_moment_patterns(weights: Weights, biases: Weights, data: Array) -> list[Array]:
    """Patterns unit by unit from raw moments, ``(E[xy] - E[x]E[y]) / (E[y²] - E[y]²)`` over
    the active samples (all at the output), 0 where fewer than two or the variance is 0."""
    patterns, a = [], data
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        z = a @ W + b
        last = i == len(weights) - 1
        A = np.zeros_like(W)
        for j in range(W.shape[1]):
            rows = np.ones(len(z), bool) if last else z[:, j] > 0
            if rows.sum() < 2:
                continue
            xs, ys = a[rows], z[rows, j]
            cov = (xs * ys[:, None]).mean(axis=0) - xs.mean(axis=0) * ys.mean()
            var = (ys * ys).mean() - ys.mean() * ys.mean()
            if var != 0:
                A[:, j] = cov / var
        patterns.append(A)
        a = np.maximum(z, 0)
    return patterns


def _forward_mode_chain(
    weights: Weights, biases: Weights, matrices: Sequence[Array], x: Array, classes: Array
) -> Array:
    """``y_c · M_0 D_1 M_1 ... M_L e_c`` per sample, as a Jacobian built from the input up."""
    result = np.zeros_like(x)
    for s in range(x.shape[0]):
        a, J = x[s], None
        for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
            z = a @ W + b
            J = matrices[i] if J is None else J @ matrices[i]
            if i < len(weights) - 1:
                J = J * (z > 0)
                a = np.maximum(z, 0)
        assert J is not None
        result[s] = J[:, classes[s]] * z[classes[s]]
    return result


def pattern_net_forward_mode(
    weights: Weights, biases: Weights, x: Array, classes: Array, data: Array
) -> Array:
    """PatternNet with raw-moment patterns, chained from the input forwards."""
    patterns = _raw_moment_patterns(weights, biases, data)
    return _forward_mode_chain(weights, biases, patterns, x, classes)


def pattern_attribution_forward_mode(
    weights: Weights, biases: Weights, x: Array, classes: Array, data: Array
) -> Array:
    """PatternAttribution with raw-moment patterns, chained from the input forwards."""
    patterns = _raw_moment_patterns(weights, biases, data)
    weighted = [W * A for W, A in zip(weights, patterns, strict=True)]
    return _forward_mode_chain(weights, biases, weighted, x, classes)


ALTERNATIVES: dict[str, tuple[Callable[..., Array], str]] = {
    fn.__name__: (fn, method)
    for fn, method in (
        (alpha_beta_shares_first, "lrp-alpha-beta"),
        (zplus_shares_first, "lrp-zplus"),
        (zplus_relevance_first, "lrp-zplus"),
        (alpha_beta_einsum, "lrp-alpha-beta"),
        (epsilon_contribution_tensor, "lrp-epsilon"),
        (epsilon_denominator_recomputed, "lrp-epsilon"),
        (epsilon_per_sample_loops, "lrp-epsilon"),
        (epsilon_autograd_torch_layout, "lrp-epsilon"),
        (lrp0_fsum, "lrp-0"),
        (lrp0_autograd_torch_layout, "lrp-0"),
        (gradient_forward_mode, "gradient"),
        (saliency_forward_mode, "saliency"),
        (gradient_x_input_forward_mode, "gradient-x-input"),
        (gradient_x_input_einsum, "gradient-x-input"),
        (deeplift_forward_mode, "deeplift-rescale"),
        (deeplift_forward_mode_from_baseline, "deeplift-rescale:baseline=given"),
        (integrated_gradients_walked, "integrated-gradients"),
        (integrated_gradients_walked_from_baseline, "integrated-gradients:baseline=given"),
        (pattern_net_forward_mode, "pattern-net"),
        (pattern_attribution_forward_mode, "pattern-attribution"),
    )
}
