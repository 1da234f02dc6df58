"""Integrated gradients (Sundararajan et al. 2017) on ReLU MLPs, exactly: no Riemann steps.

Along the straight path ``p(t) = x0 + t (x - x0)``, ``t`` in [0, 1], every pre-activation is
piecewise linear in ``t`` and the gradient is constant between two consecutive points where
some hidden unit's pre-activation crosses zero. So the path integral is a finite sum,

    IG(x) = (x - x0) ⊙ Σ_k (t_{k+1} - t_k) ∇f(p(s_k)),   s_k = (t_k + t_{k+1}) / 2,

over the *breakpoints* ``0 = t_0 < t_1 < ... < t_K = 1``. They are found layer by layer: once
the crossings of layers ``0..l-1`` are breakpoints, layer ``l``'s pre-activations are linear
between consecutive breakpoints, so each unit crosses zero at most once there, where linear
interpolation of its two end values says. Completeness, ``Σ IG = f(x) - f(x0)``, holds
exactly: on every segment ``f`` is affine with gradient ``∇f(p(s_k))``.

:func:`quadrature_integrated_gradients` computes the usual approximation (Riemann sums or
Gauss-Legendre with ``steps`` nodes, as Captum does) and :func:`quadrature_error_bound` bounds
its distance from the exact value: for a piecewise-constant integrand it is at most the
quadrature's discrepancy times the sum of the gradient's jumps along the path.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike

from .deeplift import check_reference
from .network import Array, Network, check_classes, check_input, forward, gradient

F64 = np.ndarray


@dataclass(frozen=True)
class Path:
    """One sample's path from its baseline: breakpoints ``t`` (K + 1,) and the gradient of the
    chosen logit on each of the K segments, ``g`` (K, d), all in float64."""

    t: F64
    g: F64

    @property
    def lengths(self) -> F64:
        return np.diff(self.t)

    def jumps(self) -> F64:
        """``Σ_b |g_b - g_(b-1)|`` over the inner breakpoints (d,): the integrand's variation."""
        return np.abs(np.diff(self.g, axis=0)).sum(axis=0)


def _prefix(network64: Network, points: F64, layer: int) -> F64:
    """Pre-activations of Linear layer ``layer`` at ``points``."""
    a = points
    for i in range(layer + 1):
        z = a @ network64.layers[i].W + network64.layers[i].b
        a = np.maximum(z, 0)
    return z


def _breakpoints(network64: Network, x: F64, x0: F64) -> F64:
    """The points in [0, 1] where some hidden pre-activation crosses zero on the path from
    ``x0`` to ``x`` (one sample), with 0 and 1; sorted and distinct."""
    t = np.array([0.0, 1.0])
    delta = x - x0
    for layer in range(network64.depth - 1):
        z = _prefix(network64, x0 + t[:, None] * delta, layer)
        za, zb = z[:-1], z[1:]
        # strictly opposite signs (a zero at an end is a breakpoint already); not za * zb < 0,
        # which underflows to 0 for small pre-activations and misses the crossing
        crossing = ((za < 0) & (zb > 0)) | ((za > 0) & (zb < 0))
        if not crossing.any():
            continue
        rows, _ = np.nonzero(crossing)
        fraction = za[crossing] / (za[crossing] - zb[crossing])
        inner = t[rows] + (t[rows + 1] - t[rows]) * fraction
        t = np.unique(np.concatenate([t, np.clip(inner, 0.0, 1.0)]))
    return t


def _arguments(
    network: Network, x: ArrayLike, classes: ArrayLike, baseline: ArrayLike | None
) -> tuple[Array, np.ndarray, Array]:
    """The batch, the chosen classes and the baseline batch, each checked (named errors)."""
    batch = check_input(network, x)
    chosen = check_classes(network, classes, batch.shape[0])
    return batch, chosen, check_reference(network, batch, baseline)


def paths(
    network: Network, x: ArrayLike, classes: ArrayLike, baseline: ArrayLike | None = None
) -> list[Path]:
    """Every sample's :class:`Path` from ``baseline`` (zeros if None; a (d,) row or (n, d))."""
    batch, chosen, x0 = _arguments(network, x, classes, baseline)
    network64 = network.astype(np.float64)
    result = []
    for i in range(batch.shape[0]):
        xi, x0i = batch[i].astype(np.float64), x0[i].astype(np.float64)
        t = _breakpoints(network64, xi, x0i)
        middles = x0i + ((t[:-1] + t[1:]) / 2)[:, None] * (xi - x0i)
        g = gradient(network64, forward(network64, middles), np.full(len(t) - 1, chosen[i]))
        result.append(Path(t, g))
    return result


def integrated_gradients(
    network: Network, x: ArrayLike, classes: ArrayLike, baseline: ArrayLike | None = None
) -> Array:
    """Exact integrated gradients (n, d) of the chosen logits from ``baseline`` (zeros if
    None), computed in float64 and returned in the network's dtype."""
    batch = check_input(network, x)
    x0 = check_reference(network, batch, baseline)
    delta = batch.astype(np.float64) - x0.astype(np.float64)
    averages = np.array([p.lengths @ p.g for p in paths(network, batch, classes, x0)])
    return (delta * averages.reshape(delta.shape)).astype(network.dtype)


QUADRATURES = (
    "riemann_left",
    "riemann_right",
    "riemann_middle",
    "riemann_trapezoid",
    "gausslegendre",
)
"""The approximations of the path integral Captum offers, by its names."""


