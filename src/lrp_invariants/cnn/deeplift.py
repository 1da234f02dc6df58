"""DeepLIFT-Rescale (Shrikumar et al. 2017) on CNNs, against any reference ``x0``.

Multipliers ``Δout / Δin`` are chained backward like a gradient. Linear layers (convolutions,
average pooling, batch norm, dense layers, a residual block's sum and downsample) map
differences to differences exactly, so they pass multipliers through their transpose; a ReLU's
multiplier is the Rescale secant ``(relu(z) - relu(z0)) / (z - z0)``, its derivative at the
input where ``z == z0`` (:func:`lrp_invariants.deeplift.rescale_multipliers`). The result is
``(x - x0) ⊙ m`` and sums to ``f(x) - f(x0)`` (summation-to-delta).

Max pooling. A window's maximum has gradient ``e`` at the input (its winners, split evenly
where they tie) and ``e0`` at the reference. Its multiplier here is the convex combination
``λ e + (1 - λ) e0`` that passes the window's difference exactly:

    Δmax = λ u + (1 - λ) u0,   u = e · Δa,   u0 = e0 · Δa.

Such a ``λ`` in [0, 1] always exists: ``u >= Δmax >= u0``, because ``max(a) = e · a`` while
``max(a0) >= e · a0``, and ``max(a0) = e0 · a0`` while ``max(a) >= e0 · a``. Where ``u == u0``
every ``λ`` passes it and ``λ = 1`` (the gradient at the input, as at a ReLU whose two ends
meet). This is Rescale's own rule: a ReLU is the maximum of the window ``{z, 0}``, and the
formula gives its secant slope (``λ = z / (z - z0)`` for ``z > 0 >= z0``). Overlapping windows
add up, like any transpose. Not chosen: the paper's gradient routing at the input alone (``λ =
1``), which loses ``Δmax - u`` wherever the winner at the reference is another input, and a
rescale of ``Δmax / Δa_winner`` through an unpooling of the input's winners (Captum), which
divides by a difference that may be 0 or of the other sign, and with overlapping windows
scatters onto one input the quotients of several windows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..deeplift import rescale_multipliers
from ..network import Array, one_hot
from .integrated import check_baseline
from .model import CNN, CNNTrace, Layer, check_batch, forward, operator
from .pooling import MaxPool
from .relevance import check_classes
from .residual import Residual
from .simple import Flatten, ReLU


def max_pool_share(pool: MaxPool, a: Array, a0: Array) -> Array:
    """Per window ``(n, C, *out)``, the weight ``λ`` in [0, 1] of the input's winners in the
    window's multiplier ``λ e + (1 - λ) e0`` (see the module's docstring)."""
    view, view0 = pool.windows(a), pool.windows(a0)
    axes = tuple(range(-pool.dims, 0))
    top, top0 = view.max(axis=axes), view0.max(axis=axes)
    expand: tuple[Any, ...] = (Ellipsis,) + (None,) * pool.dims
    winners, winners0 = view == top[expand], view0 == top0[expand]
    with np.errstate(invalid="ignore", over="ignore"):
        difference = view - view0  # NaN only at the padding, never a winner
        u = np.where(winners, difference, 0).sum(axis=axes) / winners.sum(axis=axes)
        u0 = np.where(winners0, difference, 0).sum(axis=axes) / winners0.sum(axis=axes)
        spread = u - u0
        share = np.divide((top - top0) - u0, spread, out=np.ones_like(spread), where=spread != 0)
    result: Array = np.clip(np.nan_to_num(share, nan=1.0), 0, 1).astype(a.dtype)
    return result


def _multipliers(layers: tuple[Layer, ...], trace: CNNTrace, trace0: CNNTrace, m: Array) -> Array:
    """Chain the multipliers ``m`` of the last layer's output back to the first's input."""
    for i in range(len(layers) - 1, -1, -1):
        layer, a, a0 = layers[i], trace.inputs[i], trace0.inputs[i]
        if isinstance(layer, ReLU):
            m = m * rescale_multipliers(a, a0)
        elif isinstance(layer, Flatten):
            m = m.reshape(a.shape)
        elif isinstance(layer, MaxPool):
            share = max_pool_share(layer, a, a0)
            m = layer.route(a, m * share) + layer.route(a0, m * (1 - share))
        elif isinstance(layer, Residual):
            block, block0 = trace.inner[i], trace0.inner[i]
            assert block is not None and block0 is not None
            m = m * rescale_multipliers(block.total, block0.total)
            through = _multipliers(layer.branch, block.branch, block0.branch, m)
            short: Any = (
                m
                if layer.downsample is None
                else layer.downsample.operator(a.shape[1:]).transpose(m, "W")
            )
            m = through + short
        else:
            m = operator(layer, a.shape[1:], a.dtype).transpose(m, "W")
    return m


def multipliers(
    cnn: CNN, x: ArrayLike, classes: ArrayLike, reference: ArrayLike | None = None
) -> Array:
    """DeepLIFT-Rescale's multipliers ``(n, *input_shape)`` of the chosen logits with respect
    to the input, against ``reference`` (zeros if None; one sample for all, or one per sample)."""
    batch = check_batch(cnn, x)
    chosen = check_classes(cnn, classes, batch.shape[0])
    x0 = check_baseline(cnn, batch, reference, "reference")
    m = one_hot(chosen, cnn.n_outputs, cnn.dtype)
    return _multipliers(cnn.layers, forward(cnn, batch), forward(cnn, x0), m)


def deeplift_rescale(
    cnn: CNN, x: ArrayLike, classes: ArrayLike, reference: ArrayLike | None = None
) -> Array:
    """DeepLIFT-Rescale relevance ``(x - x0) ⊙ multipliers``, ``(n, *input_shape)``."""
    batch = check_batch(cnn, x)
    x0 = check_baseline(cnn, batch, reference, "reference")
    result: Array = (batch - x0) * multipliers(cnn, batch, classes, x0)
    return result
