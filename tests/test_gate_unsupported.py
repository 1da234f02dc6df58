"""A target that declines a case (NotImplementedError: a layer it has no rule for) is judged on
the cases it takes; the declined ones are counted and named, not called defects; a target that
declines every case is *unsupported*, which is not a pass."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from lrp_invariants.cnn_cases import cnn_reference
from lrp_invariants.gate import run_gate
from lrp_invariants.gate.export import GateRun, junit_xml, verdict

METHOD = "lrp-epsilon"
EXAMPLES = 20


def _declining_one_d(wrong: bool = False) -> Any:
    """LRP-ε on 2-d CNNs; a 1-d CNN is declined, as Captum's LRP declines ``Conv1d``."""
    reference = cnn_reference(METHOD)

    def target(layers: list[dict[str, Any]], x: np.ndarray, classes: np.ndarray) -> np.ndarray:
        if x.ndim == 3:
            raise NotImplementedError("Module of type Conv1d has no rule")
        relevance = reference(layers, x, classes)
        return 2 * relevance if wrong else relevance

    return target


def _declining_all(layers: list[dict[str, Any]], x: np.ndarray, classes: np.ndarray) -> Any:
    raise NotImplementedError("no rule for any layer")


def test_declined_cases_are_counted_and_the_others_judged() -> None:
    report = run_gate(_declining_one_d(), METHOD, architecture="cnn", examples=EXAMPLES)
    assert report.ok, report.render()
    declined = [prop.unsupported_cases for prop in report.properties]
    assert all(0 < count < EXAMPLES for count in declined), declined
    assert "cases declined by the target, not judged: " in report.render()
    assert "all claimed properties hold on the cases the target takes" in report.render()


def test_declining_some_cases_hides_no_defect_on_the_others() -> None:
    report = run_gate(_declining_one_d(wrong=True), METHOD, architecture="cnn", examples=EXAMPLES)
    assert not report.ok and not report.unsupported
    assert "the target FAILED the gate" in report.render()


def test_a_target_that_declines_every_case_is_unsupported_not_passed() -> None:
    report = run_gate(_declining_all, METHOD, architecture="cnn", examples=5)
    assert not report.ok and report.unsupported
    assert all(prop.unsupported for prop in report.properties)
    text = report.render()
    assert "UNSUPPORTED  reference" in text
    assert "no defect found; the gate does not pass it" in text


def test_unsupported_is_its_own_verdict_in_json_and_an_error_in_junit() -> None:
    report = run_gate(_declining_all, METHOD, architecture="cnn", examples=3)
    assert {verdict(prop) for prop in report.properties} == {"unsupported"}
    xml = junit_xml([GateRun(report)])
    assert 'type="TargetUnsupported"' in xml and "<error " in xml and "<failure " not in xml
    json.dumps([verdict(prop) for prop in report.properties])  # plain strings
