"""One comparison of two computations against an error bound, and the failure it raises.

A :class:`Comparison` holds ``actual``, ``expected`` and a per-element ``tolerance`` from
:mod:`lrp_invariants.bounds`; :func:`require` turns a list of them into an assertion whose
message names the worst element against its bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..network import Array


class InvariantViolation(AssertionError):
    """An invariant does not hold: the message names it and shows the worst value."""


@dataclass(frozen=True, eq=False)
class Comparison:
    """``actual == expected`` elementwise, within ``tolerance`` (an error bound, per element)."""

    claim: str
    actual: Array
    expected: Array
    tolerance: Array
    expected_is: str | None = None  # what "expected" is, where it is not a reference value

    def __post_init__(self) -> None:
        # a NaN bound (an enclosure's infinite radius met a zero: inf * 0) bounds nothing: it
        # reads as inf, vacuous, never as a failure of a target that matched exactly
        tolerance = np.asarray(self.tolerance, np.float64)
        if np.any(np.isnan(tolerance)):
            object.__setattr__(self, "tolerance", np.where(np.isnan(tolerance), np.inf, tolerance))

    @cached_property
    def error(self) -> Array:
        """``|actual - expected|``, 0 where they are equal (also two equal infinities)."""
        actual = np.asarray(self.actual, np.float64)
        expected = np.asarray(self.expected, np.float64)
        with np.errstate(invalid="ignore"):
            return np.where(actual == expected, 0.0, np.abs(actual - expected))

    @cached_property
    def failing(self) -> NDArray[np.bool_]:
        """Elements out of tolerance. An infinite tolerance passes anything (the exact value is
        not bounded there, so not even an overflow to inf or NaN is a defect); a finite one
        fails NaN."""
        error = self.error
        tolerance = np.broadcast_to(self.tolerance, error.shape)
        with np.errstate(invalid="ignore"):
            return ~(error <= tolerance) & ~np.isinf(tolerance)

    def non_finite_failure(self) -> tuple[tuple[int, ...], float] | None:
        """A failing element where ``actual`` is NaN or inf (its index and value), if any: the
        target returned a non-number where the exact value is bounded."""
        actual = np.broadcast_to(np.asarray(self.actual, np.float64), self.error.shape)
        bad = np.argwhere(self.failing & ~np.isfinite(actual))
        if not bad.size:
            return None
        index = tuple(int(i) for i in bad[0])
        return index, float(actual[index])

    def holds(self) -> bool:
        return not bool(np.any(self.failing))

    def worst_ratio(self) -> float:
        """The largest error / tolerance over elements with a finite tolerance (0 if none)."""
        error, tol = self.error, np.broadcast_to(self.tolerance, self.error.shape)
        finite = np.isfinite(tol)
        if not np.any(finite):
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(error[finite] == 0, 0.0, error[finite] / tol[finite])
        return float(np.nan_to_num(ratio, nan=np.inf, posinf=np.inf).max())

    def compared(self) -> int:
        """How many values were compared (the broadcast shape of ``actual`` and ``expected``)."""
        return int(self.error.size)

    def vacuous(self) -> int:
        """How many elements had no finite tolerance (a kink or an unbounded ratio)."""
        return int(
            np.count_nonzero(~np.isfinite(np.broadcast_to(self.tolerance, self.error.shape)))
        )

    def _worst_failing(self) -> tuple[int, ...]:
        error = self.error
        tol = np.broadcast_to(self.tolerance, error.shape)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            badness = np.where(
                self.failing, np.nan_to_num(error / tol, nan=np.inf, posinf=np.inf), -1.0
            )
        return tuple(int(i) for i in np.unravel_index(int(np.argmax(badness)), error.shape))

    def size_of_defect(self) -> tuple[float, float]:
        """At the worst failing element: the error in multiples of its tolerance, and as a
        fraction of the expected value's magnitude (inf where that is 0)."""
        index = self._worst_failing()
        error = float(self.error[index])
        tol = float(np.broadcast_to(self.tolerance, self.error.shape)[index])
        expected = abs(float(np.asarray(self.expected, np.float64)[index]))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = math.inf if math.isnan(error) else (error / tol if tol else math.inf)
            relative = math.inf if math.isnan(error) or not expected else error / expected
        return ratio, relative

    def describe(self) -> str:
        error = self.error
        tol = np.broadcast_to(self.tolerance, error.shape)
        failing = self.failing
        if not np.any(failing):
            return f"{self.claim}: holds (worst error {self.worst_ratio():.3g} x tolerance)"
        non_finite = self.non_finite_failure()
        if non_finite is not None:
            index, value = non_finite
            return (
                f"{self.claim}: the target returned {value} at index {index} where the exact "
                "value is bounded"
            )
        index = self._worst_failing()
        where = index
        actual = np.broadcast_to(np.asarray(self.actual), error.shape)[index]
        expected = np.broadcast_to(np.asarray(self.expected), error.shape)[index]
        return (
            f"{self.claim}: {int(np.count_nonzero(failing))} of {error.size} values out of "
            f"tolerance; worst at index {where}: actual {plain(actual)}, expected "
            f"{plain(expected)}"
            f"{f' ({self.expected_is})' if self.expected_is else ''}, "
            f"|error| {error[index]:.6g} > tolerance {tol[index]:.6g}"
        )


def plain(value: Any) -> str:
    """A number as Python writes it (``2.0``, ``-3``, ``inf``), not numpy 2's ``np.float64(2.0)``:
    ``float()`` of a float's text gives the value back exactly (a float32's too, widened)."""
    number = np.asarray(value)
    if number.dtype.kind in "iu":
        return repr(int(number))
    if number.dtype.kind == "b":
        return repr(bool(number))
    return repr(float(number))


def require(sentence: str, comparisons: Sequence[Comparison]) -> list[Comparison]:
    """Raise :class:`InvariantViolation` with ``sentence`` unless every comparison holds."""
    failed = [c for c in comparisons if not c.holds()]
    if failed:
        details = "\n  ".join(c.describe() for c in failed)
        raise InvariantViolation(f"{sentence}\n  {details}")
    return list(comparisons)
