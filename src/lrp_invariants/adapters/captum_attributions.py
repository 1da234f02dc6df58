"""Captum's gradient-family attributions in the gate's target protocol: ``IntegratedGradients``
(its defaults: 50 Gauss-Legendre steps, a zero baseline), ``DeepLift`` (Rescale on ReLU
modules), ``InputXGradient`` and ``Saliency``. The ``*_from_baseline`` adapters take the
baseline as the fifth argument, as the ``baseline=given`` methods are called. Every one runs
through the torch protocol (:func:`lrp_invariants.torch.torch_target`), on the CPU unless
``device=`` says otherwise.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array
from ..torch import torch_target
from . import from_numpy


def _attribute(
    kind: str,
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike | None = None,
    init: dict[str, Any] | None = None,
    device: str = "cpu",
    **options: Any,
) -> Array:
    """``captum.attr.<kind>(model, **init).attribute(x, target=classes, **options)`` through the
    torch protocol on ``device`` (the baseline, if any, moved there in its precision)."""

    def attribute(model: Any, inputs: Any, chosen: Any) -> Any:
        import captum.attr

        if baseline is not None:
            options["baselines"] = from_numpy(baseline, str(inputs.device))
        method = getattr(captum.attr, kind)(model, **(init or {}))
        with warnings.catch_warnings():  # Captum warns that it set requires_grad on the input
            warnings.simplefilter("ignore", UserWarning)
            return method.attribute(inputs, target=chosen, **options)

    return torch_target(attribute, device=device)(weights, biases, x, classes)


def captum_integrated_gradients(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """``IntegratedGradients`` with its defaults: zero baseline, 50 Gauss-Legendre nodes."""
    return _attribute("IntegratedGradients", weights, biases, x, classes, device=device)


def captum_integrated_gradients_from_baseline(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """``IntegratedGradients`` from the given baseline (50 Gauss-Legendre nodes)."""
    return _attribute("IntegratedGradients", weights, biases, x, classes, baseline, device=device)


def captum_deeplift(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """``DeepLift`` with its defaults: zero reference, Rescale on the ReLU modules."""
    return _attribute("DeepLift", weights, biases, x, classes, device=device)


def _vanishing_eps(x: ArrayLike) -> float:
    """The smallest positive number of the input's precision: below it only an exact 0."""
    return float(np.finfo(np.asarray(x).dtype).smallest_subnormal)


def captum_deeplift_exact(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """``DeepLift(model, eps=<smallest subnormal>)``: the gradient replaces the multiplier only
    where the two pre-activations are equal, as in the exact definition. Captum's default
    ``eps=1e-10`` replaces it wherever they differ by less than 1e-10, an absolute constant."""
    return _attribute(
        "DeepLift", weights, biases, x, classes, init={"eps": _vanishing_eps(x)}, device=device
    )


def captum_deeplift_exact_from_baseline(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """:func:`captum_deeplift_exact` against the given reference."""
    init = {"eps": _vanishing_eps(x)}
    return _attribute("DeepLift", weights, biases, x, classes, baseline, init=init, device=device)


def captum_deeplift_from_baseline(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """``DeepLift`` against the given reference."""
    return _attribute("DeepLift", weights, biases, x, classes, baseline, device=device)


def captum_input_x_gradient(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """``InputXGradient``: gradient x input."""
    return _attribute("InputXGradient", weights, biases, x, classes, device=device)


def captum_saliency(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """``Saliency`` with its default ``abs=True``: the absolute gradient."""
    return _attribute("Saliency", weights, biases, x, classes, device=device)


def captum_saliency_signed(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    *,
    device: str = "cpu",
) -> Array:
    """``Saliency(abs=False)``: the gradient itself."""
    return _attribute("Saliency", weights, biases, x, classes, abs=False, device=device)
