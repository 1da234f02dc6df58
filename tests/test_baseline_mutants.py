"""Power for the reference methods: deliberately broken DeepLIFT and integrated gradients
(issue 14's mutants), each caught by the property named beside it with a minimal case (one
sample; no input or unit can be removed without the failure going: Gauss-Legendre's missing
the integral may need a few kinks at once)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import find, settings
from numpy.typing import ArrayLike

from lrp_invariants import Network
from lrp_invariants import strategies as lst
from lrp_invariants.cases import ReferenceCase
from lrp_invariants.deeplift import deeplift_rescale, rescale_multipliers
from lrp_invariants.integrated import (
    integrated_gradients,
    quadrature_integrated_gradients,
)
from lrp_invariants.invariants.baselines import completeness, shifted_reference_invariance
from lrp_invariants.network import Array, forward, gradient, one_hot
from lrp_invariants.reduce import reduce_while, smaller_reference_cases

from .example_counts import scaled

Method = Callable[[Network, Array, ArrayLike, Array], Array]


def deeplift_ignores_its_reference(
    network: Network, x: Array, classes: ArrayLike, x0: Array
) -> Array:
    """Always against zeros: the reference given is not the one used."""
    return deeplift_rescale(network, x, classes)


def deeplift_times_the_input(network: Network, x: Array, classes: ArrayLike, x0: Array) -> Array:
    """Multipliers against ``x0``, but times ``x`` instead of ``x - x0``: off by the
    reference's share."""
    return deeplift_rescale(network, x, classes, x0) * np.divide(
        x, x - x0, out=np.ones_like(x), where=(x - x0) != 0
    )


def deeplift_gradient_multipliers(
    network: Network, x: Array, classes: ArrayLike, x0: Array
) -> Array:
    """ReLU's derivative at the input instead of the secant: gradient x (x - x0)."""
    trace = forward(network, x)
    g = one_hot(np.asarray(classes), network.n_outputs, network.dtype)
    for i in range(network.depth - 1, -1, -1):
        g = g @ network.layers[i].W.T
        if i > 0:
            g *= rescale_multipliers(trace.z[i - 1], trace.z[i - 1])
    return (x - x0) * g


def ig_ignores_its_baseline(network: Network, x: Array, classes: ArrayLike, x0: Array) -> Array:
    """Always from zero: the baseline is not shifted with the input."""
    return integrated_gradients(network, x, classes)


def ig_off_by_the_baseline_output(
    network: Network, x: Array, classes: ArrayLike, x0: Array
) -> Array:
    """Adds up to ``f(x)`` instead of ``f(x) - f(x0)``: the baseline's output spread evenly."""
    logits0 = forward(network, x0).z[-1][np.arange(len(x0)), np.asarray(classes)]
    exact = integrated_gradients(network, x, classes, x0)
    return exact + (logits0 / x.shape[1])[:, None].astype(x.dtype)


def ig_missing_deeper_kinks(network: Network, x: Array, classes: ArrayLike, x0: Array) -> Array:
    """Breakpoints of the first hidden layer only (where its pre-activations, linear in t,
    change sign): the deeper layers' kinks are missed."""
    W, b = network.layers[0].W, network.layers[0].b
    result = np.zeros_like(x)
    for i in range(x.shape[0]):
        za, zb = x0[i] @ W + b, x[i] @ W + b
        sign_change = ((za < 0) & (zb > 0)) | ((za > 0) & (zb < 0))
        inner = za[sign_change] / (za[sign_change] - zb[sign_change])
        t = np.unique(np.concatenate([[0.0, 1.0], inner]))
        middles = x0[i] + ((t[:-1] + t[1:]) / 2)[:, None] * (x[i] - x0[i])
        chosen = np.full(len(t) - 1, np.asarray(classes)[i])
        g = gradient(network, forward(network, middles.astype(x.dtype)), chosen)
        result[i] = (x[i] - x0[i]) * (np.diff(t) @ g)
    return result


def ig_fifty_gauss_legendre_steps(
    network: Network, x: Array, classes: ArrayLike, x0: Array
) -> Array:
    """Captum's default approximation: 50 Gauss-Legendre nodes, not the exact integral."""
    return quadrature_integrated_gradients(network, x, classes, x0, steps=50)


MUTANTS: dict[str, tuple[Method, str, str]] = {
    "deeplift_ignores_its_reference": (
        deeplift_ignores_its_reference,
        "deeplift-rescale",
        "completeness",
    ),
    "deeplift_times_the_input": (deeplift_times_the_input, "deeplift-rescale", "completeness"),
    "deeplift_gradient_multipliers": (
        deeplift_gradient_multipliers,
        "deeplift-rescale",
        "completeness",
    ),
    "ig_ignores_its_baseline": (ig_ignores_its_baseline, "integrated-gradients", "invariance"),
    "ig_off_by_the_baseline_output": (
        ig_off_by_the_baseline_output,
        "integrated-gradients",
        "completeness",
    ),
    "ig_missing_deeper_kinks": (ig_missing_deeper_kinks, "integrated-gradients", "completeness"),
    "ig_fifty_gauss_legendre_steps": (
        ig_fifty_gauss_legendre_steps,
        "integrated-gradients",
        "completeness",
    ),
}

PROPERTIES = {"completeness": completeness, "invariance": shifted_reference_invariance}


@pytest.mark.full_tier  # caught unshrunk in the fast tier: test_mutants_caught_in_the_fast_tier
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_reference_method_mutant_is_caught_with_a_small_case(name: str) -> None:
    method, kind, prop = MUTANTS[name]

    def fails(reference_case: ReferenceCase) -> bool:
        return not all(c.holds() for c in PROPERTIES[prop](method, kind, reference_case))

    found = find(
        lst.reference_cases(),
        fails,
        settings=settings(max_examples=300, database=None, derandomize=True),
    )
    found = reduce_while(found, fails)
    # minimal: one sample, and no sample, input or unit can go without the failure going too
    assert found.case.x1.shape[0] == 1
    assert not any(fails(smaller) for smaller in smaller_reference_cases(found)), found.case
    assert max(found.case.net1.widths) <= 4, found.case


@pytest.mark.parametrize("name", ["deeplift", "integrated"])
def test_the_correct_method_passes_what_its_mutants_fail(name: str) -> None:
    method = deeplift_rescale if name == "deeplift" else integrated_gradients
    kind = "deeplift-rescale" if name == "deeplift" else "integrated-gradients"
    for reference_case in _drawn(scaled(40)):
        for prop in PROPERTIES.values():
            assert all(c.holds() for c in prop(method, kind, reference_case))


def _drawn(n: int) -> list[ReferenceCase]:
    from hypothesis import given

    drawn: list[ReferenceCase] = []

    @settings(max_examples=n, database=None, derandomize=True)
    @given(lst.reference_cases())
    def collect(reference_case: ReferenceCase) -> None:
        drawn.append(reference_case)

    collect()
    return drawn
