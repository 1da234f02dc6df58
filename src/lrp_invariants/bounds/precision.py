"""The arithmetic being bounded: its unit roundoff, its underflow (gradual, or flush-to-zero),
and the grain of the numbers it computes with (:class:`Precision`); and the float64 arithmetic
the radii themselves are computed in (:data:`RADIUS_U`, :data:`RADIUS_ETA`).

The balls of :mod:`.balls` carry no precision of their own: every operation takes the
:class:`Precision` of the computation it bounds, so a float32 network gets float32 radii.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array

F64 = Array  # ball arithmetic runs in float64; the alias keeps numpy's typing simple


RADIUS_ETA = float(np.finfo(np.float64).smallest_subnormal)
"""The absolute error of one float64 operation on a radius whose result is subnormal."""

RADIUS_U = float(np.finfo(np.float64).eps) / 2
"""The unit roundoff of the float64 arithmetic that bounds are computed in."""


@dataclass(frozen=True)
class Precision:
    """The unit roundoff ``u`` and underflow unit ``eta`` of the arithmetic being bounded.

    Two arithmetic models (``flush``): IEEE 754's gradual underflow, the default, where a
    product or quotient below the smallest normal number ``tiny`` rounds to the subnormal grid
    and loses at most ``eta`` = the smallest subnormal, while sums of subnormals are exact; and
    flush-to-zero with denormals-are-zero (TensorFlow on CPU, fast-math GPU kernels, torch after
    ``set_flush_denormal(True)``), where every result below ``tiny`` becomes 0 and every operand
    below ``tiny`` is read as 0. There an operation loses up to ``eta`` = ``tiny``, sums too, and
    a subnormal input, weight or bias counts as lost before any operation.
    """

    u: float
    eta: float
    tiny: float  # the smallest normal number: below it, products lose relative accuracy
    flush: bool = False

    @classmethod
    def of(cls, dtype: np.dtype[np.floating] | type[np.floating], flush: bool = False) -> Precision:
        info = np.finfo(dtype)
        eta = float(info.tiny) if flush else float(info.smallest_subnormal)
        return cls(u=float(info.eps) / 2, eta=eta, tiny=float(info.tiny), flush=flush)

    def flushed(self, values: F64) -> F64:
        """What a flush-to-zero reading of ``values`` loses: ``|v|`` where ``0 < |v| < tiny``
        (nothing under gradual underflow)."""
        magnitude = np.abs(values)
        if not self.flush:
            return np.zeros_like(magnitude)
        return np.where(magnitude < self.tiny, magnitude, 0.0)

    def gamma(self, k: int) -> float:
        """γ_k = k u / (1 - k u): the relative error bound of a sum of k terms."""
        ku = k * self.u
        if ku >= 0.5:
            raise ValueError(f"sums of {k} terms are too long to bound at u = {self.u}")
        return ku / (1 - ku)

    def widen(self, rad: F64, k: int) -> F64:
        """Cover the rounding of a radius computed by at most ``k`` operations (zero stays zero).

        Radii are computed in float64 whatever the arithmetic bounded: each of the ``k + 2``
        operations (with the widening's own) errs by a factor ``1 ± u`` or, where its result is
        subnormal, by up to half of float64's smallest subnormal; both are covered outward."""
        return np.where(rad > 0, rad * (1 + 2 * self.gamma(k + 2)) + (k + 2) * RADIUS_ETA, rad)

    def grain(self, values: ArrayLike) -> float:
        """The largest power of two that every number in ``values`` is a multiple of: the least
        of their lowest set bits (inf if all are zero). Weights and inputs with short mantissas
        (``1.0``, ``0.75``) sit on a far coarser grid than their ulp.

        Sums and products of floating-point numbers stay on their grid: a correctly rounded sum
        of multiples of ``g`` is a multiple of ``g``, a product of multiples of ``g1`` and ``g2``
        a multiple of ``max(g1 g2, finest)`` (:attr:`finest`, the smallest subnormal). A computed
        value that is not zero is therefore at least its grain in magnitude, however much the
        sum cancelled: a pre-activation within rounding of zero is 0 or far above the subnormal
        range (see :func:`.balls.association_slack`). Under flush-to-zero, subnormal values are read
        (and results flushed) as 0, which is a multiple of every grain; every nonzero result is
        also at least the smallest normal number, which ``eta`` then is.
        """
        magnitude = np.abs(np.asarray(values, dtype=np.float64))
        read = magnitude >= self.tiny if self.flush else magnitude > 0
        nonzero = magnitude[read & (magnitude > 0)]
        if not nonzero.size:
            return math.inf
        # x = m 2**e with 0.5 <= m < 1: m 2**53 is an integer (exact), whose lowest set bit
        # times 2**(e - 53) is x's
        mantissa, exponent = np.frexp(nonzero)
        integer = np.ldexp(mantissa, 53).astype(np.int64)
        lowest = np.ldexp((integer & -integer).astype(np.float64), exponent - 53)
        return max(float(lowest.min()), self.finest)

    def product_grain(self, *grains: float) -> float:
        """The grain of a product of numbers with these grains."""
        if math.inf in grains:
            return math.inf
        return max(float(np.prod(grains)), self.finest)

    @property
    def finest(self) -> float:
        """The smallest subnormal number of the precision: every number is a multiple of it. A
        grain is floored here, not at ``eta``: under flush-to-zero ``eta`` is the smallest
        normal number, which a computed value is at least in magnitude but not a multiple of
        (1.5 x tiny is not), and a grain must stay a grid for the products built on it."""
        return 2 * self.u * self.tiny
