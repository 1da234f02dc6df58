"""The gradient family: the gradient (a sensitivity map), saliency (its absolute value, Captum's
``Saliency``) and gradient x input.

The gradient does not see a constant input shift compensated in the first bias, so it and
saliency are input-invariant; gradient x input is not, but splits over ``x3`` and ``-m`` and,
being LRP-0 on ReLU networks, conserves relevance on the bias proxy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from .. import targets
from ..bounds import (
    Ball,
    ForwardBalls,
    LayerBalls,
    Precision,
    enclose_gradient,
    enclose_relevance,
    gradient_underflow,
)
from ..bounds.balls import magnitude
from ..cnn import CNN, forward
from ..cnn import gradient as cnn_gradient
from ..cnn.bounds import CNNBalls, enclose_cnn_gradient
from ..network import Array, Network
from ..rules import LRP0, Rule
from .base import (
    ALWAYS,
    Conservation,
    Family,
    Method,
    NetworkMethod,
    Target,
    ordered,
)

if TYPE_CHECKING:
    from ..cases import SeedCase

_GRADIENT = ("bias-proxy-transparency", "permutation", "batch-consistency", *ALWAYS)


@dataclass(frozen=True, kw_only=True)
class GradientMethod(NetworkMethod):
    """The gradient of the chosen logit, its absolute value, or the gradient times the input."""

    times_input: bool = False
    absolute: bool = False  # saliency: the gradient's absolute value

    @property
    def multiplies_by_inputs(self) -> bool:
        return self.times_input

    def rules_for(self, network: Network) -> tuple[Rule, ...]:
        """LRP-0 on every layer: the same relevance as gradient x input on a ReLU net."""
        return (LRP0(),) * network.depth

    def _enclose(
        self, network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision
    ) -> Ball:
        gradient = enclose_gradient(network, forward, classes, p, times_input=self.times_input)
        return magnitude(gradient, p) if self.absolute else gradient

    def _enclose_layers(
        self, network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision
    ) -> tuple[LayerBalls, ...]:
        return enclose_relevance(network, forward, classes, self.rules_for(network), p)

    @property
    def on_cnns(self) -> bool:
        return True

    def cnn_relevance(self, cnn: CNN, x: Array, classes: ArrayLike) -> Array:
        g = cnn_gradient(cnn, forward(cnn, x), classes)
        if self.times_input:
            return np.asarray(x * g)
        return np.abs(g) if self.absolute else g

    def enclose_cnn(self, cnn: CNN, balls: CNNBalls, classes: ArrayLike, p: Precision) -> Ball:
        gradient = enclose_cnn_gradient(cnn, balls, classes, p, times_input=self.times_input)
        return magnitude(gradient, p) if self.absolute else gradient

    def conservation(self, case: SeedCase) -> Conservation:
        # gradient x input evaluated as a chain of products (forward mode, ...) may underflow
        # in products LRP-0's layer by layer evaluation never forms
        proxy = case.proxy[0]
        chain = gradient_underflow(
            proxy, case.proxy_balls, case.classes, case.precision, times_input=True
        ).sum(axis=1)
        nothing = Ball.exact(np.zeros_like(chain))  # no rule keeps relevance back
        logits = case.proxy_balls.z[-1]
        return Conservation.of_layers(
            self.proxy_layers(case), logits, case.classes, nothing, case.precision, chain
        )


def _method(
    name: str,
    target: Target,
    implied: tuple[str, ...],
    times_input: bool = False,
    absolute: bool = False,
) -> Method:
    implied = ordered((*implied, *_GRADIENT))
    return GradientMethod(name, target, implied, times_input=times_input, absolute=absolute)


METHODS: tuple[Method, ...] = (
    _method("gradient", targets.gradient, ("input-invariance", "rescaling")),
    # |gradient| keeps what the gradient keeps: every property compares it with itself on a
    # network or input where the exact gradient is the same
    _method("saliency", targets.saliency, ("input-invariance", "rescaling"), absolute=True),
    _method(
        "gradient-x-input",
        targets.gradient_x_input,
        ("shift-decomposition", "bias-proxy-conservation", "rescaling"),
        times_input=True,
    ),
)
"""The family's built-in methods, as the registry lists them."""

__all__ = ["METHODS", "GradientMethod"]

FAMILY = Family(METHODS)
