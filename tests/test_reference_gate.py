"""The gate on DeepLIFT and integrated gradients (issue 14): the baseline is part of the claim,
a target that ignores the baseline it is given fails, a quadrature claimed as the exact
integral is told apart from it, and a quadrature claimed as one (``steps=K``) is held to its
K-node formula, with its distance from the integral reported beside the verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lrp_invariants import approximation, targets
from lrp_invariants.cli import main
from lrp_invariants.defaults import DEFAULT_EXAMPLES
from lrp_invariants.gate import TargetHung, run_gate
from lrp_invariants.gate.counterexamples import load_counterexample
from lrp_invariants.integrated import quadrature, quadrature_integrated_gradients
from lrp_invariants.methods import METHODS, resolve_method
from lrp_invariants.network import Array, Network, forward, gradient

from .example_counts import scaled


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
    assert not zero.takes_baseline and given.takes_baseline
    assert "baseline-invariance" in given.properties
    assert "baseline-invariance" not in zero.properties  # Kindermans et al.: it does not hold


def test_an_unknown_baseline_option_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="baseline=zero or baseline=given"):
        resolve_method("deeplift-rescale:baseline=mean")


def test_a_target_ignoring_its_given_baseline_fails_completeness_and_invariance() -> None:
    # the search ends once both have failed (the other properties would search to the end)
    report = run_gate(
        ig_ignoring_its_baseline,
        "integrated-gradients:baseline=given",
        properties=["completeness", "baseline-invariance"],
        shrink=False,
    )
    failed = {p.name for p in report.properties if not p.ok}
    assert failed == {"completeness", "baseline-invariance"}
    shown = report.render()
    assert "baseline x0=" in shown  # the case shows the baseline the target was given


def test_fifty_gauss_legendre_steps_are_not_the_exact_integral() -> None:
    report = run_gate(
        ig_in_fifty_steps, "integrated-gradients", properties=["completeness"], shrink=False
    )
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
            "--no-shrink",  # a case as first found is saved as a minimal one is
            "--report",
            str(tmp_path),
        ]
    )
    assert status == 1
    saved = load_counterexample(tmp_path / "completeness.npz")
    assert saved.case.x0 is not None and saved.case.x0.shape == saved.case.x1.shape
    assert np.any(saved.case.x0 != 0)  # a zero baseline would not show the defect


def ig_in_fifty_steps_weighed_in_float32(
    weights: list[Array], biases: list[Array], x: Array, classes: Array
) -> Array:
    """Captum's IntegratedGradients: step sizes rounded to float32 whatever the model's dtype."""
    network = Network.from_arrays(weights, biases)
    nodes, step_sizes = quadrature("gausslegendre", 50)
    n, d = x.shape
    points = (nodes.astype(x.dtype)[:, None, None] * x[None]).reshape(-1, d)
    g = gradient(network, forward(network, points), np.tile(classes, 50)).reshape(50, n, d)
    return x * np.tensordot(step_sizes.astype(np.float32).astype(x.dtype), g, axes=1)


def test_a_quadrature_claim_names_its_rule_and_steps_and_does_not_claim_completeness() -> None:
    method = resolve_method("integrated-gradients:steps=32,rule=riemann_trapezoid")
    assert method.spec == "integrated-gradients:steps=32,rule=riemann_trapezoid"
    assert "completeness" not in method.properties  # a kink between nodes is missed by design
    assert resolve_method("integrated-gradients:steps=50").spec.endswith("rule=gausslegendre")
    given = resolve_method("integrated-gradients:baseline=given,steps=8")
    assert "baseline-invariance" in given.properties


@pytest.mark.parametrize(
    "spec", ["integrated-gradients:steps=0", "integrated-gradients:rule=simpson"]
)
def test_a_bad_quadrature_is_refused_naming_the_choices(spec: str) -> None:
    with pytest.raises(ValueError, match=r"steps|riemann_left"):
        resolve_method(spec)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_reference_quadrature_keeps_its_claim_and_reports_its_distance_from_the_integral(
    dtype: type,
) -> None:
    spec = "integrated-gradients:steps=8,rule=riemann_trapezoid"
    report = run_gate(resolve_method(spec).reference, spec, examples=scaled(30), dtype=dtype)
    assert report.ok, report.render()
    assert "approximation of the exact integral" in report.render()


def test_step_sizes_weighed_in_float32_fail_a_float64_quadrature_claim() -> None:
    # the witness: f(x) = x on [0, 1] gives 1.000000000698 for the exact 1
    report = run_gate(
        ig_in_fifty_steps_weighed_in_float32,
        "integrated-gradients:steps=50",
        properties=["reference"],
    )
    assert not report.ok
    (result,) = report.properties
    assert result.case is not None and result.case.net1.widths == (1, 1)


def test_step_sizes_weighed_in_float32_keep_a_float32_quadrature_claim() -> None:
    report = run_gate(
        ig_in_fifty_steps_weighed_in_float32,
        "integrated-gradients:steps=50",
        properties=["reference"],
        dtype=np.float32,
        examples=scaled(DEFAULT_EXAMPLES),
    )
    assert report.ok, report.render()


def test_the_exact_integral_claimed_as_fifty_steps_fails_its_reference() -> None:
    report = run_gate(
        targets.integrated_gradients,
        "integrated-gradients:steps=50",
        properties=["reference"],
        shrink=False,
    )
    assert not report.ok


@pytest.mark.full_tier  # every other property searched to the end: ~20 s
def test_the_exact_integral_claimed_as_fifty_steps_fails_where_a_kink_lies_between_nodes() -> None:
    # which properties fail is the claim, not the minimal case: no shrinking
    report = run_gate(targets.integrated_gradients, "integrated-gradients:steps=50", shrink=False)
    failed = {p.name for p in report.properties if not p.ok}
    assert failed == {"reference"}


def test_a_quadrature_that_hangs_while_measured_is_reported_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def hangs(*args: object, **kwargs: object) -> None:
        raise TargetHung("the target ran past the time limit of 0.5 s")

    monkeypatch.setattr(approximation, "measure_quadrature", hangs)
    spec = "integrated-gradients:steps=4"
    report = run_gate(resolve_method(spec).reference, spec, properties=["determinism"], examples=2)
    assert report.ok
    assert "its notes beside the verdict were not measured (the target ran" in report.render()
