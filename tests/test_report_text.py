"""The report's text: numbers as Python writes them, and counts that say what they count."""

from __future__ import annotations

import numpy as np

from lrp_invariants import targets
from lrp_invariants.gate import GateReport, PropertyReport, run_gate
from lrp_invariants.invariants import Comparison
from lrp_invariants.invariants.comparison import plain


def test_a_failed_comparison_prints_plain_numbers_that_read_back_exactly() -> None:
    actual, expected = np.float64(0.1) + np.float64(0.2), np.float64(0.3)
    text = Comparison("a == b", np.array([actual]), np.array([expected]), np.zeros(1)).describe()
    assert "np.float64" not in text
    assert "actual 0.30000000000000004, expected 0.3" in text
    assert float("0.30000000000000004") == actual


def test_plain_writes_integers_as_integers_and_float32_exactly() -> None:
    assert plain(np.int64(-3)) == "-3"
    assert plain(np.float64(np.inf)) == "inf"
    value = np.float32(0.1)
    assert np.float32(float(plain(value))) == value and "np." not in plain(value)


def test_a_comparison_counts_every_value_it_compares_and_those_without_a_bound() -> None:
    tolerance = np.array([[0.0, np.inf, 1.0], [np.inf, 0.0, 0.0]])
    comparison = Comparison("a == b", np.zeros((2, 3)), np.zeros((2, 3)), tolerance)
    assert (comparison.compared(), comparison.vacuous()) == (6, 2)


def test_a_property_row_says_the_unbounded_count_is_of_compared_values() -> None:
    report = run_gate(targets.lrp_epsilon, "lrp-epsilon", properties=["reference"], examples=10)
    (prop,) = report.properties
    (row,) = [line for line in report.render().splitlines() if line.startswith("PASS ")]
    assert prop.compared >= prop.examples and prop.vacuous <= prop.compared
    assert f"{prop.examples:>5} cases  worst error" in row
    assert f"({prop.vacuous:,} of {prop.compared:,} compared values unbounded, " in row


def test_a_property_no_case_reached_is_a_skip_not_a_pass() -> None:
    hung = PropertyReport("reference", "it agrees", examples=0, failure="hung", hung=True)
    report = GateReport("t.py:f", "gradient", None, [hung, PropertyReport("rescaling", "it")])
    rows = [line for line in report.render().splitlines() if line[:4] in ("PASS", "SKIP")]
    assert rows == [
        "SKIP  rescaling                    0 cases  not searched: the search ended before any "
        "case reached it"
    ]
