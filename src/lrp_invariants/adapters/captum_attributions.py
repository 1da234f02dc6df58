"""Captum's gradient-family attributions in the gate's target protocol: ``IntegratedGradients``
(its defaults: 50 Gauss-Legendre steps, a zero baseline), ``DeepLift`` (Rescale on ReLU
modules), ``InputXGradient`` and ``Saliency``. The ``*_from_baseline`` adapters take the
baseline as the fifth argument, as the ``baseline=given`` methods are called.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array
from . import from_numpy, to_numpy, torch_mlp


def _attribute(
    kind: str,
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike | None = None,
    init: dict[str, Any] | None = None,
    **options: Any,
) -> Array:
    import captum.attr
    import torch

    model = torch_mlp(weights, biases)
    inputs = from_numpy(x)
    target = torch.from_numpy(np.asarray(classes, dtype=np.int64))
    if baseline is not None:
        options["baselines"] = from_numpy(baseline)
    method = getattr(captum.attr, kind)(model, **(init or {}))
    with warnings.catch_warnings():  # Captum warns that it set requires_grad on the input
        warnings.simplefilter("ignore", UserWarning)
        return to_numpy(method.attribute(inputs, target=target, **options))


def captum_integrated_gradients(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """``IntegratedGradients`` with its defaults: zero baseline, 50 Gauss-Legendre nodes."""
    return _attribute("IntegratedGradients", weights, biases, x, classes)


def captum_integrated_gradients_from_baseline(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike,
) -> Array:
    """``IntegratedGradients`` from the given baseline (50 Gauss-Legendre nodes)."""
    return _attribute("IntegratedGradients", weights, biases, x, classes, baseline)


def captum_deeplift(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """``DeepLift`` with its defaults: zero reference, Rescale on the ReLU modules."""
    return _attribute("DeepLift", weights, biases, x, classes)


def _vanishing_eps(x: ArrayLike) -> float:
    """The smallest positive number of the input's precision: below it only an exact 0."""
    return float(np.finfo(np.asarray(x).dtype).smallest_subnormal)


def captum_deeplift_exact(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """``DeepLift(model, eps=<smallest subnormal>)``: the gradient replaces the multiplier only
    where the two pre-activations are equal, as in the exact definition. Captum's default
    ``eps=1e-10`` replaces it wherever they differ by less than 1e-10, an absolute constant."""
    return _attribute("DeepLift", weights, biases, x, classes, init={"eps": _vanishing_eps(x)})


def captum_deeplift_exact_from_baseline(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike,
) -> Array:
    """:func:`captum_deeplift_exact` against the given reference."""
    init = {"eps": _vanishing_eps(x)}
    return _attribute("DeepLift", weights, biases, x, classes, baseline, init=init)


def captum_deeplift_from_baseline(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike,
) -> Array:
    """``DeepLift`` against the given reference."""
    return _attribute("DeepLift", weights, biases, x, classes, baseline)


def captum_input_x_gradient(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """``InputXGradient``: gradient x input."""
    return _attribute("InputXGradient", weights, biases, x, classes)


def captum_saliency(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """``Saliency`` with its default ``abs=True``: the absolute gradient."""
    return _attribute("Saliency", weights, biases, x, classes)


def captum_saliency_signed(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike, classes: ArrayLike
) -> Array:
    """``Saliency(abs=False)``: the gradient itself."""
    return _attribute("Saliency", weights, biases, x, classes, abs=False)
