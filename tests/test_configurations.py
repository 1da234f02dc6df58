"""Configured LRP through the gate: parameters, γ and box rules, composites and presets.

Every correct configured target keeps every property its configuration implies (no false
alarm); each passes its own configuration and fails a neighbouring one (the gate tells
configurations apart); and every property a configuration does *not* imply really fails for
this package's own implementation of it (the derivation is not timid).
"""

from __future__ import annotations

import pytest

from lrp_invariants.configuration import (
    ALL_PROPERTIES,
    PRESETS,
    REFERENCE_ONLY,
    parse_rule,
    rule_spec,
)
from lrp_invariants.gate import run_gate, run_property
from lrp_invariants.invariants import PROPERTIES
from lrp_invariants.methods import resolve_method

from .configured import CONFIGURED
from .example_counts import scaled

SEED = 20261126


@pytest.mark.parametrize(
    ("name", "prop"),
    [
        (name, prop)
        for name, (_, spec) in CONFIGURED.items()
        for prop in resolve_method(spec).properties
    ],
)
def test_a_correct_configured_target_keeps_every_property_of_its_configuration(
    name: str, prop: str
) -> None:
    fn, spec = CONFIGURED[name]
    report = run_property(
        PROPERTIES[prop], fn, resolve_method(spec), examples=scaled(25), shrink=False
    )
    assert report.ok, f"false alarm on {name} ({spec}): {report.failure}"


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("epsilon_0_01", "lrp-epsilon"),
        ("gamma_zennit", "lrp-gamma:0.25,bias=source"),
        ("gamma_captum", "lrp-gamma:0.25,epsilon=1e-9,bias=modified,weights-once"),
        ("gamma_captum", "lrp-gamma:0.25,epsilon=1e-9,bias=source"),
        ("zbox_first_epsilon_above", "lrp-composite first=zbox:low=-3,high=4 hidden=epsilon:1e-6"),
        ("zennit_epsilon_plus_flat", "lrp-composite first=flat hidden=epsilon:1e-6"),
    ],
)
def test_a_configured_target_fails_a_neighbouring_configuration(name: str, other: str) -> None:
    fn, _ = CONFIGURED[name]
    report = run_gate(fn, other, examples=60, seed=SEED, properties=["reference"], shrink=False)
    assert not report.ok, f"{name} passed {other}"


def _not_implied() -> list[tuple[str, str]]:
    specs = [spec for _, spec in CONFIGURED.values()] + [
        f"lrp-composite {name}" for name in PRESETS
    ]
    return [
        (spec, prop)
        for spec in dict.fromkeys(specs)
        for prop in ALL_PROPERTIES
        if prop not in resolve_method(spec).properties
        and prop != "input-invariance"
        and prop not in REFERENCE_ONLY  # LRP has no baseline: they do not apply
    ]


@pytest.mark.parametrize(("spec", "prop"), _not_implied())
def test_a_property_a_configuration_does_not_imply_really_fails(spec: str, prop: str) -> None:
    """The reference of the configuration breaks it on some case the gate finds."""
    method = resolve_method(spec)
    report = run_property(
        PROPERTIES[prop], method.reference, method, examples=300, seed=SEED, shrink=False
    )
    assert not report.ok, f"{spec} kept {prop} on {report.examples} examples: claim it"


@pytest.mark.parametrize(
    "spec",
    [
        "0",
        "epsilon:epsilon=1e-06",
        "alpha-beta:3.0,2.0",
        "zplus",
        "gamma:gamma=0.5,epsilon=0.0,bias=source,weights-once",
        "zbox:low=0.0/-1.0,high=1.0/2.0,epsilon=0.0,bias=source",
        "w-square:epsilon=1e-06,bias=source",
        "flat:epsilon=0.0",
    ],
)
def test_a_rule_spec_reads_back_as_the_same_rule(spec: str) -> None:
    rule = parse_rule(spec)
    assert parse_rule(rule_spec(rule)) == rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gama:0.25", "unknown rule 'gama'"),
        ("zbox:low=0", "needs high"),
        ("alpha-beta:3,1", "alpha - beta must be 1"),
        ("epsilon:-1", "epsilon must be finite and >= 0"),
        ("gamma:-0.5", "gamma must be finite and >= 0"),
        ("gamma:0.25,bias=sideways", "bias must be one of"),
        ("zbox:low=1,high=0", "low must not exceed high"),
        ("epsilon:epsilon=1e-6,gamma=2", "takes epsilon"),
        ("epsilon:tiny", "is not a number"),
    ],
)
def test_a_bad_rule_spec_names_the_problem(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_rule(spec)
