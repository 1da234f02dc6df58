"""``pytest --lrp-target=... --lrp-method=...`` adds one test per implied property.

The plugin is registered through the package's ``pytest11`` entry point, so an installed
lrp-invariants makes the options available in any pytest run."""

from __future__ import annotations

import pytest

BROKEN = """
import numpy as np
from lrp_invariants import LRP0, Network, explain

def doubled(weights, biases, x, classes):
    return 2 * explain(Network.from_arrays(weights, biases), x, classes, LRP0())[1].input
"""


def test_the_plugin_runs_every_property_of_the_method(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--lrp-target=lrp_invariants.targets:lrp_0", "--lrp-method=lrp-0", "--lrp-examples=5"
    )
    result.assert_outcomes(passed=8)


def test_the_plugin_fails_a_broken_target_with_the_gate_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(broken_lrp=BROKEN)
    result = pytester.runpytest(
        "--lrp-target=broken_lrp.py:doubled",
        "--lrp-method=lrp-0",
        "--lrp-examples=50",
        "-k",
        "conservation",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED bias-proxy-conservation*", "*minimal counterexample*"])


def test_the_plugin_needs_a_method(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--lrp-target=lrp_invariants.targets:lrp_0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--lrp-target needs --lrp-method*"])


def test_the_plugin_takes_a_configured_method(pytester: pytest.Pytester) -> None:
    """A composite spec: Zennit's EpsilonPlusFlat on an MLP, gated against its own reference."""
    result = pytester.runpytest(
        "--lrp-target=lrp_invariants.targets:lrp_0",
        "--lrp-method=lrp-composite first=flat:1e-6 hidden=epsilon:1e-6",
        "--lrp-examples=5",
        "-k",
        "reference",
    )
    result.assert_outcomes(failed=1)  # LRP-0 is not that composite


def test_the_plugin_names_a_bad_method_spec(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--lrp-target=lrp_invariants.targets:lrp_0", "--lrp-method=lrp-epsilon:-1"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*epsilon must be finite and >= 0*"])


GIVEN = """
from lrp_invariants import Epsilon, Network, explain

def from_given(weights, biases, x, classes, relevance):
    network = Network.from_arrays(weights, biases)
    return explain(network, x, classes, Epsilon(1e-9), start=relevance)[1].input
"""


def test_the_plugin_takes_where_relevance_starts_in_the_method_spec(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(given_lrp=GIVEN)
    result = pytester.runpytest(
        "--lrp-target=given_lrp.py:from_given", "--lrp-method=lrp-epsilon start=given"
    )
    result.assert_outcomes(passed=7)
