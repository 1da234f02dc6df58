"""Zennit (https://github.com/chr-peters/zennit) in the gate's target protocol.

Each function maps every ``torch.nn.Linear`` to one Zennit rule through a ``LayerMapComposite``
(ReLUs pass relevance through) and starts from the chosen class logit, as the gate expects.
Every one runs through the torch protocol (:func:`lrp_invariants.torch.torch_target`), on the
CPU unless ``device=`` says otherwise: ``functools.partial(zennit_epsilon, device="cuda")`` is
Zennit's LRP-ε on a GPU, the model built in the case's precision there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from numpy.typing import ArrayLike

from ..network import Array
from ..targets import EPSILON
from ..torch import torch_target


def exact(denominator: Any) -> Any:
    """A Zennit stabiliser that changes nothing but exact zeros (to 1, so 0/0 gives 0): the
    division convention of lrp-invariants, passed as Zennit's callable ``stabilizer``."""
    return denominator + (denominator == 0).to(denominator.dtype)


def _explain(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    rule: Any,
    device: str,
) -> Array:
    """Relevance with one Zennit rule on every Linear layer (ReLUs pass relevance through)."""
    import torch
    from zennit.composites import LayerMapComposite
    from zennit.rules import Pass

    composite = LayerMapComposite(layer_map=[(torch.nn.ReLU, Pass()), (torch.nn.Linear, rule)])
    return _explain_composite(weights, biases, x, classes, composite, device)


def zennit_lrp_0(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``Epsilon(epsilon=0)``, which its documentation calls LRP-0."""
    from zennit.rules import Epsilon

    return _explain(weights, biases, x, classes, Epsilon(epsilon=0.0), device)


def zennit_epsilon(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``Epsilon(epsilon=1e-9)``."""
    from zennit.rules import Epsilon

    return _explain(weights, biases, x, classes, Epsilon(epsilon=EPSILON), device)


def zennit_alpha_beta(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``AlphaBeta(alpha=2, beta=1)``, stabiliser 1e-9."""
    from zennit.rules import AlphaBeta

    return _explain(
        weights, biases, x, classes, AlphaBeta(alpha=2.0, beta=1.0, stabilizer=EPSILON), device
    )


def zennit_zplus(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``ZPlus``, stabiliser 1e-9."""
    from zennit.rules import ZPlus

    return _explain(weights, biases, x, classes, ZPlus(stabilizer=EPSILON), device)


def zennit_lrp_0_exact(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``Epsilon`` with the exact, zero-safe stabiliser: LRP-0 with 0/0 -> 0."""
    from zennit.rules import Epsilon

    return _explain(weights, biases, x, classes, Epsilon(epsilon=exact), device)


def zennit_alpha_beta_exact(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``AlphaBeta(alpha=2, beta=1)`` with the exact, zero-safe stabiliser."""
    from zennit.rules import AlphaBeta

    return _explain(
        weights, biases, x, classes, AlphaBeta(alpha=2.0, beta=1.0, stabilizer=exact), device
    )


def zennit_zplus_exact(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``ZPlus`` with the exact, zero-safe stabiliser."""
    from zennit.rules import ZPlus

    return _explain(weights, biases, x, classes, ZPlus(stabilizer=exact), device)


def _explain_composite(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    composite: Any,
    device: str,
) -> Array:
    """Relevance under one of Zennit's own composites (its layer maps pass ReLUs through), run
    through the torch protocol on ``device``: the model is built where the gate builds every
    torch model (:func:`lrp_invariants.torch.torch_target`)."""

    def attribute(model: Any, inputs: Any, chosen: Any) -> Any:
        import torch
        from zennit.attribution import Gradient

        def start(output: Any) -> Any:
            return output * torch.nn.functional.one_hot(chosen, output.shape[1]).to(output.dtype)

        with Gradient(model=model, composite=composite) as attributor:
            _, relevance = attributor(inputs.requires_grad_(True), start)
        return relevance

    return torch_target(attribute, device=device)(weights, biases, x, classes)


def zennit_epsilon_plus_flat(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``EpsilonPlusFlat()`` composite with its defaults."""
    from zennit.composites import EpsilonPlusFlat

    return _explain_composite(weights, biases, x, classes, EpsilonPlusFlat(), device)


def zennit_epsilon_gamma_box(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``EpsilonGammaBox(low=-3, high=3)`` composite, its other parameters default."""
    from zennit.composites import EpsilonGammaBox

    return _explain_composite(
        weights, biases, x, classes, EpsilonGammaBox(low=-3.0, high=3.0), device
    )


def zennit_gamma(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``Gamma()`` (γ = 0.25, stabiliser 1e-6) on every Linear layer."""
    from zennit.rules import Gamma

    return _explain(weights, biases, x, classes, Gamma(), device)


def zennit_zbox(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``ZBox(low=-3, high=3)`` (stabiliser 1e-6) on the first Linear layer, and
    ``Epsilon()`` (ε = 1e-6) on the others, through a ``SpecialFirstLayerMapComposite``."""
    import torch
    from zennit.composites import SpecialFirstLayerMapComposite
    from zennit.rules import Epsilon, Pass, ZBox

    composite = SpecialFirstLayerMapComposite(
        layer_map=[(torch.nn.ReLU, Pass()), (torch.nn.Linear, Epsilon())],
        first_map=[(torch.nn.Linear, ZBox(low=-3.0, high=3.0))],
    )
    return _explain_composite(weights, biases, x, classes, composite, device)


def zennit_flat(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``Flat()`` (stabiliser 1e-6) on every Linear layer."""
    from zennit.rules import Flat

    return _explain(weights, biases, x, classes, Flat(), device)


def zennit_w_square(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Zennit's ``WSquare()`` (stabiliser 1e-6, the bias squared too) on every Linear layer."""
    from zennit.rules import WSquare

    return _explain(weights, biases, x, classes, WSquare(), device)
