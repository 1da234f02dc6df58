"""Zennit (https://github.com/chr-peters/zennit) in the gate's target protocol.

Each function maps every ``torch.nn.Linear`` to one Zennit rule through a ``LayerMapComposite``
(ReLUs pass relevance through) and starts from the chosen class logit, as the gate expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array
from ..targets import EPSILON
from . import from_numpy, to_numpy, torch_mlp


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
) -> Array:
    """Relevance with one Zennit rule on every Linear layer (ReLUs pass relevance through)."""
    import torch
    from zennit.composites import LayerMapComposite
    from zennit.rules import Pass

    composite = LayerMapComposite(layer_map=[(torch.nn.ReLU, Pass()), (torch.nn.Linear, rule)])
    return _explain_composite(weights, biases, x, classes, composite)


def zennit_lrp_0(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Zennit's ``Epsilon(epsilon=0)``, which its documentation calls LRP-0."""
    from zennit.rules import Epsilon

    return _explain(weights, biases, x, classes, Epsilon(epsilon=0.0))


def zennit_epsilon(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Zennit's ``Epsilon(epsilon=1e-9)``."""
    from zennit.rules import Epsilon

    return _explain(weights, biases, x, classes, Epsilon(epsilon=EPSILON))


def zennit_alpha_beta(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Zennit's ``AlphaBeta(alpha=2, beta=1)``, stabiliser 1e-9."""
    from zennit.rules import AlphaBeta

    return _explain(weights, biases, x, classes, AlphaBeta(alpha=2.0, beta=1.0, stabilizer=EPSILON))


def zennit_zplus(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Zennit's ``ZPlus``, stabiliser 1e-9."""
    from zennit.rules import ZPlus

    return _explain(weights, biases, x, classes, ZPlus(stabilizer=EPSILON))


def zennit_lrp_0_exact(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Zennit's ``Epsilon`` with the exact, zero-safe stabiliser: LRP-0 with 0/0 -> 0."""
    from zennit.rules import Epsilon

    return _explain(weights, biases, x, classes, Epsilon(epsilon=exact))


def zennit_alpha_beta_exact(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Zennit's ``AlphaBeta(alpha=2, beta=1)`` with the exact, zero-safe stabiliser."""
    from zennit.rules import AlphaBeta

    return _explain(weights, biases, x, classes, AlphaBeta(alpha=2.0, beta=1.0, stabilizer=exact))


def zennit_zplus_exact(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Zennit's ``ZPlus`` with the exact, zero-safe stabiliser."""
    from zennit.rules import ZPlus

    return _explain(weights, biases, x, classes, ZPlus(stabilizer=exact))


def _explain_composite(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    composite: Any,
) -> Array:
    """Relevance under one of Zennit's own composites (its layer maps pass ReLUs through)."""
    import torch
    from zennit.attribution import Gradient

    model = torch_mlp(weights, biases)
    inputs = from_numpy(x).requires_grad_(True)
    chosen = torch.from_numpy(np.asarray(classes, dtype=np.int64))

    def start(output: Any) -> Any:
        return output * torch.nn.functional.one_hot(chosen, output.shape[1]).to(output.dtype)

    with Gradient(model=model, composite=composite) as attributor:
        _, relevance = attributor(inputs, start)
    return to_numpy(relevance)


def zennit_epsilon_plus_flat(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Zennit's ``EpsilonPlusFlat()`` composite with its defaults."""
    from zennit.composites import EpsilonPlusFlat

    return _explain_composite(weights, biases, x, classes, EpsilonPlusFlat())


def zennit_epsilon_gamma_box(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Zennit's ``EpsilonGammaBox(low=-3, high=3)`` composite, its other parameters default."""
    from zennit.composites import EpsilonGammaBox

    return _explain_composite(weights, biases, x, classes, EpsilonGammaBox(low=-3.0, high=3.0))


def zennit_gamma(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Zennit's ``Gamma()`` (γ = 0.25, stabiliser 1e-6) on every Linear layer."""
    from zennit.rules import Gamma

    return _explain(weights, biases, x, classes, Gamma())


def zennit_zbox(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
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
    return _explain_composite(weights, biases, x, classes, composite)


def zennit_flat(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Zennit's ``Flat()`` (stabiliser 1e-6) on every Linear layer."""
    from zennit.rules import Flat

    return _explain(weights, biases, x, classes, Flat())


def zennit_w_square(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """Zennit's ``WSquare()`` (stabiliser 1e-6, the bias squared too) on every Linear layer."""
    from zennit.rules import WSquare

    return _explain(weights, biases, x, classes, WSquare())
