"""DeepLIFT with the Rescale rule (Shrikumar et al. 2017) on ReLU MLPs, for any reference.

Each ReLU's derivative in the gradient's chain is replaced by its *multiplier*, the secant
slope ``m = Δa / Δz = (relu(z) - relu(z0)) / (z - z0)`` between the input's pre-activation ``z``
and the reference's ``z0``; Linear layers pass differences exactly. The result is
``R = (x - x0) ⊙ W_0 (m_1 ⊙ W_1 (... w_L[c]))``, and its sum is exactly
``f(x) - f(x0)`` (summation-to-delta): every layer maps differences to differences.

Where ``Δz = 0`` the secant is undefined and any multiplier keeps summation-to-delta (the unit
passes no difference); this module takes the ReLU's derivative at the input, ``relu'(z)`` with
``relu'(0) = 0``, as Captum does, so that a reference equal to the input gives the gradient's
chain.

With a zero reference and zero biases every ``z0`` is 0, every multiplier is ``relu'(z)``, and
DeepLIFT-Rescale is gradient x input (the property suite checks it); with a reference that
moves with a compensated shift (``x0 + m`` on net2) both passes see the same pre-activations,
so it is input-invariant, and with a fixed zero reference it is not (Kindermans et al.).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .network import Array, Network, check_classes, check_input, forward, one_hot


def rescale_multipliers(z: Array, z0: Array) -> Array:
    """``(relu(z) - relu(z0)) / (z - z0)``, and ``relu'(z)`` (0 at 0) where ``z == z0``.

    Always in [0, 1]: ReLU is monotone and 1-Lipschitz."""
    with np.errstate(over="ignore"):
        dz = z - z0
        da = np.maximum(z, 0) - np.maximum(z0, 0)
    huge = np.isinf(dz) & np.isfinite(z) & np.isfinite(z0)
    if huge.any():  # ends of opposite signs near the float range: the same slope from halves
        dz = np.where(huge, z / 2 - z0 / 2, dz)
        da = np.where(huge, np.maximum(z, 0) / 2 - np.maximum(z0, 0) / 2, da)
    same = dz == 0
    slope = np.divide(da, dz, out=np.zeros_like(dz), where=~same)
    return np.where(same, (z > 0).astype(z.dtype), slope)


def check_reference(network: Network, x: Array, reference: ArrayLike | None) -> Array:
    """The reference as an (n, d) batch of the network's dtype: zeros if None, one (d,) row
    for every sample, or one row per sample; ValueError naming the shape otherwise."""
    if reference is None:
        return np.zeros_like(x)
    x0 = np.asarray(reference)
    if x0.ndim == 1:
        x0 = np.broadcast_to(x0, x.shape)
    if x0.shape != x.shape:
        raise ValueError(
            f"the reference has shape {np.shape(reference)}; expected ({x.shape[1]},) or "
            f"{x.shape} (one per sample)"
        )
    return check_input(network, x0, "reference")


def deeplift_rescale(
    network: Network, x: ArrayLike, classes: ArrayLike, reference: ArrayLike | None = None
) -> Array:
    """DeepLIFT-Rescale relevance (n, d) of the chosen logits, against ``reference`` (zeros if
    None; a (d,) row or an (n, d) batch)."""
    batch = check_input(network, x)
    chosen = check_classes(network, classes, batch.shape[0])
    x0 = check_reference(network, batch, reference)
    trace, trace0 = forward(network, batch), forward(network, x0)
    g = one_hot(chosen, network.n_outputs, network.dtype)
    for i in range(network.depth - 1, -1, -1):
        g = g @ network.layers[i].W.T
        if i > 0:
            g *= rescale_multipliers(trace.z[i - 1], trace0.z[i - 1])
    return (batch - x0) * g
