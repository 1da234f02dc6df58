"""The enclosure of DeepLIFT-Rescale: the gradient's chain with each ReLU's derivative replaced
by a ball around its multiplier (:mod:`lrp_invariants.deeplift`).

The multiplier is the secant slope ``s(z, z0) = (relu(z) - relu(z0)) / (z - z0)`` of a convex
function, and a convex function's secant slopes do not decrease when either end moves up. So
over the balls of ``z`` and ``z0`` the slope lies between ``s(lower ends)`` and ``s(upper
ends)``, where equal ends read the left and the right derivative (0 and 1 at 0). ReLU's
derivative at a point in both balls, which code takes where its two pre-activations came out
equal, lies in the same range. A correct evaluation then divides its rounded difference of
activations by its rounded difference of pre-activations: three roundings, relative ``γ_3``,
or ``η`` where the quotient underflows; it stays in [0, 1] (ReLU is 1-Lipschitz).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..network import Network
from .balls import F64, RADIUS_ETA, RADIUS_U, Ball, Precision, affine, mul
from .forward import ForwardBalls, _chain_underflow, class_selector


def _secant(z: F64, z0: F64, right: bool) -> F64:
    """``(relu(z) - relu(z0)) / (z - z0)``; where the ends are equal, ReLU's right (``right``)
    or left derivative there."""
    dz = z - z0
    da = np.maximum(z, 0) - np.maximum(z0, 0)
    equal = dz == 0
    slope = np.divide(da, dz, out=np.zeros_like(dz), where=~equal)
    derivative = (z >= 0) if right else (z > 0)
    return np.where(equal, derivative.astype(np.float64), slope)


def enclose_multipliers(z: Ball, z0: Ball, p: Precision) -> Ball:
    """A ball around every multiplier a correct evaluation can compute from pre-activations in
    ``z`` and ``z0`` (see the module's docstring)."""
    z_lo, z_hi = z.bounds(p)
    z0_lo, z0_hi = z0.bounds(p)
    with np.errstate(over="ignore", invalid="ignore"):
        # the float64 evaluation of each end errs by three roundings of its own
        # (differences of float64 numbers are exact where they are subnormal; the quotient, in
        # [0, 1], errs by a relative u or, below float64's normal range, by half an η)
        lo = _secant(z_lo, z0_lo, right=False) * (1 - 4 * RADIUS_U) - RADIUS_ETA
        hi = _secant(z_hi, z0_hi, right=True) * (1 + 4 * RADIUS_U) + RADIUS_ETA
    # infinite ends (an unbounded ball) say nothing: the whole range
    lo = np.where(np.isfinite(lo), lo, 0.0)
    hi = np.where(np.isfinite(hi), hi, 1.0)
    g3 = p.gamma(3)
    lo = np.clip(lo * (1 - g3) - p.eta, 0.0, 1.0)
    hi = np.clip(hi * (1 + g3) + p.eta, 0.0, 1.0)
    return Ball((lo + hi) / 2, (hi - lo) / 2)


def enclose_deeplift(
    network: Network,
    forward: ForwardBalls,
    reference: ForwardBalls,
    delta: Ball,
    classes: ArrayLike,
    p: Precision,
) -> Ball:
    """Enclose DeepLIFT-Rescale's relevance (n, d): ``forward`` and ``reference`` are the
    balls of the passes at the input and at the reference, ``delta`` the ball of ``x - x0``.
    The chain of products may be associated in any way, as the gradient's
    (:func:`~lrp_invariants.bounds.enclose_gradient`)."""
    g = Ball.exact(class_selector(classes, forward.z[-1].mid.shape))
    masks = []
    for i in range(network.depth - 1, -1, -1):
        g = affine(g, network.layers[i].W.T.astype(np.float64), None, p)
        if i > 0:
            multiplier = enclose_multipliers(forward.z[i - 1], reference.z[i - 1], p)
            masks.append(multiplier.upper)
            g = mul(multiplier, g, p)
    g = mul(delta, g, p)
    underflow = _chain_underflow(network, masks[::-1], classes, delta, True, p, multipliers=True)
    return Ball(g.mid, g.rad + underflow)
