"""Validation shared by the CNN layers: frozen private copies, dtypes, integer geometry."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array, _check_finite, _check_real_floating, _frozen


def frozen_parameter(value: ArrayLike, name: str) -> Array:
    """A read-only private copy of a real floating, finite parameter array."""
    array = np.asarray(value)
    _check_real_floating(array, name)
    _check_finite(array, name)
    return _frozen(array)


def same_dtype(name: str, array: Array, reference: Array, reference_name: str) -> None:
    if array.dtype != reference.dtype:
        raise TypeError(
            f"{name} has dtype {array.dtype} but {reference_name} has dtype {reference.dtype}; "
            "use one dtype"
        )


def as_tuple(value: int | Sequence[int], dims: int, name: str, minimum: int) -> tuple[int, ...]:
    """One integer per spatial axis (one given for all), each at least ``minimum``."""
    values = (value,) * dims if isinstance(value, int | np.integer) else tuple(value)
    if len(values) != dims:
        raise ValueError(f"{name} needs {dims} values, one per spatial axis; got {value!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise TypeError(f"{name} must be integers; got {value!r}")
        if v < minimum:
            raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return tuple(int(v) for v in values)


def as_padding(
    value: int | Sequence[int] | Sequence[tuple[int, int]], dims: int
) -> tuple[tuple[int, int], ...]:
    """Padding per spatial axis as ``(before, after)``: one int for all sides, one int per axis
    (both sides), or one pair per axis."""
    if isinstance(value, int | np.integer):
        pairs: list[object] = [(value, value)] * dims
    else:
        pairs = list(value)
    if len(pairs) != dims:
        raise ValueError(f"padding needs {dims} entries, one per spatial axis; got {value!r}")
    result = []
    for pair in pairs:
        both = (pair, pair) if isinstance(pair, int | np.integer) else tuple(pair)  # type: ignore[arg-type]
        if len(both) != 2 or not all(
            isinstance(p, int | np.integer) and not isinstance(p, bool) for p in both
        ):
            raise ValueError(f"padding must be ints or (before, after) pairs; got {value!r}")
        if min(both) < 0:
            raise ValueError(f"padding must be >= 0; got {value!r}")
        result.append((int(both[0]), int(both[1])))
    return tuple(result)


def describe(a: np.ndarray) -> str:
    return f"shape {a.shape} and dtype {a.dtype}"
