"""What a target may claim to compute, and which invariants each claim implies.

A :class:`Method` ties a name (``lrp-epsilon``) to the reference implementation in
:mod:`lrp_invariants.targets`, to the enclosure of its exact value that gives every comparison
its tolerance, and to the properties that hold for it. ``lrp-invariants methods`` prints the
table of which property each method implies (README shows the same table, generated from
:data:`METHODS` by :func:`lrp_invariants.invariants.property_table`).

LRP is not input-invariant, and should not be: a shifted input moves relevance between the
input and the first bias. αβ splits the contributions of ``x3`` and ``-m`` by sign separately,
so its shift decomposition fails; ε does not commute with rescaling a unit, whose
pre-activation then meets the same ε at another scale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from numpy.typing import ArrayLike

from . import targets
from .bounds import (
    Ball,
    ForwardBalls,
    LayerBalls,
    Precision,
    enclose_gradient,
    enclose_relevance,
)
from .network import Array, Network
from .rules import LRP0, AlphaBeta, Epsilon, Rule, ZPlus

Target = Callable[[Sequence[Array], Sequence[Array], Array, Array], ArrayLike]
"""The gate's protocol: ``fn(weights, biases, x, classes) -> relevance (n, d)``."""

ALL_PROPERTIES = (
    "input-invariance",
    "shift-decomposition",
    "bias-proxy-conservation",
    "bias-proxy-transparency",
    "permutation",
    "rescaling",
    "batch-consistency",
    "determinism",
    "reference",
)

_COMMON = (
    "bias-proxy-transparency",
    "permutation",
    "batch-consistency",
    "determinism",
    "reference",
)


@dataclass(frozen=True)
class Method:
    """An attribution method a target can claim to compute."""

    name: str
    reference: Target
    rule: Rule | None  # the LRP rule on every layer, None for the gradient methods
    times_input: bool  # gradient x input
    properties: tuple[str, ...]

    def enclose(
        self,
        network: Network,
        forward: ForwardBalls,
        classes: ArrayLike,
        p: Precision,
    ) -> Ball:
        """A ball around the exact input relevance of this method (n, d)."""
        if self.rule is not None:
            return enclose_relevance(network, forward, classes, self.rule, p)[0].R
        return enclose_gradient(network, forward, classes, p, times_input=self.times_input)

    def enclose_layers(
        self, network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision
    ) -> tuple[LayerBalls, ...]:
        """Per-layer balls for conservation bounds; gradient x input is LRP-0 on ReLU nets."""
        return enclose_relevance(network, forward, classes, self.rule or LRP0(), p)


METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        Method(
            "gradient",
            targets.gradient,
            None,
            False,
            ("input-invariance", "rescaling", *_COMMON),
        ),
        Method(
            "gradient-x-input",
            targets.gradient_x_input,
            None,
            True,
            ("shift-decomposition", "bias-proxy-conservation", "rescaling", *_COMMON),
        ),
        Method(
            "lrp-0",
            targets.lrp_0,
            LRP0(),
            False,
            ("shift-decomposition", "bias-proxy-conservation", "rescaling", *_COMMON),
        ),
        Method(
            "lrp-epsilon",
            targets.lrp_epsilon,
            Epsilon(targets.EPSILON),
            False,
            ("shift-decomposition", "bias-proxy-conservation", *_COMMON),
        ),
        Method(
            "lrp-alpha-beta",
            targets.lrp_alpha_beta,
            AlphaBeta(2.0, 1.0),
            False,
            ("bias-proxy-conservation", "rescaling", *_COMMON),
        ),
        Method(
            "lrp-zplus",
            targets.lrp_zplus,
            ZPlus(),
            False,
            ("bias-proxy-conservation", "rescaling", *_COMMON),
        ),
    )
}
