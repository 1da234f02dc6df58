"""Reference attributions in the gate's target protocol.

Every function here has the signature ``fn(weights, biases, x, classes) -> relevance`` (the
``*_from_baseline`` ones take the reference batch as a fifth argument, ``baseline``; the
pattern methods the data (N, d) they learn their patterns from, ``data``):
``weights[i]`` of shape (in, out), ``biases[i]`` of shape (out,), ``x`` of shape (n, d) float,
``classes`` of shape (n,) int, for the ReLU MLP Linear -> ReLU -> ... -> Linear; the result is the
(n, d) input relevance of the chosen class logit. Call them for a reference value, or point the
gate at your own function with the same signature.
"""

from __future__ import annotations

from collections.abc import Sequence

from numpy.typing import ArrayLike

from .deeplift import deeplift_rescale as _deeplift
from .integrated import integrated_gradients as _integrated
from .integrated import quadrature_integrated_gradients as _quadrature
from .network import Array, Network, check_classes, check_shape, forward
from .network import gradient as _gradient
from .patterns import pattern_attribution as _pattern_attribution
from .patterns import pattern_net as _pattern_net
from .relevance import explain
from .rules import LRP0, AlphaBeta, Epsilon, Rule, ZPlus

EPSILON = 1e-9
"""The ε of :func:`lrp_epsilon`: small enough to change no well-conditioned relevance."""


def _explain(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    rule: Rule,
) -> Array:
    network = Network.from_arrays(weights, biases)
    return explain(network, x, classes, rule)[1].input


def _input_and_gradient(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> tuple[Array, Array]:
    network = Network.from_arrays(weights, biases)
    batch = check_shape(network, x)
    chosen = check_classes(network, classes, batch.shape[0])
    return batch, _gradient(network, forward(network, batch), chosen)


def gradient(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """The gradient of the chosen logit with respect to the input (a sensitivity map)."""
    return _input_and_gradient(weights, biases, x, classes)[1]


def saliency(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """The absolute gradient, as Captum's ``Saliency`` returns it by default."""
    return abs(_input_and_gradient(weights, biases, x, classes)[1])


def gradient_x_input(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Gradient times input."""
    batch, g = _input_and_gradient(weights, biases, x, classes)
    return g * batch


def lrp_0(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """LRP-0 on every layer."""
    return _explain(weights, biases, x, classes, LRP0())


def lrp_epsilon(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """LRP-ε with ε = 1e-9 on every layer."""
    return _explain(weights, biases, x, classes, Epsilon(EPSILON))


def lrp_alpha_beta(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """LRP-α2β1 on every layer."""
    return _explain(weights, biases, x, classes, AlphaBeta(alpha=2.0, beta=1.0))


def lrp_zplus(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """z⁺ (LRP-α1β0) on every layer."""
    return _explain(weights, biases, x, classes, ZPlus())


def integrated_gradients(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Exact integrated gradients from a zero baseline (Captum's default baseline)."""
    return _integrated(Network.from_arrays(weights, biases), x, classes, None)


def integrated_gradients_from_baseline(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike,
) -> Array:
    """Exact integrated gradients from ``baseline`` (n, d): the ``baseline=given`` protocol."""
    return _integrated(Network.from_arrays(weights, biases), x, classes, baseline)


def deeplift_rescale(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """DeepLIFT-Rescale against a zero reference (Captum's default)."""
    return _deeplift(Network.from_arrays(weights, biases), x, classes, None)


def deeplift_rescale_from_baseline(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike,
) -> Array:
    """DeepLIFT-Rescale against ``baseline`` (n, d): the ``baseline=given`` protocol."""
    return _deeplift(Network.from_arrays(weights, biases), x, classes, baseline)


def pattern_net(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    data: ArrayLike,
) -> Array:
    """PatternNet's signal, with patterns learned on ``data`` (N, d)."""
    return _pattern_net(Network.from_arrays(weights, biases), x, classes, data)


def pattern_attribution(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    data: ArrayLike,
) -> Array:
    """PatternAttribution, with patterns learned on ``data`` (N, d)."""
    return _pattern_attribution(Network.from_arrays(weights, biases), x, classes, data)


def integrated_gradients_quadrature(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike | None = None,
    *,
    steps: int = 50,
    rule: str = "gausslegendre",
) -> Array:
    """Integrated gradients approximated by ``steps`` nodes of ``rule`` (Captum's defaults:
    50 Gauss-Legendre nodes), from ``baseline`` (zeros if None)."""
    network = Network.from_arrays(weights, biases)
    return _quadrature(network, x, classes, baseline, steps=steps, method=rule)