def quadrature(method: str, steps: int) -> tuple[F64, F64]:
    """Nodes in [0, 1] and weights (summing to 1) of a ``steps``-node rule."""
    if method not in QUADRATURES:
        raise ValueError(f"unknown quadrature {method!r}; choose one of {', '.join(QUADRATURES)}")
    if not isinstance(steps, int) or steps < (2 if method == "riemann_trapezoid" else 1):
        raise ValueError(f"steps must be an integer >= 1 (2 for the trapezoid); got {steps!r}")
    n = steps
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return (nodes + 1) / 2, weights / 2
    if method == "riemann_trapezoid":
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, n), weights
    start = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[method]
    return (np.arange(n) + start) / n, np.full(n, 1.0 / n)


@functools.cache
def discrepancy(method: str, steps: int) -> float:
    """``sup_τ |(1 - τ) - Σ_{α_i > τ} w_i|``: how far the rule can be from ``∫ H(t - τ) dt``
    for a unit step at any ``τ``; a step of the integrand by ``J`` costs at most this times
    ``|J|``. The supremum is taken just before or at a node (the error is piecewise linear),
    in exact arithmetic on the rule's float64 nodes and weights, and rounded up."""
    nodes, weights = quadrature(method, steps)
    pairs = sorted(zip(map(Fraction, nodes.tolist()), map(Fraction, weights.tolist()), strict=True))
    above = Fraction(sum(w for _, w in pairs))  # weight of the nodes >= the current one
    worst = abs(1 - above)  # τ below every node
    for node, weight in pairs:
        worst = max(worst, abs((1 - node) - above))  # just below the node: it counts
        above -= weight
        worst = max(worst, abs((1 - node) - above))  # at the node: it does not
    return _rounded_up(worst)


@functools.cache
def weight_defect(method: str, steps: int) -> float:
    """``|Σ w_i - 1|`` of the rule's float64 weights, exactly, rounded up: what a constant
    integrand loses (``3 fl(1/3) = 1 - 2**-54``)."""
    _, weights = quadrature(method, steps)
    return _rounded_up(abs(sum(map(Fraction, weights.tolist()), Fraction(0)) - 1))


def _rounded_up(value: Fraction) -> float:
    result = float(value)
    return result if Fraction(result) >= value else float(np.nextafter(result, np.inf))


def quadrature_integrated_gradients(
    network: Network,
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike | None = None,
    steps: int = 50,
    method: str = "gausslegendre",
) -> Array:
    """Integrated gradients approximated with ``steps`` nodes of ``method`` (Captum's defaults:
    50 Gauss-Legendre nodes), in the network's dtype: the floor a user pays without the exact
    form, and the target to hold to :func:`quadrature_error_bound`."""
    nodes, weights = quadrature(method, steps)
    batch, chosen, x0 = _arguments(network, x, classes, baseline)
    delta = batch - x0
    n, d = batch.shape
    points = (x0[None] + nodes.astype(batch.dtype)[:, None, None] * delta[None]).reshape(-1, d)
    g = gradient(network, forward(network, points), np.tile(chosen, len(nodes)))
    average = np.tensordot(weights.astype(batch.dtype), g.reshape(len(nodes), n, d), axes=1)
    return delta * average


def quadrature_error_bound(
    network: Network,
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike | None = None,
    steps: int = 50,
    method: str = "gausslegendre",
) -> Array:
    """(n, d), float64: how far the quadrature (in exact arithmetic) can be from the integral:
    ``|x - x0|`` times the discrepancy times the gradient's jumps, plus the weights' defect
    (their sum is 1 only up to rounding) times the first segment's gradient, plus, for a node
    that lies
    on a breakpoint (up to the breakpoint's rounding, :data:`ON_BREAKPOINT`), its weight times
    how far the gradient there is from each side (units exactly at 0 give a third value; the
    path's ends count, with their one side)."""
    nodes, weights = quadrature(method, steps)
    batch, chosen, x0 = _arguments(network, x, classes, baseline)
    delta = np.abs(batch.astype(np.float64) - x0.astype(np.float64))
    network64 = network.astype(np.float64)
    spread, defect = discrepancy(method, steps), weight_defect(method, steps)
    bound = np.empty_like(delta)
    for i, path in enumerate(paths(network, batch, chosen, x0)):
        total = spread * path.jumps() + defect * np.abs(path.g[0])
        # a node on a breakpoint, or on an end of the path (Riemann and trapezoid rules put
        # nodes there; a unit exactly at 0 at the baseline switches the gradient there)
        near = np.abs(nodes[:, None] - path.t[None, :]) <= ON_BREAKPOINT
        for node, b in zip(*np.nonzero(near), strict=True):
            point = x0[i].astype(np.float64) + nodes[node] * (
                batch[i].astype(np.float64) - x0[i].astype(np.float64)
            )
            g = gradient(network64, forward(network64, point[None]), chosen[i : i + 1])[0]
            for segment in (b - 1, b):
                if 0 <= segment < len(path.g):
                    total = total + weights[node] * np.abs(g - path.g[segment])
        # rounded outward: each term above is a product or sum of a few float64 numbers
        operations = 2 * (len(path.t) + len(nodes)) + 4
        bound[i] = delta[i] * total * (1 + 2 * _U64 * operations)
    return bound  # float64: rounded to a narrower dtype it could round down


_U64 = float(np.finfo(np.float64).eps) / 2


ON_BREAKPOINT = 2.0**-30
"""A node this close to a computed breakpoint may lie on the exact one, or on its other side:
its gradient is then not taken to be the segment's. Breakpoints are computed to a few ulps of
1 (float64), far inside this."""
