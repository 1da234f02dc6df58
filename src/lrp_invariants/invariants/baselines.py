"""Invariants of the methods that explain against a reference point ``x0`` (DeepLIFT-Rescale,
integrated gradients): completeness, and input invariance when the reference moves with the
shift (Kindermans et al.: with a reference that stays put, a zero baseline, it does not hold).

A method here is ``fn(network, x, classes, reference) -> relevance (n, d)``, the reference an
(n, d) batch; the core's :func:`~lrp_invariants.deeplift.deeplift_rescale` and
:func:`~lrp_invariants.integrated.integrated_gradients` are two. ``name`` says which exact
value the relevance is held to: ``deeplift-rescale`` or ``integrated-gradients``.
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
"""``fn(network, x, classes, reference) -> relevance``."""

REFERENCE_METHODS = ("deeplift-rescale", "integrated-gradients")


def _selected(ball: Ball, classes: Array) -> Ball:
    rows = np.arange(ball.mid.shape[0])
    return Ball(ball.mid[rows, classes], ball.rad[rows, classes])


def completeness_comparison(
    relevance: Array,
    forward: ForwardBalls,
    reference: ForwardBalls,
    enclosure: Ball,
    classes: Array,
    p: Precision,
) -> Comparison:
    """``Σ R == f(x) - f(x0)``, exact for DeepLIFT and integrated gradients. Each ``R_i`` and
    the exact one lie in the enclosure, so the sums differ by at most twice its radii; the
    logits' balls bound ``f``; the sum and the difference are rounded once each."""
    R = np.asarray(relevance, dtype=np.float64)
    f, f0 = _selected(forward.z[-1], classes), _selected(reference.z[-1], classes)
    finite = np.where(np.isfinite(R), np.abs(R), 0.0)
    k = R.shape[1] + 2
    with np.errstate(over="ignore"):
        tolerance = (
            2 * enclosure.rad.sum(axis=1)
            + f.rad
            + f0.rad
            + p.gamma(k) * (finite.sum(axis=1) + np.abs(f.mid) + np.abs(f0.mid))
        )
    return Comparison("sum of relevance == f(x) - f(x0)", R.sum(axis=1), f.mid - f0.mid, tolerance)


def completeness(
    method: ReferenceMethod, name: str, reference_case: ReferenceCase
) -> list[Comparison]:
    """The relevance of net1 at (x1, x0) adds up to ``f(x1) - f(x0)``."""
    case = reference_case.case
    network, x, x0 = reference_case.arrays("net1")
    forward, reference = reference_case.passes("net1")
    R = method(network, x, case.classes, x0)
    enclosure = reference_case.enclosure(name, "net1")
    return [completeness_comparison(R, forward, reference, enclosure, case.classes, case.precision)]


def shifted_reference_invariance(
    method: ReferenceMethod, name: str, reference_case: ReferenceCase
) -> list[Comparison]:
    """``R(net2, x1 + m, x0 + m) == R(net1, x1, x0)``: with the reference moved by the same
    shift, every point of both computations (the path, both passes) is net1's."""
    case = reference_case.case
    R1 = method(*reference_case.arrays("net1")[:2], case.classes, reference_case.x0)
    network2, x2, x0_shifted = reference_case.arrays("net2")
    R2 = method(network2, x2, case.classes, x0_shifted)
    tolerance = agreement_tolerance(
        reference_case.enclosure(name, "net2"), reference_case.enclosure(name, "net1")
    )
    return [
        Comparison(
            "relevance(net2, x1 + m, x0 + m) == relevance(net1, x1, x0)",
            R2,
            R1,
            tolerance,
            "the method's own relevance on net1",
        )
    ]


def unmoved_reference_difference(
    method: ReferenceMethod, name: str, reference_case: ReferenceCase
) -> Comparison:
    """``R(net2, x1 + m, x0) == R(net1, x1, x0)``, with the reference left where it was: not
    an invariant (Kindermans et al.), the comparison that shows it."""
    case = reference_case.case
    R1 = method(case.net1, case.x1, case.classes, reference_case.x0)
    R2 = method(case.net2, case.x2, case.classes, reference_case.x0)
    tolerance = agreement_tolerance(
        reference_case.enclosure(name, "net2-unmoved"), reference_case.enclosure(name, "net1")
    )
    return Comparison("relevance(net2, x1 + m, x0) == relevance(net1, x1, x0)", R2, R1, tolerance)
