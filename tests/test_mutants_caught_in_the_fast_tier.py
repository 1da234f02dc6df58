"""Power in the fast tier: mutants whose shrinking tests run only in the full tier (they shrink
each failure to a minimal case, which costs minutes) are caught here by their first failing case,
at the same example counts. The full tier runs both."""

from __future__ import annotations

import pytest
from hypothesis import Phase, find, settings

from lrp_invariants import strategies as lst
from lrp_invariants.cases import ReferenceCase
from lrp_invariants.gate import run_gate

from . import test_baseline_mutants as baseline
from . import test_pattern_gate as patterns


@pytest.mark.parametrize("name", sorted(baseline.MUTANTS))
def test_reference_method_mutant_is_caught(name: str) -> None:
    method, kind, prop = baseline.MUTANTS[name]

    def fails(reference_case: ReferenceCase) -> bool:
        return not all(c.holds() for c in baseline.PROPERTIES[prop](method, kind, reference_case))

    find(  # raises NoSuchExample if the mutant escapes
        lst.reference_cases(),
        fails,
        settings=settings(
            max_examples=300, database=None, derandomize=True, phases=[Phase.generate]
        ),
    )


@pytest.mark.parametrize("name", sorted(patterns.MUTANTS))
def test_broken_pattern_code_is_caught(name: str) -> None:
    patterns._FIXED_DATA.clear()
    fn, prop = patterns.MUTANTS[name]
    report = run_gate(fn, "pattern-attribution", properties=[prop], seed=3, shrink=False)
    assert not report.ok, f"{name} passed {prop}"
