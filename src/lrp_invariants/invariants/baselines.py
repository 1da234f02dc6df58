"""Invariants of the methods that explain against a reference point ``x0`` (DeepLIFT-Rescale,
integrated gradients): completeness, and input invariance when the reference moves with the
shift (Kindermans et al.: with a fixed zero reference it does not hold).

A method here is ``fn(network, x, classes, reference) -> relevance (n, d)``; the core's
:func:`~lrp_invariants.deeplift.deeplift_rescale` is one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from ..bounds import Ball, ForwardBalls, Precision, agreement_tolerance
from ..cases import ReferenceCase
from ..network import Array, Network
from .comparison import Comparison

ReferenceMethod = Callable[[Network, Array, ArrayLike, Array], Array]
"""``fn(network, x, classes, reference) -> relevance``, the reference an (n, d) batch."""


def _selected(ball: Ball, classes: Array) -> Ball:
    rows = np.arange(ball.mid.shape[0])
    return Ball(ball.mid[rows, classes], ball.rad[rows, classes])


def completeness(
    relevance: Array,
    forward: ForwardBalls,
    reference: ForwardBalls,
    enclosure: Ball,
    classes: Array,
    p: Precision,
) -> Comparison:
    """``Σ R == f(x) - f(x0)``: exact for DeepLIFT and integrated gradients. Each ``R_i`` lies
    within its enclosure, as does the exact ``R_i``, so the sums differ by at most twice the
    radii; the logits' balls bound ``f``; the sum and the difference are rounded once each."""
    R = np.asarray(relevance, dtype=np.float64)
    f, f0 = _selected(forward.z[-1], classes), _selected(reference.z[-1], classes)
    difference = f.mid - f0.mid
    finite = np.where(np.isfinite(R), np.abs(R), 0.0)
    k = R.shape[1] + 2
    tolerance = (
        2 * enclosure.rad.sum(axis=1)
        + f.rad
        + f0.rad
        + p.gamma(k) * (finite.sum(axis=1) + np.abs(f.mid) + np.abs(f0.mid))
    )
    return Comparison("sum of relevance == f(x) - f(x0)", R.sum(axis=1), difference, tolerance)


def deeplift_completeness(
    method: ReferenceMethod, reference_case: ReferenceCase
) -> list[Comparison]:
    """DeepLIFT-Rescale's relevance of net1 at (x1, x0) adds up to ``f(x1) - f(x0)``."""
    case = reference_case.case
    R = method(case.net1, case.x1, case.classes, reference_case.x0)
    return [
        completeness(
            R,
            case.balls1,
            reference_case.balls0,
            reference_case.deeplift(False),
            case.classes,
            case.precision,
        )
    ]


def deeplift_shifted_reference_invariance(
    method: ReferenceMethod, reference_case: ReferenceCase
) -> list[Comparison]:
    """``R(net2, x1 + m, x0 + m) == R(net1, x1, x0)``: with the reference moved by the same
    shift, every pre-activation of both passes is net1's, and so is every multiplier."""
    case = reference_case.case
    R1 = method(case.net1, case.x1, case.classes, reference_case.x0)
    R2 = method(case.net2, case.x2, case.classes, reference_case.x0_shifted)
    tolerance = agreement_tolerance(reference_case.deeplift(True), reference_case.deeplift(False))
    return [
        Comparison(
            "relevance(net2, x1 + m, x0 + m) == relevance(net1, x1, x0)",
            R2,
            R1,
            tolerance,
            "the method's own relevance on net1",
        )
    ]
