"""The gate's properties as plain Hypothesis tests, for long campaigns across many workers.

The target and method come from the environment, so that the same files fuzz anyone's code:

    LRP_TARGET=my_package.explain:lrp_epsilon LRP_METHOD=lrp-epsilon \\
    HYPOTHESIS_PROFILE=campaign LRP_CAMPAIGN_DB=redis://127.0.0.1:6379/0 \\
    hypothesis fuzz -n 8 -- campaigns/test_campaign.py

One test function per property (no parametrisation), so that HypoFuzz and plain pytest file a
failure under the same database key. Properties the method does not imply are skipped.
``LRP_ARITHMETIC=ftz`` holds the target to flush-to-zero arithmetic (the default is ``ieee``);
``LRP_DTYPE=float32`` draws the cases, and derives every tolerance, in float32.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrp_invariants import strategies as lst
from lrp_invariants.cases import SeedCase
from lrp_invariants.cli import load_target
from lrp_invariants.invariants import PROPERTIES, check_property
from lrp_invariants.methods import METHODS

TARGET_SPEC = os.environ.get("LRP_TARGET", "lrp_invariants.targets:lrp_epsilon")
METHOD = METHODS[os.environ.get("LRP_METHOD", "lrp-epsilon")]
TARGET = load_target(TARGET_SPEC)
FLUSH = os.environ.get("LRP_ARITHMETIC", "ieee") == "ftz"
DTYPE = os.environ.get("LRP_DTYPE", "float64")  # float32: cases and tolerances in float32
# a pattern method learns from a data set that every case then carries
CASES = lst.seed_cases(dtype=DTYPE)
if METHOD.learns_from_data:
    CASES = lst.with_data(CASES)


def _applies(name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        name not in METHOD.properties, reason=f"{METHOD.name} does not imply {name}"
    )


def _check(name: str, case: SeedCase, data: st.DataObject) -> None:
    check_property(PROPERTIES[name], case.under(FLUSH), TARGET, METHOD, data.draw)


@_applies("input-invariance")
@given(case=CASES, data=st.data())
def test_input_invariance(case: SeedCase, data: st.DataObject) -> None:
    _check("input-invariance", case, data)


@_applies("shift-decomposition")
@given(case=CASES, data=st.data())
def test_shift_decomposition(case: SeedCase, data: st.DataObject) -> None:
    _check("shift-decomposition", case, data)


@_applies("bias-proxy-conservation")
@given(case=CASES, data=st.data())
def test_bias_proxy_conservation(case: SeedCase, data: st.DataObject) -> None:
    _check("bias-proxy-conservation", case, data)


@_applies("bias-proxy-transparency")
@given(case=CASES, data=st.data())
def test_bias_proxy_transparency(case: SeedCase, data: st.DataObject) -> None:
    _check("bias-proxy-transparency", case, data)


@_applies("permutation")
@given(case=CASES, data=st.data())
def test_permutation(case: SeedCase, data: st.DataObject) -> None:
    _check("permutation", case, data)


@_applies("rescaling")
@given(case=CASES, data=st.data())
def test_rescaling(case: SeedCase, data: st.DataObject) -> None:
    _check("rescaling", case, data)


@_applies("batch-consistency")
@given(case=CASES, data=st.data())
def test_batch_consistency(case: SeedCase, data: st.DataObject) -> None:
    _check("batch-consistency", case, data)


@_applies("reference")
@given(case=CASES, data=st.data())
def test_reference(case: SeedCase, data: st.DataObject) -> None:
    _check("reference", case, data)
