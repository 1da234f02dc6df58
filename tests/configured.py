"""Correct implementations of configured LRP, written from the equations with explicit
``(n, in, out)`` contribution tensors and sharing nothing with the core, each with the method
spec it claims (see ``lrp_invariants.configuration``).

They are what a user's code configured unlike the package's defaults looks like: another ε,
γ with either bias convention and either extension to negative values, a box rule, a flat first
layer. ``tests/test_configurations.py`` holds each of them to every property its configuration
implies, and shows that each passes only its own configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lrp_invariants.network import Array

from .alternatives import gamma_normalised_by_the_logit
from .helpers import logit_start, plain_forward

Weights = Sequence[Array]
Target = Callable[[Weights, Weights, Array, Array], Array]
LayerRule = Callable[[Array, Array, Array, Array, Array], Array]  # (a, W, b, z, R) -> R below


def _share(R: Array, rho: Array, bias: Array, epsilon: float, passes: Array | None = None) -> Array:
    """``Σ_j ρ_ij / (Σ_i ρ_ij + bias_j + ε sign) R_j``, shares first (``R_j / D_j`` alone can
    overflow where a denominator is tiny; the shares stay moderate), 0/0 -> 0, units outside
    ``passes`` pass nothing."""
    den = rho.sum(axis=1) + bias
    if epsilon:
        den = den + epsilon * np.where(den >= 0, 1.0, -1.0)
    if passes is not None:
        den = np.where(passes, den, 0.0)
    shares = np.divide(rho, den[:, None, :], out=np.zeros_like(rho), where=den[:, None, :] != 0)
    return np.einsum("nij,nj->ni", shares, R)


def epsilon_rule(epsilon: float) -> LayerRule:
    def rule(a: Array, W: Array, b: Array, z: Array, R: Array) -> Array:
        return _share(R, a[:, :, None] * W[None], np.broadcast_to(b, R.shape), epsilon)

    return rule


def gamma_rule(gamma: float, bias: str, sign_aware: bool, epsilon: float = 0.0) -> LayerRule:
    """LRP-γ: ``z + γ z⁺`` per unit sign (sign-aware) or ``a (w + γ w⁺)`` (weights once)."""

    def rule(a: Array, W: Array, b: Array, z: Array, R: Array) -> Array:
        zij = a[:, :, None] * W[None]
        b_pos = {"modified": b + gamma * np.maximum(b, 0), "source": b, "ignored": 0 * b}[bias]
        b_neg = {"modified": b + gamma * np.minimum(b, 0), "source": b, "ignored": 0 * b}[bias]
        if not sign_aware:
            rho = a[:, :, None] * (W + gamma * np.maximum(W, 0))[None]
            return _share(R, rho, np.broadcast_to(b_pos, R.shape), epsilon)
        positive = (z > 0)[:, None, :]
        rho = np.where(positive, zij + gamma * np.maximum(zij, 0), zij + gamma * np.minimum(zij, 0))
        return _share(R, rho, np.where(z > 0, b_pos, b_neg), epsilon, passes=z != 0)

    return rule


def zbox_rule(low: float, high: float) -> LayerRule:
    """z^B with the bias left out (Zennit): ``(x - l) w⁺ + (x - h) w⁻`` per contribution."""

    def rule(a: Array, W: Array, b: Array, z: Array, R: Array) -> Array:
        W_pos, W_neg = np.maximum(W, 0)[None], np.minimum(W, 0)[None]
        rho = (a - low)[:, :, None] * W_pos + (a - high)[:, :, None] * W_neg
        return _share(R, rho, np.zeros_like(R), 0.0)

    return rule


def flat_rule(epsilon: float) -> LayerRule:
    def rule(a: Array, W: Array, b: Array, z: Array, R: Array) -> Array:
        n_in = W.shape[0]
        return np.repeat(R.sum(axis=1, keepdims=True) / (n_in + epsilon), n_in, axis=1)

    return rule


def w_square_rule() -> LayerRule:
    def rule(a: Array, W: Array, b: Array, z: Array, R: Array) -> Array:
        squares = np.square(W / np.abs(W).max(axis=0, initial=0.0, where=W != 0))
        squares = np.nan_to_num(squares)  # a column of zeros: nothing to share
        column = squares.sum(axis=0)
        s = np.divide(R, column, out=np.zeros_like(R), where=column != 0)
        return s @ squares.T

    return rule


def layered(first: LayerRule, hidden: LayerRule, last: LayerRule | None = None) -> Target:
    """A target with ``first`` on the input layer, ``last`` on the top, ``hidden`` between."""

    def target(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
        inputs, pre = plain_forward(weights, biases, x)
        R = logit_start(pre[-1], classes)
        depth = len(weights)
        for i in range(depth - 1, -1, -1):
            rule = hidden
            if i == depth - 1 and last is not None:
                rule = last
            if i == 0:
                rule = first
            R = rule(inputs[i], weights[i], biases[i], pre[i], R)
        return R

    return target


def everywhere(rule: LayerRule) -> Target:
    return layered(rule, rule)


CONFIGURED: dict[str, tuple[Target, str]] = {
    "w_square_everywhere": (everywhere(w_square_rule()), "lrp-w-square"),
    "flat_everywhere": (everywhere(flat_rule(0.0)), "lrp-flat"),
    "epsilon_0_01": (everywhere(epsilon_rule(0.01)), "lrp-epsilon:0.01"),
    "gamma_zennit": (everywhere(gamma_rule(0.25, "modified", True)), "lrp-gamma"),
    "gamma_zennit_stabilised": (
        everywhere(gamma_rule(0.25, "modified", True, 1e-6)),
        "lrp-gamma:0.25,epsilon=1e-6",
    ),
    "gamma_captum": (
        everywhere(gamma_rule(0.25, "source", False, 1e-9)),
        "lrp-gamma:0.25,epsilon=1e-9,bias=source,weights-once",
    ),
    # Captum's order: relevance 1 at the output, the logit multiplied in at the end
    "gamma_normalised_by_the_logit": (
        gamma_normalised_by_the_logit,
        "lrp-gamma:0.25,epsilon=1e-9,bias=ignored,weights-once",
    ),
    "gamma_bias_ignored": (
        everywhere(gamma_rule(1.0, "ignored", True)),
        "lrp-gamma:1,bias=ignored",
    ),
    "zbox_first_epsilon_above": (
        layered(zbox_rule(-4.0, 4.0), epsilon_rule(1e-6)),
        "lrp-composite first=zbox:low=-4,high=4 hidden=epsilon:1e-6",
    ),
    "zennit_epsilon_plus_flat": (
        layered(flat_rule(1e-6), epsilon_rule(1e-6)),
        "lrp-composite zennit-epsilon-plus-flat",
    ),
    "gamma_between_box_and_lrp0": (
        layered(zbox_rule(-2.0, 3.0), gamma_rule(0.25, "modified", False), epsilon_rule(0.0)),
        "lrp-composite first=zbox:low=-2,high=3 hidden=gamma:0.25,weights-once last=0",
    ),
}
