"""Reference attributions in the gate's target protocol, one per claim, generated from
:data:`TARGETS`' table.

Every function here has the signature ``fn(weights, biases, x, classes) -> relevance`` (the
``*_from_baseline`` ones take the reference batch as a fifth argument, ``baseline``; the
pattern methods the data (N, d) they learn their patterns from, ``data``):
``weights[i]`` of shape (in, out), ``biases[i]`` of shape (out,), ``x`` of shape (n, d) float,
``classes`` of shape (n,) int, for the ReLU MLP Linear -> ReLU -> ... -> Linear; the result is the
(n, d) input relevance of the chosen class logit. Call them for a reference value
(``targets.lrp_epsilon(weights, biases, x, classes)``), or point the gate at your own function
with the same signature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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

Computation = Callable[..., Array]
"""``fn(network, x, classes[, fifth]) -> relevance``: what a target computes on the network its
weights and biases build."""


def _input_and_gradient(network: Network, x: ArrayLike, classes: ArrayLike) -> tuple[Array, Array]:
    batch = check_shape(network, x)
    chosen = check_classes(network, classes, batch.shape[0])
    return batch, _gradient(network, forward(network, batch), chosen)


def _sensitivity(network: Network, x: ArrayLike, classes: ArrayLike) -> Array:
    return _input_and_gradient(network, x, classes)[1]


def _saliency(network: Network, x: ArrayLike, classes: ArrayLike) -> Array:
    return abs(_input_and_gradient(network, x, classes)[1])


def _gradient_times_x(network: Network, x: ArrayLike, classes: ArrayLike) -> Array:
    batch, g = _input_and_gradient(network, x, classes)
    return g * batch


def _lrp(rule: Rule) -> Computation:
    def relevance(network: Network, x: ArrayLike, classes: ArrayLike) -> Array:
        return explain(network, x, classes, rule)[1].input

    return relevance


def _against_zero(explain_against: Computation) -> Computation:
    def relevance(network: Network, x: ArrayLike, classes: ArrayLike) -> Array:
        return explain_against(network, x, classes, None)

    return relevance


@dataclass(frozen=True)
class Row:
    """One reference target: its name, what it computes, its docstring, and the name of its
    fifth argument (``baseline`` or ``data``; None: it takes four)."""

    name: str
    computation: Computation
    doc: str
    fifth: str | None = None


ROWS: tuple[Row, ...] = (
    Row(
        "gradient",
        _sensitivity,
        "The gradient of the chosen logit with respect to the input (a sensitivity map).",
    ),
    Row(
        "saliency",
        _saliency,
        "The absolute gradient, as Captum's ``Saliency`` returns it by default.",
    ),
    Row("gradient_x_input", _gradient_times_x, "Gradient times input."),
    Row("lrp_0", _lrp(LRP0()), "LRP-0 on every layer."),
    Row("lrp_epsilon", _lrp(Epsilon(EPSILON)), "LRP-ε with ε = 1e-9 on every layer."),
    Row("lrp_alpha_beta", _lrp(AlphaBeta(alpha=2.0, beta=1.0)), "LRP-α2β1 on every layer."),  # noqa: RUF001
    Row("lrp_zplus", _lrp(ZPlus()), "z⁺ (LRP-α1β0) on every layer."),  # noqa: RUF001
    Row(
        "lrp_alpha_beta_stabilised",
        _lrp(AlphaBeta(2.0, 1.0, epsilon=1e-6)),
        "LRP-α2β1 with Zennit's default stabiliser, 1e-6 added to each side's sum with its sign.",  # noqa: RUF001
    ),
    Row(
        "lrp_zplus_without_bias",
        _lrp(ZPlus(bias="ignored")),
        "z⁺ with the biases left out of every sum (Zennit's ``zero_params=['bias']``).",
    ),
    Row(
        "lrp_zplus_clamped_weights",
        _lrp(ZPlus(EPSILON, "whole", sign_aware=False)),
        "z⁺ as Captum's ``Alpha1_Beta0_Rule``: the weights clamped (``x w⁺``), the bias kept "
        "whatever its sign, Captum's stabiliser 1e-9.",
    ),
    Row(
        "integrated_gradients",
        _against_zero(_integrated),
        "Exact integrated gradients from a zero baseline (Captum's default baseline).",
    ),
    Row(
        "integrated_gradients_from_baseline",
        _integrated,
        "Exact integrated gradients from ``baseline`` (n, d): the ``baseline=given`` protocol.",
        "baseline",
    ),
    Row(
        "deeplift_rescale",
        _against_zero(_deeplift),
        "DeepLIFT-Rescale against a zero reference (Captum's default).",
    ),
    Row(
        "deeplift_rescale_from_baseline",
        _deeplift,
        "DeepLIFT-Rescale against ``baseline`` (n, d): the ``baseline=given`` protocol.",
        "baseline",
    ),
    Row(
        "pattern_net",
        _pattern_net,
        "PatternNet's signal, with patterns learned on ``data`` (N, d).",
        "data",
    ),
    Row(
        "pattern_attribution",
        _pattern_attribution,
        "PatternAttribution, with patterns learned on ``data`` (N, d).",
        "data",
    ),
)
"""The table every reference target is generated from."""


def _target(row: Row) -> Callable[..., Array]:
    """``row`` as a function in the gate's protocol, named after it; its fifth argument, if any,
    is taken by position or by its name."""
    compute = row.computation

    if row.fifth is None:

        def target(
            weights: Sequence[ArrayLike],
            biases: Sequence[ArrayLike],
            x: ArrayLike,
            classes: ArrayLike,
        ) -> Array:
            return compute(Network.from_arrays(weights, biases), x, classes)

    elif row.fifth == "baseline":

        def target(  # type: ignore[misc]
            weights: Sequence[ArrayLike],
            biases: Sequence[ArrayLike],
            x: ArrayLike,
            classes: ArrayLike,
            baseline: ArrayLike,
        ) -> Array:
            return compute(Network.from_arrays(weights, biases), x, classes, baseline)

    else:

        def target(  # type: ignore[misc]
            weights: Sequence[ArrayLike],
            biases: Sequence[ArrayLike],
            x: ArrayLike,
            classes: ArrayLike,
            data: ArrayLike,
        ) -> Array:
            return compute(Network.from_arrays(weights, biases), x, classes, data)

    target.__name__ = target.__qualname__ = row.name
    target.__module__ = __name__
    target.__doc__ = row.doc
    return target


TARGETS: dict[str, Callable[..., Array]] = {row.name: _target(row) for row in ROWS}
"""Every reference target by name, generated from :data:`ROWS`; each is also this module's
attribute of that name (``targets.lrp_epsilon``, listed below)."""


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


# each target as this module's attribute of its name, spelled out so that type checkers see them
gradient = TARGETS["gradient"]
saliency = TARGETS["saliency"]
gradient_x_input = TARGETS["gradient_x_input"]
lrp_0 = TARGETS["lrp_0"]
lrp_epsilon = TARGETS["lrp_epsilon"]
lrp_alpha_beta = TARGETS["lrp_alpha_beta"]
lrp_zplus = TARGETS["lrp_zplus"]
lrp_alpha_beta_stabilised = TARGETS["lrp_alpha_beta_stabilised"]
lrp_zplus_without_bias = TARGETS["lrp_zplus_without_bias"]
lrp_zplus_clamped_weights = TARGETS["lrp_zplus_clamped_weights"]
integrated_gradients = TARGETS["integrated_gradients"]
integrated_gradients_from_baseline = TARGETS["integrated_gradients_from_baseline"]
deeplift_rescale = TARGETS["deeplift_rescale"]
deeplift_rescale_from_baseline = TARGETS["deeplift_rescale_from_baseline"]
pattern_net = TARGETS["pattern_net"]
pattern_attribution = TARGETS["pattern_attribution"]


__all__ = ["EPSILON", "ROWS", "TARGETS", "Row", "integrated_gradients_quadrature", *TARGETS]
