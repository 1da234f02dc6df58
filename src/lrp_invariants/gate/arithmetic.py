"""The arithmetic and precision a target is held to: the models (IEEE gradual underflow or
flush-to-zero), the dtypes the gate draws in, whether a failure is only a flushed subnormal,
and a probe that asks a target whether it flushes."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..cases import SeedCase
from ..defaults import ARITHMETICS, DTYPES
from ..invariants import InvariantViolation, Property, TargetMisbehaved
from ..methods import Method, Target, resolve_method
from ..network import Array
from .draws import Replayer
from .timeout import TargetHung


def check_dtype(dtype: Any) -> np.dtype[Any]:
    """``dtype`` as a numpy dtype, or ValueError naming the precisions the gate draws in."""
    try:
        chosen = np.dtype(dtype)
    except TypeError:
        chosen = None
    if chosen is None or chosen.name not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    return chosen


def check_arithmetic(arithmetic: Any) -> bool:
    """Whether ``arithmetic`` flushes subnormal numbers; ValueError naming the models."""
    if not isinstance(arithmetic, str) or arithmetic not in ARITHMETICS:
        raise ValueError(
            f"unknown arithmetic {arithmetic!r}; choose one of {', '.join(ARITHMETICS)}"
        )
    return arithmetic == "ftz"


def holds_when_flushing(
    prop: Property, case: SeedCase, draws: list[Any], target: Target, method: Method
) -> bool:
    """Whether the failing case holds under flush-to-zero arithmetic: then it differs only
    where values are subnormal."""
    try:
        comparisons = prop.check(case.under(True), target, method, Replayer(draws))
    except (InvariantViolation, TargetMisbehaved, TargetHung, ValueError):
        return False
    return all(c.holds() for c in comparisons)


def _probes(dtype: type[np.floating[Any]]) -> Iterator[tuple[list[Array], list[Array], Array]]:
    """1-1-1 networks fed a subnormal input whose unit is on under gradual underflow and off
    once the input is flushed: weights of 1 first, then weights that lift the pre-activation to
    a normal number and the logit far above any stabiliser (where ε would swallow the first)."""
    tiny = float(np.finfo(dtype).tiny)
    zero = [np.zeros(1, dtype), np.zeros(1, dtype)]
    x = np.full((1, 1), tiny / 4, dtype)
    big = 2.0 ** (np.finfo(dtype).maxexp - 24)  # lifts a subnormal input to a normal number
    for w0, w1 in ((1.0, 1.0), (big, 2.0 ** (np.finfo(dtype).maxexp // 5))):
        yield [np.full((1, 1), w0, dtype), np.full((1, 1), w1, dtype)], zero, x


def probe_flushing(
    target: Target, method: str | Method = "lrp-0", dtype: Any = np.float64
) -> bool | None:
    """Call ``target`` on a network fed a subnormal input, where ``method``'s reference gives a
    nonzero relevance: a target that computes with gradual underflow returns a nonzero value
    too, one that flushes returns 0. None when the probe says nothing (the reference is 0 or
    not finite on every probe, or the target raised or returned no number)."""
    chosen = resolve_method(method)
    reference = chosen.reference
    classes: Array = np.zeros(1, np.intp)  # (the protocol types classes as its other arrays)
    for weights, biases, x in _probes(np.dtype(dtype).type):
        # a given baseline is zeros here: the probe's input is the subnormal one
        # (and a pattern method's data, zeros: no pattern to learn, so the probe says nothing)
        extra = [np.zeros_like(x) for _ in chosen.extra_arguments]
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            expected = np.asarray(reference(weights, biases, x, classes, *extra), dtype=np.float64)
            if not (np.isfinite(expected).all() and expected[0, 0] != 0):
                continue
            try:
                result = np.asarray(target(weights, biases, x, classes, *extra), dtype=np.float64)
            except (Exception, TargetHung):  # a probe never fails the gate: the properties do
                return None
        if result.shape != (1, 1) or not np.isfinite(result).all():
            return None
        return bool(result[0, 0] == 0)
    return None
