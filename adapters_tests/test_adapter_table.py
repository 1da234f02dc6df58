"""The adapters' table: every Zennit and Captum configuration is one row, and each row is a
target named after it that claims a method the gate knows. Needs neither torch nor the
libraries: they are imported only when a target runs."""

from __future__ import annotations

import inspect
from fractions import Fraction

import numpy as np
import pytest

from lrp_invariants.adapters import captum_adapter, captum_attributions, zennit_adapter
from lrp_invariants.adapters.captum_adapter import captum_relevance
from lrp_invariants.adapters.table import (
    CONFIGURATIONS,
    SMALLEST_SUBNORMAL,
    Configuration,
    FromInput,
    Part,
    configuration,
)
from lrp_invariants.adapters.zennit_adapter import zennit_relevance
from lrp_invariants.methods import resolve_method

MODULES = (zennit_adapter, captum_adapter, captum_attributions)
ROWS = [pytest.param(row, id=row.name) for row in CONFIGURATIONS]


@pytest.mark.parametrize("row", ROWS)
def test_every_row_claims_a_method_the_gate_resolves(row: Configuration) -> None:
    resolve_method(row.claim)


def test_every_row_is_a_target_of_exactly_one_module() -> None:
    names = [name for module in MODULES for name in module.TARGETS]
    assert sorted(names) == sorted(row.name for row in CONFIGURATIONS)


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__.split(".")[-1])
def test_a_modules_targets_are_its_attributes_named_after_their_rows(module: object) -> None:
    for name, target in module.TARGETS.items():  # type: ignore[attr-defined]
        assert getattr(module, name) is target
        assert target.__name__ == name
        assert name in dir(module)


def test_a_name_that_is_no_row_is_no_attribute() -> None:
    with pytest.raises(AttributeError, match="zennit_epsilon_typo"):
        zennit_adapter.zennit_epsilon_typo  # noqa: B018


@pytest.mark.parametrize("row", ROWS)
def test_a_target_states_its_claim_and_takes_a_baseline_exactly_when_its_row_does(
    row: Configuration,
) -> None:
    target = next(module.TARGETS[row.name] for module in MODULES if row.name in module.TARGETS)
    assert f"``{row.claim}``" in (target.__doc__ or "")
    positional = [
        p.name
        for p in inspect.signature(target).parameters.values()
        if p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    expected = ["weights", "biases", "x", "classes"] + (["baseline"] if row.baseline else [])
    assert positional == expected


def test_a_row_is_found_by_its_name_and_an_unknown_name_lists_the_known_ones() -> None:
    assert configuration("zennit_epsilon").claim == "lrp-epsilon"
    with pytest.raises(KeyError, match="known: zennit_lrp_0"):
        configuration("zennit_epsilon_typo")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"library": "zennit"}, "a rule or a composite"),
        ({"library": "zennit", "first": Part("m", "F")}, "a rule or a composite"),
        ({"library": "zennit", "rule": Part("m", "R"), "baseline": True}, "Captum's"),
        ({"library": "captum", "rule": Part("m", "R")}, "attribution class"),
        ({"library": "captum", "attribution": Part("m", "A"), "first": Part("m", "F")}, "Zennit"),
        ({"library": "tensorflow", "rule": Part("m", "R")}, "unknown library"),
    ],
    ids=["nothing", "first-only", "zennit-baseline", "captum-no-class", "captum-first", "other"],
)
def test_an_inconsistent_row_is_refused_when_written(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Configuration(name="row", claim="lrp-0", summary="", **fields)


def test_a_part_is_built_with_its_parameters_those_of_the_input_computed_from_it() -> None:
    size = FromInput(lambda x: int(x.size), "the batch's size")
    part = Part("fractions", "Fraction", {"denominator": size})
    assert part.build(np.ones(3), 2) == Fraction(2, 3)
    batch = np.ones((1, 2), np.float32)
    assert SMALLEST_SUBNORMAL.compute(batch) == float(np.finfo(np.float32).smallest_subnormal)


def test_each_librarys_function_refuses_another_librarys_row_before_any_work() -> None:
    args = ([np.ones((2, 1))], [np.zeros(1)], np.ones((1, 2)), np.zeros(1, int))
    with pytest.raises(ValueError, match="not Zennit's"):
        zennit_relevance(configuration("captum_epsilon"), *args)
    with pytest.raises(ValueError, match="not Captum's"):
        captum_relevance(configuration("zennit_epsilon"), *args)
    with pytest.raises(ValueError, match="takes no baseline"):
        captum_relevance(configuration("captum_saliency"), *args, np.zeros((1, 2)))
