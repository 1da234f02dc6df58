"""The gate on PatternNet and PatternAttribution (issue 14): the data a target learns from is
part of the call (net2 learns from ``data + m``), the reference targets keep every property they
claim in float64 and float32, and deliberately broken pattern code is caught with a small,
readable case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lrp_invariants import Network, targets
from lrp_invariants.cli import main
from lrp_invariants.gate import run_gate
from lrp_invariants.gate.counterexamples import load_counterexample
from lrp_invariants.methods import METHODS
from lrp_invariants.network import Array, forward
from lrp_invariants.patterns import PATTERN_METHODS, backward_with, learn_patterns

from .example_counts import scaled

TARGETS = {"pattern-net": targets.pattern_net, "pattern-attribution": targets.pattern_attribution}


def _patterns_by(
    weights: list[Array], biases: list[Array], data: Array, centred: bool, conditioned: bool
) -> tuple[Network, list[Array]]:
    network = Network.from_arrays(weights, biases)
    trace = forward(network, data)
    result = []
    for i, layer in enumerate(network.layers):
        y, x = trace.z[i], trace.a[i]
        active = (y > 0) if conditioned and i < network.depth - 1 else np.ones_like(y, bool)
        S = active.astype(y.dtype)
        k = np.maximum(S.sum(axis=0), 1)
        if centred:
            y = S * (y - (S * y).sum(axis=0) / k)
            x = x - x.mean(axis=0)
        cov = (S * y).T @ x / k[:, None]
        var = np.einsum("ji,ij->j", cov, layer.W)
        A = np.divide(cov, var[:, None], out=np.zeros_like(cov), where=var[:, None] != 0)
        result.append(A.T * (S.sum(axis=0) > 1))
    return network, result


def _attribution(network: Network, patterns: list[Array], x: Array, classes: Array) -> Array:
    """PatternAttribution's backward chain with the given patterns."""
    weighted = [layer.W * A for layer, A in zip(network.layers, patterns, strict=True)]
    return backward_with(network, weighted, x, classes)


def uncentred_moments(
    weights: list[Array], biases: list[Array], x: Array, classes: Array, data: Array
) -> Array:
    """``E[x y] / wᵀE[x y]``: second moments instead of covariances (a shift shows)."""
    return _attribution(
        *_patterns_by(weights, biases, data, centred=False, conditioned=True), x, classes
    )


def linear_patterns_everywhere(
    weights: list[Array], biases: list[Array], x: Array, classes: Array, data: Array
) -> Array:
    """The linear estimator before every ReLU: inactive samples counted too."""
    return _attribution(
        *_patterns_by(weights, biases, data, centred=True, conditioned=False), x, classes
    )


_FIXED_DATA: dict[tuple[int, ...], Array] = {}


def learns_once(
    weights: list[Array], biases: list[Array], x: Array, classes: Array, data: Array
) -> Array:
    """Patterns learned on the first data set of each shape and kept (as a fitted analyzer
    reused on a shifted network): net2's patterns are net1's data's."""
    key = (data.shape, *(w.shape for w in weights))
    fitted = _FIXED_DATA.setdefault(key, data)  # type: ignore[arg-type]
    return targets.pattern_attribution(weights, biases, x, classes, fitted)


def weights_without_patterns_at_the_output(
    weights: list[Array], biases: list[Array], x: Array, classes: Array, data: Array
) -> Array:
    """The output layer's W passed as is (a pattern forgotten at the last layer)."""
    network = Network.from_arrays(weights, biases)
    patterns = learn_patterns(network, data)
    weighted = [layer.W * A for layer, A in zip(network.layers, patterns, strict=True)]
    weighted[-1] = network.layers[-1].W
    return backward_with(network, weighted, x, classes)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", PATTERN_METHODS)
def test_the_reference_pattern_targets_keep_every_property_they_claim(
    method: str, dtype: type
) -> None:
    report = run_gate(TARGETS[method], method, examples=scaled(40), seed=7, dtype=dtype)
    assert report.ok, report.render()


def test_pattern_methods_learn_from_data_and_claim_input_invariance() -> None:
    for method in PATTERN_METHODS:
        assert METHODS[method].learns_from_data
        assert "input-invariance" in METHODS[method].properties
        assert "shift-decomposition" not in METHODS[method].properties


MUTANTS = {
    "uncentred_moments": (uncentred_moments, "input-invariance"),
    "linear_patterns_everywhere": (linear_patterns_everywhere, "reference"),
    "learns_once": (learns_once, "input-invariance"),
    "weights_without_patterns_at_the_output": (
        weights_without_patterns_at_the_output,
        "reference",
    ),
}


@pytest.mark.full_tier  # caught unshrunk in the fast tier: test_mutants_caught_in_the_fast_tier
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_broken_pattern_code_is_caught_with_one_sample(name: str) -> None:
    _FIXED_DATA.clear()
    fn, prop = MUTANTS[name]
    report = run_gate(fn, "pattern-attribution", properties=[prop], seed=3)
    (result,) = report.properties
    assert not result.ok, f"{name} passed {prop}"
    assert result.case is not None and result.case.x1.shape[0] == 1
    assert "data=" in report.render()  # the case shows the data the target learned from


def test_a_saved_case_keeps_its_data(tmp_path: Path) -> None:
    status = main(
        [
            "check",
            f"{Path(__file__)}:uncentred_moments",
            "--method",
            "pattern-attribution",
            "--property",
            "input-invariance",
            "--no-shrink",  # a case as first found is saved as a minimal one is
            "--report",
            str(tmp_path),
        ]
    )
    assert status == 1
    saved = load_counterexample(tmp_path / "input-invariance.npz")
    assert saved.case.data is not None
    assert saved.case.data.shape[1] == saved.case.x1.shape[1]
