"""The gate's options: one frozen object, validated before any work, that ``check``,
``run_gate``, ``run_property``, the command line and the pytest plugin all read."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lrp_invariants.gate as gate_package
from lrp_invariants import defaults, targets
from lrp_invariants.cli import _parser
from lrp_invariants.gate import (
    ARITHMETICS,
    DTYPES,
    OPTION_NAMES,
    GateKeywords,
    GateOptions,
    InvalidOption,
    default_cases,
    gate_options,
    run_gate,
    run_property,
)
from lrp_invariants.invariants import PROPERTIES
from lrp_invariants.methods import METHODS
from lrp_invariants.rules import BIAS_CONVENTIONS


def test_the_default_options_are_the_documented_defaults() -> None:
    options = GateOptions()
    assert options.examples == defaults.DEFAULT_EXAMPLES
    assert options.time_limit == defaults.DEFAULT_TIME_LIMIT
    assert (options.arithmetic, options.dtype) == ("ieee", "float64")
    assert options.shrink and options.reduce and options.deterministic and not options.guided


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"examples": 0}, "examples must be a positive integer; got 0"),
        ({"examples": 2.5}, "examples must be a positive integer; got 2.5"),
        ({"seed": "one"}, "seed='one': pass an integer"),
        ({"properties": "reference"}, "properties='reference': pass a list of property names"),
        ({"properties": ["speed"]}, r"unknown properties \['speed'\]; choose from"),
        ({"properties": []}, r"properties=\[\]: pass at least one property name"),
        ({"time_limit": 0}, "time_limit=0: pass a positive number of seconds, or None"),
        ({"shrink": "no"}, "shrink='no': pass True or False"),
        ({"shrink_budget": -1}, "shrink_budget=-1: pass a number of seconds >= 0, or None"),
        ({"cases_after_failure": 1.5}, "cases_after_failure=1.5: pass a whole number >= 0"),
        ({"arithmetic": "fast"}, "unknown arithmetic 'fast'; choose one of ieee, ftz"),
        ({"dtype": "float16"}, "unknown dtype 'float16'; choose one of float64, float32"),
        ({"max_width": 65}, "max_width"),
        ({"large_batch": None}, "large_batch=None: pass a range .*large_width=None"),
        ({"cases": [1, 2]}, r"cases=\[1, 2\]: pass a Hypothesis strategy"),
        ({"cases": default_cases(), "max_width": 8}, "max_width size the default cases"),
    ],
)
def test_a_bad_option_is_named_with_what_to_pass_instead(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidOption, match=message):
        GateOptions(**changes)


def test_a_bad_option_is_found_before_the_target_is_called() -> None:
    calls: list[int] = []

    def counted(weights, biases, x, classes):  # type: ignore[no-untyped-def]
        calls.append(1)
        return targets.lrp_0(weights, biases, x, classes)

    with pytest.raises(ValueError, match="unknown dtype"):
        run_gate(counted, "lrp-0", dtype="float16")
    assert calls == []


def test_an_unknown_keyword_is_named_with_the_options_there_are() -> None:
    with pytest.raises(TypeError, match="unknown gate options exmaples; the options are examples"):
        gate_options(exmaples=5)  # type: ignore[call-arg]


def test_the_options_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        GateOptions().examples = 5  # type: ignore[misc]


def test_values_are_normalised_when_the_options_are_made() -> None:
    options = GateOptions(properties=["reference"], dtype=np.float32, examples=np.int64(7))
    assert options.properties == ("reference",)
    assert options.dtype == "float32" and type(options.examples) is int


def test_keywords_override_the_options_object() -> None:
    options = GateOptions(examples=8, properties=["reference"])
    report = run_gate(targets.lrp_0, "lrp-0", options=options, examples=3)
    assert report.properties[0].examples == 3
    assert [p.name for p in report.properties] == ["reference"]


def test_run_property_reads_the_same_options() -> None:
    method = METHODS["lrp-0"]
    options = GateOptions(examples=4)
    report = run_property(PROPERTIES["reference"], method.reference, method, options=options)
    assert report.ok and report.examples == 4


def test_the_keyword_arguments_are_the_options_fields() -> None:
    assert tuple(GateKeywords.__annotations__) == OPTION_NAMES


def test_every_flag_sets_an_option_and_defaults_to_its_default() -> None:
    options = GateOptions()
    for flag in defaults.FLAGS:
        assert flag.option in OPTION_NAMES
        assert flag.default == getattr(options, flag.option), flag.name


def _choices(flag: str) -> tuple[str, ...]:
    check = _parser()._subparsers._group_actions[0].choices["check"]  # type: ignore[union-attr]
    (action,) = [a for a in check._actions if flag in a.option_strings]
    assert isinstance(action, argparse.Action) and action.choices is not None
    return tuple(action.choices)


@pytest.mark.parametrize(
    ("flag", "constant"),
    [
        ("--property", tuple(PROPERTIES)),
        ("--dtype", DTYPES),
        ("--arithmetic", tuple(ARITHMETICS)),
        ("--bias", BIAS_CONVENTIONS),
    ],
)
def test_the_command_lines_choices_come_from_the_constants_that_define_them(
    flag: str, constant: tuple[str, ...]
) -> None:
    assert _choices(flag) == tuple(constant)


def test_the_command_line_reads_its_flags_into_one_options_object() -> None:
    args = _parser().parse_args(
        ["check", "t:f", "--method", "lrp-0", "--examples", "7", "--no-shrink", "--dtype",
         "float32", "--arithmetic", "ftz", "--nondeterministic", "--large-width", "none"]
    )  # fmt: skip
    options = GateOptions(**defaults.parsed_options(lambda name: getattr(args, name)))
    assert (options.examples, options.shrink, options.dtype) == (7, False, "float32")
    assert (options.arithmetic, options.deterministic, options.large_width) == ("ftz", False, None)


def test_only_the_compatibility_module_touches_hypothesis_private_api() -> None:
    private = ("hypothesis.internal", "_hypothesis_internal", "StopTest", "conjecture_data")
    folder = Path(gate_package.__file__).parent
    for module in folder.glob("*.py"):
        if module.name != "compat.py":
            source = module.read_text()
            assert not [word for word in private if word in source], module.name
