"""The gate on DeepLIFT and integrated gradients (issue 14): the baseline is part of the claim,
a target that ignores the baseline it is given fails, and a quadrature claimed as the exact
integral is told apart from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lrp_invariants import targets
from lrp_invariants.cli import main
from lrp_invariants.gate import run_gate
from lrp_invariants.integrated import quadrature_integrated_gradients
from lrp_invariants.methods import METHODS, resolve_method
from lrp_invariants.network import Array, Network
from lrp_invariants.reports import load_counterexample


def ig_ignoring_its_baseline(
    weights: list[Array], biases: list[Array], x: Array, classes: Array, baseline: Array
) -> Array:
    return targets.integrated_gradients(weights, biases, x, classes)


def ig_in_fifty_steps(weights: list[Array], biases: list[Array], x: Array, classes: Array) -> Array:
    network = Network.from_arrays(weights, biases)
    return quadrature_integrated_gradients(network, x, classes, steps=50)


def test_a_given_baseline_is_part_of_the_method_and_of_its_properties() -> None:
    zero, given = (
        METHODS["integrated-gradients"],
        resolve_method("integrated-gradients:baseline=given"),
    )
    assert zero.baseline == "zero" and given.baseline == "given"
    assert "baseline-invariance" in given.properties
    assert "baseline-invariance" not in zero.properties  # Kindermans et al.: it does not hold


def test_an_unknown_baseline_option_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="baseline=zero or baseline=given"):
        resolve_method("deeplift-rescale:baseline=mean")


def test_a_target_ignoring_its_given_baseline_fails_completeness_and_invariance() -> None:
    report = run_gate(ig_ignoring_its_baseline, "integrated-gradients:baseline=given")
    failed = {p.name for p in report.properties if not p.ok}
    assert {"completeness", "baseline-invariance"} <= failed
    shown = report.render()
    assert "baseline x0=" in shown  # the case shows the baseline the target was given


def test_fifty_gauss_legendre_steps_are_not_the_exact_integral() -> None:
    report = run_gate(ig_in_fifty_steps, "integrated-gradients", properties=["completeness"])
    assert not report.ok


def test_a_saved_case_keeps_its_baseline(tmp_path: Path) -> None:
    spec = f"{Path(__file__)}:ig_ignoring_its_baseline"
    status = main(
        [
            "check",
            spec,
            "--method",
            "integrated-gradients:baseline=given",
            "--property",
            "completeness",
            "--report",
            str(tmp_path),
        ]
    )
    assert status == 1
    saved = load_counterexample(tmp_path / "completeness.npz")
    assert saved.case.x0 is not None and saved.case.x0.shape == saved.case.x1.shape
    assert np.any(saved.case.x0 != 0)  # a zero baseline would not show the defect
