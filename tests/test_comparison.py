"""A comparison against its bound: an infinite tolerance says nothing (the exact value is not
bounded there, so not even NaN or inf is a defect); a finite one fails them."""

from __future__ import annotations

import numpy as np
import pytest

from lrp_invariants.invariants import Comparison


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1e300])
def test_an_infinite_tolerance_passes_any_value(value: float) -> None:
    comparison = Comparison("x", np.array([value]), np.array([0.0]), np.array([np.inf]))
    assert comparison.holds() and comparison.non_finite_failure() is None


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_finite_tolerance_fails_nan_and_inf_as_non_finite(value: float) -> None:
    comparison = Comparison("x", np.array([value]), np.array([0.0]), np.array([1.0]))
    assert not comparison.holds()
    assert comparison.non_finite_failure() is not None


@pytest.mark.parametrize("value", [0.0, 1.0, np.nan])
def test_a_nan_tolerance_bounds_nothing_and_passes_like_an_infinite_one(value: float) -> None:
    # an enclosure's inf * 0 gives a NaN radius: no bound, never a failure (the CNN gate met
    # one in batch-consistency, error 0 against tolerance NaN)
    comparison = Comparison(
        "x", np.array([value, 1.0]), np.array([0.0, 1.0]), np.array([np.nan, 0])
    )
    assert comparison.holds() and comparison.vacuous() == 1
    assert comparison.worst_ratio() == 0.0


def test_equal_infinities_are_no_error() -> None:
    comparison = Comparison("x", np.array([np.inf]), np.array([np.inf]), np.array([0.0]))
    assert comparison.holds()


def test_an_error_beyond_the_float_range_reports_an_infinite_ratio() -> None:
    comparison = Comparison("x", np.array([np.inf]), np.array([0.0]), np.array([1.0]))
    assert comparison.worst_ratio() == np.inf
