"""Every tolerance in lrp-invariants, derived from floating-point error bounds.

The invariants compare two floating-point computations that are equal in exact arithmetic
(net1 at ``x1`` against net2 at ``x1 + m``, a batch against its samples, ...). How far two correct
implementations may drift apart depends on the sums involved, so the tolerance is computed, not
chosen: this module evaluates the same quantities in *ball arithmetic* (midpoint-radius intervals,
Rump 1999) and takes the radii as the tolerance.

The rounding model (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., ch. 2-3):
with unit roundoff ``u`` (2**-53 for float64, 2**-24 for float32) every elementary operation is
exact up to a factor ``1 + δ``, ``|δ| <= u``, plus an absolute ``η`` (the smallest subnormal) when
a product underflows; a sum of ``k`` terms computed in *any* order, with or without fused
multiply-adds, is off by at most ``γ_k Σ|terms|`` with ``γ_k = k u / (1 - k u)``.

"A correct evaluation" means *any* evaluation of the same formula with correctly rounded
operations: any order of every sum, any association of every product and quotient (shares
first or relevance first, ``(a w) s`` or ``a (w s)``, a Jacobian from the input up or a gradient
from the output down), fused multiply-adds, and gradual underflow on the way. Two facts make
the last one bounded (:mod:`lrp_invariants.bounds.balls`, "Underflow in a product whose
association is not known"): an intermediate product that falls below the smallest normal
number loses at most ``η / 2``, multiplied by whatever it meets later, and never more than
doubles; and a computed value that is not zero is at least its *grain*, the ulp grid of the
numbers it was computed from (:meth:`Precision.grain`), so a ReLU within rounding of zero in
the normal range is 0 or far from underflow.

A :class:`Ball` ``(mid, rad)`` guarantees that both the exact value of its quantity and every
value a correct floating-point evaluation of it can produce lie within ``rad`` of ``mid``. Two
evaluations ``A`` and ``B`` of quantities whose exact values are equal therefore satisfy
``|A - B| <= 2 (rad_A + rad_B)``: :func:`agreement_tolerance`. The radii grow where the problem is
ill-conditioned — cancellation in a pre-activation, a denominator near zero, a ReLU whose input
is within rounding of zero (a *kink*, where two correct evaluations may take different branches)
— and stay at a few ulps of ``Σ|terms|`` elsewhere. A kink makes a comparison vacuous for the
values it touches instead of raising a false alarm; :func:`count_kinks` reports how often.

Three kinds of tolerance come out of this one module:

* agreement of two computations of the same exact value (:func:`agreement_tolerance`);
* conservation of relevance within one computation (:func:`conservation_tolerance`): the sum of a
  layer's sources and sinks equals its output relevance up to ``γ_K`` times the sum of the
  absolute values of every term added on the way (``mass``), see :func:`conservation_tolerance`;
* probabilities against scikit-learn's (:func:`probability_tolerance`).

All ball arithmetic runs in float64; ``Precision`` carries the unit roundoff of the arithmetic
being bounded, so a float32 network gets float32 radii.
"""

from .balls import Ball, Precision, add, mul, total
from .forward import (
    ForwardBalls,
    compensated_bias,
    count_kinks,
    enclose_forward,
    enclose_gradient,
    gradient_underflow,
    shifted_input,
    trace_balls,
)
from .relevance import LayerBalls, enclose_relevance
from .tolerances import agreement_tolerance, conservation_tolerance, probability_tolerance

__all__ = [
    "Ball",
    "ForwardBalls",
    "LayerBalls",
    "Precision",
    "add",
    "agreement_tolerance",
    "compensated_bias",
    "conservation_tolerance",
    "count_kinks",
    "enclose_forward",
    "enclose_gradient",
    "enclose_relevance",
    "gradient_underflow",
    "mul",
    "probability_tolerance",
    "shifted_input",
    "total",
    "trace_balls",
]
