"""The gate from Python: it passes the references, reports misbehaving targets plainly, and
raises with the full report."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from lrp_invariants import targets
from lrp_invariants.cli import load_target
from lrp_invariants.gate import GateFailure, check, run_gate, run_property
from lrp_invariants.invariants import PROPERTIES
from lrp_invariants.methods import METHODS

from .example_counts import scaled


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_builtin_target_passes_the_gate_for_its_method(method: str) -> None:
    report = run_gate(METHODS[method].reference, method, examples=scaled(15))
    assert report.ok, report.render()
    assert [p.name for p in report.properties] == list(METHODS[method].properties)


def test_check_raises_with_the_report_when_a_property_fails() -> None:
    with pytest.raises(GateFailure, match=r"FAILED reference"):
        check(targets.gradient, "lrp-0", properties=["reference"], examples=20)


def test_check_returns_the_report_when_every_property_holds() -> None:
    report = check(targets.lrp_0, "lrp-0", properties=["reference"], examples=10)
    assert report.ok and report.properties[0].examples == 10


def test_a_target_that_raises_is_reported_with_its_one_line_summary() -> None:
    def broken(weights, biases, x, classes):  # type: ignore[no-untyped-def]
        raise ValueError("no such layer\nsecond line")

    report = run_gate(broken, "lrp-0", properties=["reference"], examples=5)
    failure = report.properties[0].failure
    assert failure == "the target raised ValueError: no such layer"


def test_a_target_returning_the_wrong_shape_is_reported() -> None:
    report = run_gate(
        lambda w, b, x, c: np.zeros((len(x), x.shape[1] + 1)),
        "gradient",
        properties=["reference"],
        examples=5,
    )
    assert "returned shape" in str(report.properties[0].failure)


def test_a_target_returning_float32_is_reported() -> None:
    report = run_gate(
        lambda w, b, x, c: x.astype(np.float32), "gradient", properties=["reference"], examples=5
    )
    assert "returned dtype float32; expected float64" in str(report.properties[0].failure)


def test_a_target_returning_nan_is_reported() -> None:
    report = run_gate(
        lambda w, b, x, c: np.full_like(x, np.nan), "gradient", properties=["reference"], examples=5
    )
    assert "returned nan at index (0, 0)" in str(report.properties[0].failure)


def test_a_target_that_hangs_is_stopped_after_the_time_limit() -> None:
    def slow(weights, biases, x, classes):  # type: ignore[no-untyped-def]
        time.sleep(5)
        return x

    start = time.perf_counter()
    report = run_gate(slow, "lrp-0", examples=5, time_limit=0.2)
    assert time.perf_counter() - start < 4
    assert report.properties[0].hung and not report.ok
    # the search stops at the first hang: no other property waits out the limit again
    assert sum(prop.hung for prop in report.properties) == 1
    assert "first call did not return within 1.2 s" in str(report.properties[0].failure)


def test_the_first_call_may_take_longer_for_its_imports_and_no_later_one() -> None:
    calls: list[int] = []

    def importing_first(weights, biases, x, classes):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.4)  # beyond the limit, within six times it
        return targets.lrp_0(weights, biases, x, classes)

    assert run_gate(importing_first, "lrp-0", examples=5, time_limit=0.2).ok

    def slow_later(weights, biases, x, classes):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) > 3:
            time.sleep(5)
        return targets.lrp_0(weights, biases, x, classes)

    calls.clear()
    report = run_gate(slow_later, "lrp-0", examples=5, time_limit=0.2)
    assert "the target did not return within 0.2 s" in str(
        next(p for p in report.properties if p.hung).failure
    )


def test_a_target_that_answers_differently_twice_fails_determinism() -> None:
    calls = []

    def drifting(weights, biases, x, classes):  # type: ignore[no-untyped-def]
        calls.append(1)
        return targets.lrp_0(weights, biases, x, classes) * (1 + 1e-15 * len(calls))

    report = run_gate(drifting, "lrp-0", properties=["determinism"])
    assert "the second call == the first, bit for bit" in str(report.properties[0].failure)


def test_run_gate_rejects_an_unknown_method() -> None:
    with pytest.raises(ValueError, match=r"unknown method 'lrp-7'"):
        run_gate(targets.lrp_0, "lrp-7")


def test_run_gate_rejects_an_unknown_property() -> None:
    with pytest.raises(ValueError, match=r"unknown properties \['speed'\]"):
        run_gate(targets.lrp_0, "lrp-0", properties=["speed"])


TARGET_SOURCE = '''
import numpy as np


def relevance(weights, biases, x, classes):
    """Gradient x input, written out."""
    a, pre = x, []
    for i, (W, b) in enumerate(zip(weights, biases)):
        z = a @ W + b
        pre.append(z)
        a = np.maximum(z, 0)
    g = np.zeros_like(pre[-1])
    g[np.arange(len(classes)), classes] = 1
    for i in range(len(weights) - 1, -1, -1):
        g = g @ weights[i].T
        if i:
            g = g * (pre[i - 1] > 0)
    return g * x
'''
UNRELATED = "\nTABLE = (0.1234567891, -3.5e-300, 65536.0, -2.75, 1e-320, 7.0, 1 / 3)\n"


def test_the_verdict_does_not_depend_on_other_constants_in_the_target_file(
    tmp_path: Path,
) -> None:
    """Two files that differ only in numbers the target never reads get the same search."""
    folder = tmp_path
    (folder / "plain.py").write_text(TARGET_SOURCE)
    (folder / "with_table.py").write_text(TARGET_SOURCE + UNRELATED)
    reports = [
        run_gate(load_target(f"{folder / name}:relevance"), "gradient-x-input", examples=scaled(40))
        for name in ("plain.py", "with_table.py")
    ]
    assert all(report.ok for report in reports), reports[0].render()
    runs = [[(p.name, p.examples, p.worst_ratio, p.vacuous) for p in r.properties] for r in reports]
    assert runs[0] == runs[1]


def test_a_failure_row_names_its_cause_when_the_target_misbehaved() -> None:
    report = run_gate(
        lambda w, b, x, c: np.full_like(x, np.nan), "gradient", properties=["reference"], examples=5
    )
    (row,) = [line for line in report.render().splitlines() if line.startswith("FAIL ")]
    assert "the target returned nan at index (0, 0)" in row
    assert "x tolerance" not in row


def test_shrinking_calls_are_not_counted_as_examples() -> None:
    def absolute(weights, biases, x, classes):  # type: ignore[no-untyped-def]
        return np.abs(targets.lrp_0(weights, biases, x, classes))

    shrunk = run_gate(absolute, "lrp-0", properties=["reference"], examples=100)
    found = run_gate(absolute, "lrp-0", properties=["reference"], examples=100, shrink=False)
    assert not shrunk.ok and not found.ok
    assert shrunk.properties[0].examples == found.properties[0].examples <= 100


def test_a_metamorphic_failure_says_that_expected_is_the_targets_own_value() -> None:
    report = run_gate(
        lambda w, b, x, c: targets.lrp_0(w, b, x, c) * x.shape[1],  # scales with the width
        "lrp-0",
        properties=["bias-proxy-transparency"],
        examples=20,
    )
    assert not report.ok
    assert "(the target's own relevance on net1)" in str(report.properties[0].failure)


def test_the_report_counts_every_example_of_a_property_that_draws_more_data() -> None:
    """Rescaling draws its layer and unit inside the test: a draw past the end of Hypothesis'
    data is its own control flow, not a failure, and must not stop the count."""
    method = METHODS["lrp-0"]
    report = run_property(PROPERTIES["rescaling"], method.reference, method, examples=60, seed=1)
    assert report.ok and report.examples == 60


def test_the_signed_gradient_is_not_saliency() -> None:
    report = run_gate(targets.gradient, "saliency", properties=["reference"], examples=30)
    assert not report.ok


def test_the_first_failure_ends_the_search_with_the_verdict_of_the_whole_search() -> None:
    """A scaled LRP-0 fails the reference on its first case and keeps every other property
    (they compare the target with itself): the whole search runs every example for them,
    the first-failure search stops where the reference failed and says so."""

    def scaled_lrp(weights, biases, x, classes):  # type: ignore[no-untyped-def]
        return targets.lrp_0(weights, biases, x, classes) * 2

    whole = run_gate(scaled_lrp, "lrp-0", examples=20, shrink=False)
    first = run_gate(scaled_lrp, "lrp-0", examples=20, shrink=False, first_failure=True)
    assert not whole.ok and not first.ok
    assert [p.ok for p in first.properties] == [p.ok for p in whole.properties]
    assert max(p.examples for p in first.properties) < 20 == whole.properties[0].examples
    assert "the search ended at the first failure" in first.render()
    assert "the search ended at the first failure" not in whole.render()
