"""Every strategy refuses a bad argument when it is called, before anything is drawn, with a
message that names the argument and the value it got (after Hypothesis' own table of bad calls,
``tests/cover/test_argument_validation.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis.errors import InvalidArgument

from lrp_invariants import strategies as lst

from .helpers import hand_network

NET = hand_network()

BAD_CALLS: list[tuple[Callable[..., Any], dict[str, Any], str]] = [
    (lst.networks, {"min_depth": 0}, "(min_depth, max_depth)=(0, 3)"),
    (lst.networks, {"min_depth": 3, "max_depth": 2}, "(min_depth, max_depth)=(3, 2)"),
    (lst.networks, {"max_depth": 9}, "(min_depth, max_depth)=(1, 9)"),
    (lst.networks, {"min_width": 0}, "(min_width, max_width)=(0, 4)"),
    (lst.networks, {"max_width": 65}, "(min_width, max_width)=(1, 65)"),
    (lst.networks, {"min_width": 1.5}, "(min_width, max_width)=(1.5, 4)"),
    (lst.networks, {"n_inputs": 0}, "n_inputs=0"),
    (lst.networks, {"n_outputs": "2"}, "n_outputs='2'"),
    (lst.networks, {"dtype": np.float16}, "dtype="),
    (lst.networks, {"dtype": "int64"}, "dtype='int64'"),
    (lst.networks, {"scale_exponents": (-600, 600)}, "scale_exponents=(-600, 600)"),
    (lst.networks, {"scale_exponents": (4, -4)}, "scale_exponents=(4, -4)"),
    (lst.networks, {"dtype": np.float32, "scale_exponents": (-40, 40)}, "overflow float32"),
    (lst.networks, {"input_bound": 0}, "input_bound=0"),
    (lst.networks, {"input_bound": float("nan")}, "input_bound=nan"),
    (lst.inputs, {"network": NET, "min_batch": 0}, "(min_batch, max_batch)=(0, 3)"),
    (lst.inputs, {"network": NET, "max_batch": 257}, "(min_batch, max_batch)=(1, 257)"),
    (lst.inputs, {"network": NET, "bound": -1.0}, "bound=-1.0"),
    (lst.classes, {"network": NET, "n": -1}, "n=-1"),
    (lst.shifts, {"n_features": 0}, "n_features=0"),
    (lst.shifts, {"n_features": 3, "kinds": ()}, "kinds=()"),
    (lst.shifts, {"n_features": 3, "kinds": ("diagonal",)}, "kinds=('diagonal',)"),
    (lst.shifts, {"n_features": 3, "kinds": ("pattern",)}, "no batch x"),
    (lst.shifts, {"n_features": 3, "dtype": np.int32}, "dtype="),
    (lst.seed_cases, {"max_batch": 0}, "max_batch=0"),
    (lst.seed_cases, {"max_batch": 300}, "max_batch=300"),
    (lst.seed_cases, {"max_depth": 0}, "(min_depth, max_depth)=(1, 0)"),
    (lst.seed_cases, {"max_width": 100}, "(min_width, max_width)=(1, 100)"),
    (lst.seed_cases, {"kinds": ("constant", "sideways")}, "kinds=('constant', 'sideways')"),
    (lst.seed_cases, {"dtype": np.complex128}, "dtype="),
]


@pytest.mark.parametrize(
    ("strategy", "kwargs", "named"),
    BAD_CALLS,
    ids=[f"{fn.__name__}-{'-'.join(map(str, kw))}" for fn, kw, _ in BAD_CALLS],
)
def test_a_bad_argument_is_refused_at_call_time_with_its_name_and_value(
    strategy: Callable[..., Any], kwargs: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        strategy(**kwargs)  # no .example(): the call itself must refuse
    assert named in str(refused.value)


def test_seed_cases_names_only_the_arguments_its_caller_passed() -> None:
    with pytest.raises(InvalidArgument) as refused:
        lst.seed_cases(max_batch=0)
    assert "(1, " not in str(refused.value)
