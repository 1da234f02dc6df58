"""Progress as the gate runs: every drawn case and every shrink told to a ``progress`` callback,
drawn as a line rewritten in place on a terminal, silent when piped; and the verdict sooner:
the search goes on for a time budget after the first failure, the first failing property
shrinks to the end, the others within a time budget."""

from __future__ import annotations

import io

from lrp_invariants.gate import run_gate
from lrp_invariants.progress import ProgressLine, progress_line
from lrp_invariants.targets import lrp_epsilon


def test_every_drawn_case_and_every_shrink_is_told_to_the_progress_callback() -> None:
    told: list[tuple[str, int, int]] = []

    def doubled(*args: object) -> object:
        return 2 * lrp_epsilon(*args)  # type: ignore[arg-type]

    properties = ["reference", "determinism"]
    run_gate(
        doubled,
        "lrp-epsilon",
        examples=4,
        properties=properties,
        progress=lambda *a: told.append(a),
    )
    searched = [done for stage, done, total in told if stage == "search"]
    assert searched == sorted(searched) and all(t == 4 for s, _, t in told if s == "search")
    assert ("shrink reference", 0, 1) in told  # the one failing property, before it shrinks


def test_a_terminal_gets_a_line_rewritten_in_place_and_cleared_before_the_report() -> None:
    stream = io.StringIO()
    line = ProgressLine("explain.py:lrp", stream)
    line("search", 10, 100)
    line("shrink reference", 0, 2)
    line.clear()
    text = stream.getvalue()
    assert text.startswith("\rexplain.py:lrp: searching, 10 of 100 cases (")
    assert "\rexplain.py:lrp: shrinking reference (1 of 2)" in text
    assert text.endswith("\r")  # the report starts on a clean line


def test_a_piped_or_captured_stream_gets_no_progress_line() -> None:
    assert progress_line("target", io.StringIO()) is None


def test_one_failing_property_shrinks_to_the_end_and_the_others_within_the_budget() -> None:
    def doubled(*args: object) -> object:
        return 2 * lrp_epsilon(*args)  # type: ignore[arg-type]

    properties = ["bias-proxy-conservation", "reference"]
    told: list[str] = []
    report = run_gate(
        doubled,
        "lrp-epsilon",
        properties=properties,
        shrink_budget=0.0,
        progress=lambda stage, *_: told.append(stage),
    )
    assert not any(p.ok for p in report.properties)
    shrunk = [stage.removeprefix("shrink ") for stage in told if stage.startswith("shrink")]
    full, *others = (next(p for p in report.properties if p.name == name) for name in shrunk)
    assert full.minimised and not full.shrink_stopped
    assert all(p.shrink_stopped and p.case is not None for p in others) and others
    assert "shrunk as far as its time budget allowed" in report.render()


def test_without_a_budget_every_failing_property_shrinks_to_the_end() -> None:
    def doubled(*args: object) -> object:
        return 2 * lrp_epsilon(*args)  # type: ignore[arg-type]

    properties = ["bias-proxy-conservation", "reference"]
    report = run_gate(doubled, "lrp-epsilon", properties=properties, shrink_budget=None)
    assert not any(p.shrink_stopped for p in report.properties)
    assert all(p.minimised for p in report.properties)


def _doubled(*args: object) -> object:
    return 2 * lrp_epsilon(*args)  # type: ignore[arg-type]


def test_the_search_draws_its_count_of_cases_after_the_first_failure_and_says_so() -> None:
    """Doubled LRP-ε fails the reference on the first case and keeps determinism (it compares
    the target with itself): three cases after the first failure, determinism is checked on
    the cases searched so far, and the report says where the search ended."""
    properties = ["reference", "determinism"]
    report = run_gate(_doubled, "lrp-epsilon", properties=properties, cases_after_failure=3)
    reference, determinism = report.properties
    assert not reference.ok and determinism.ok
    assert determinism.examples == 4 and report.search_ended == 3
    assert "ended 3 cases after the first failing one (--cases-after-failure)" in report.render()


def test_without_a_count_after_the_failure_every_example_is_searched() -> None:
    properties = ["reference", "determinism"]
    report = run_gate(_doubled, "lrp-epsilon", properties=properties, cases_after_failure=None)
    assert [p.examples for p in report.properties] == [100, 100]
    assert report.search_ended is None and "--cases-after-failure" not in report.render()
