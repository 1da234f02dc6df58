"""Captum's ``captum.attr.LRP`` (https://captum.ai) in the gate's target protocol.

Captum deletes a module's ``rule`` attribute after every ``attribute()`` call, so each call
builds its model and sets the rules afresh. LRP starts from the target class output, the logit.
Every one runs through the torch protocol (:func:`lrp_invariants.torch.torch_target`), on the
CPU unless ``device=`` says otherwise (``functools.partial(captum_epsilon, device="cuda")``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from numpy.typing import ArrayLike

from ..network import Array
from ..targets import EPSILON
from ..torch import torch_target


def _explain(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    rule: Callable[[], Any],
    device: str,
) -> Array:
    """``LRP(model).attribute`` with ``rule()`` on every Linear layer, through the torch
    protocol on ``device`` (:func:`lrp_invariants.torch.torch_target` builds the model)."""

    def attribute(model: Any, inputs: Any, chosen: Any) -> Any:
        import torch
        from captum.attr import LRP

        for module in model:
            if isinstance(module, torch.nn.Linear):
                module.rule = rule()
        return LRP(model).attribute(inputs, target=chosen)

    return torch_target(attribute, device=device)(weights, biases, x, classes)


def captum_lrp_0(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Captum's ``EpsilonRule(epsilon=0)``: LRP-0."""
    from captum.attr._utils.lrp_rules import EpsilonRule

    return _explain(weights, biases, x, classes, lambda: EpsilonRule(epsilon=0.0), device)


def captum_epsilon(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Captum's ``EpsilonRule(epsilon=1e-9)``."""
    from captum.attr._utils.lrp_rules import EpsilonRule

    return _explain(weights, biases, x, classes, lambda: EpsilonRule(epsilon=EPSILON), device)


def captum_zplus(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Captum's ``Alpha1_Beta0_Rule``, which it calls z⁺ / deep Taylor."""
    from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule

    return _explain(weights, biases, x, classes, Alpha1_Beta0_Rule, device)


def captum_gamma(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Captum's ``GammaRule()`` (γ = 0.25) on every Linear layer: the weights become
    ``w + γ w⁺`` once, the bias stays, Captum's stabiliser 1e-9 divides."""
    from captum.attr._utils.lrp_rules import GammaRule

    return _explain(weights, biases, x, classes, GammaRule, device)


def captum_gamma_without_bias(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """Captum's ``GammaRule(set_bias_to_zero=True)``: the bias left out."""
    from captum.attr._utils.lrp_rules import GammaRule

    return _explain(weights, biases, x, classes, lambda: GammaRule(set_bias_to_zero=True), device)
