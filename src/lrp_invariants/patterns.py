"""PatternNet and PatternAttribution (Kindermans et al. 2018) on ReLU MLPs.

A unit's pre-activation ``y = w·x + b`` mixes the *signal* in its input with *distractors*
that the weights cancel. The two-component estimator learns, from a data set, the direction
``a`` along which ``y`` varies: over the samples where the unit is active (``y > 0``; the
others pass nothing through its ReLU),

    ``a = cov(x, y) / (wᵀ cov(x, y))``        (``wᵀ cov(x, y)`` is ``var(y)``).

The output layer, linear, uses every sample (the linear estimator). Both passes then run the
gradient's backward chain at the explained input, ReLU gates and all, from the chosen logit
``y_c`` (the signal of the output is the output itself), with each layer's ``W`` replaced:

- **PatternNet** by the patterns ``A``: the signal in the input that the logit responds to;
- **PatternAttribution** by ``W ⊙ A``: how much of the logit each input's signal accounts for.

Covariances do not see a constant shift of the data, and the gates do not see a compensated
one: with the patterns learned on the shifted data that net2 sees (``data + m``), both are
input-invariant (Kindermans et al., "The (Un)reliability of saliency methods").

0/0 is 0: a unit active on fewer than two samples, or whose ``y`` does not vary over them, has
the pattern 0 (no direction to learn); so does one whose denominator rounds to 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .network import Array, Network, check_classes, check_input, forward, one_hot

PATTERN_METHODS = ("pattern-net", "pattern-attribution")
"""The two passes on learned patterns: the signal, and the attribution."""


def check_data(network: Network, data: ArrayLike) -> Array:
    """The data patterns are learned from: an (N, d) batch of the network's dtype, N >= 1."""
    array = check_input(network, data, "data")
    if array.shape[0] == 0:
        raise ValueError("data has no samples: patterns are learned from at least one")
    return array


def unit_pattern(W: Array, x: Array, y: Array, active: np.ndarray) -> Array:
    """The patterns ``A`` (in, out) of one layer: ``a_j = cov(x, y_j) / (w_jᵀ cov(x, y_j))``
    over the samples where ``active[:, j]`` (N, out), 0 where that is 0/0.

    The data are centred first: covariances are the same, and their sums do not cancel a
    large common offset (a shifted input) in rounding."""
    selected = active.astype(x.dtype)
    count = selected.sum(axis=0)
    centred = x - x.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        y_mean = np.where(count > 0, (selected * y).sum(axis=0) / count, 0)
        # Σ_S (x - c)(y - ȳ) is the same for every constant c: Σ_S (y - ȳ) = 0
        deviation = selected * (y - y_mean)
        cov = (deviation.T @ centred) / np.where(count > 0, count, 1)[:, None]  # (out, in)
    variance = np.einsum("ji,ij->j", cov, W)  # w_jᵀ cov_j
    nonzero = (variance != 0) & (count > 1)
    A = np.zeros_like(cov)
    np.divide(cov, variance[:, None], out=A, where=nonzero[:, None])
    return A.T


def learn_patterns(network: Network, data: ArrayLike) -> tuple[Array, ...]:
    """Every layer's patterns (in, out) from ``data`` (N, d): the two-component estimator
    (active samples) before a ReLU, the linear one (all samples) at the output."""
    samples = check_data(network, data)
    trace = forward(network, samples)
    patterns = []
    for i, layer in enumerate(network.layers):
        y = trace.z[i]
        active = y > 0 if i < network.depth - 1 else np.ones(y.shape, dtype=bool)
        patterns.append(unit_pattern(layer.W, trace.a[i], y, active))
    return tuple(patterns)


def backward_with(
    network: Network, matrices: Sequence[Array], x: ArrayLike, classes: ArrayLike
) -> Array:
    """The gradient's backward chain at ``x`` from the chosen logit, each ``W`` replaced by
    ``matrices[i]`` (in, out): ``y_c · M_0 D_1 M_1 ... D_L M_L e_c`` per sample (n, d)."""
    batch = check_input(network, x)
    chosen = check_classes(network, classes, batch.shape[0])
    trace = forward(network, batch)
    rows = np.arange(batch.shape[0])
    g = one_hot(chosen, network.n_outputs, network.dtype)
    g[rows, chosen] = trace.logits[rows, chosen]
    for i in range(network.depth - 1, -1, -1):
        g = g @ matrices[i].T
        if i > 0:
            g *= trace.z[i - 1] > 0
    return g


def pattern_net(network: Network, x: ArrayLike, classes: ArrayLike, data: ArrayLike) -> Array:
    """PatternNet's signal (n, d) of the chosen logits, with patterns learned on ``data``."""
    patterns = learn_patterns(network, data)
    return backward_with(network, patterns, x, classes)


def pattern_attribution(
    network: Network, x: ArrayLike, classes: ArrayLike, data: ArrayLike
) -> Array:
    """PatternAttribution (n, d) of the chosen logits, with patterns learned on ``data``."""
    patterns = learn_patterns(network, data)
    weighted = [layer.W * A for layer, A in zip(network.layers, patterns, strict=True)]
    return backward_with(network, weighted, x, classes)
