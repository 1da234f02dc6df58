"""The reply's networks, built from net1 and a shift ``m``.

* net2 (:func:`compensate_shift`): sees ``x2 = x1 + m``; its first bias absorbs the shift,
  ``b2 = b1 - m @ W1``, so every layer's activation equals net1's on ``x1``.
* net3 (:func:`shift_as_input`): keeps ``b1`` and takes ``-m`` as a second, constant input through
  the same ``W1`` (the reply's ``CustomLinear``), so the shift's relevance ``Rm`` is visible.
* the bias-proxy network (:func:`bias_proxy`): the reply's preferred treatment of biases (its
  option TWO). Every bias becomes an always-on input neuron relayed by identity units to the
  layer where it acts, so a bias-free network carries the same function and bias relevance
  arrives at the input.
* net1b (:func:`zero_first_bias`): net1 with its first bias removed, from the reply's table
  (net2b is net1 itself, fed the shifted input).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .network import Array, Linear, Network, check_input


def check_shift(network: Network, m: ArrayLike) -> Array:
    """Validate a shift ``m`` of shape ``(d,)`` for ``network``'s input."""
    shift = np.asarray(m)
    if shift.shape != (network.n_inputs,):
        raise ValueError(
            f"m must have shape ({network.n_inputs},), one value per input feature; "
            f"got {shift.shape}"
        )
    return check_input(network, shift[None, :], name="m")[0]


def _replace_first(network: Network, first: Linear) -> Network:
    return Network((first, *network.layers[1:]), network.output)


def compensate_shift(network: Network, m: ArrayLike) -> Network:
    """net2: the first bias becomes ``b1 - m @ W1``, so net2(x1 + m) reproduces net1(x1)."""
    shift = check_shift(network, m)
    first = network.layers[0]
    if first.constant is not None:
        raise ValueError("the first layer already has a constant input; compensate net1, not net3")
    return _replace_first(network, Linear(first.W, first.b - shift @ first.W))


def shift_as_input(network: Network, m: ArrayLike) -> Network:
    """net3: the first layer keeps ``b1`` and takes ``-m`` as a constant input through ``W1``."""
    shift = check_shift(network, m)
    first = network.layers[0]
    if first.constant is not None:
        raise ValueError("the first layer already has a constant input; build net3 from net1")
    return _replace_first(network, Linear(first.W, first.b, constant=-shift))


def zero_first_bias(network: Network) -> Network:
    """net1b: net1 with the first layer's bias set to zero."""
    first = network.layers[0]
    return _replace_first(network, Linear(first.W, np.zeros_like(first.b), first.constant))


def net3_as_plain_network(network: Network, m: ArrayLike) -> tuple[Network, Array]:
    """net3 as a plain MLP: its first layer takes ``[x3, -m]`` through stacked weights ``[W1; W1]``.

    Returns the network and the constant half of its input, ``-m``; a caller feeds
    ``np.hstack([x3, np.broadcast_to(-m, x3.shape)])``. Input relevance then splits into
    ``rx3`` (the first ``d`` columns) and ``rm3`` (the last ``d``), for code that knows no
    constant inputs.
    """
    shift = check_shift(network, m)
    first = network.layers[0]
    if first.constant is not None:
        raise ValueError("build the plain net3 from net1, which has no constant input")
    stacked = Linear(np.vstack([first.W, first.W]), first.b)
    return _replace_first(network, stacked), -shift


def bias_proxy(network: Network) -> Network:
    """A bias-free network with one always-on input per layer's bias (the reply's option TWO).

    Its input is ``[x, 1, ..., 1]`` (:func:`proxy_input`), one 1 per Linear layer. Layer ``l``
    takes the constant for its own bias through a weight row equal to ``b_l`` and relays the
    constants of the layers above through identity units (a ReLU passes 1 unchanged). Relevance at
    input ``d + l`` is the relevance of layer ``l``'s bias after ``l`` relays
    (:func:`split_proxy_relevance`).
    """
    if any(layer.constant is not None for layer in network.layers):
        raise ValueError("build the bias proxy from a network without constant inputs")
    depth, dtype = network.depth, network.dtype
    layers = []
    for i, layer in enumerate(network.layers):
        relays = depth - i - 1
        W = np.zeros((layer.n_in + 1 + relays, layer.n_out + relays), dtype=dtype)
        W[: layer.n_in, : layer.n_out] = layer.W
        W[layer.n_in, : layer.n_out] = layer.b
        W[layer.n_in + 1 :, layer.n_out :] = np.eye(relays, dtype=dtype)
        layers.append(Linear(W, np.zeros(layer.n_out + relays, dtype=dtype)))
    return Network(tuple(layers), network.output)


def proxy_input(network: Network, x: ArrayLike) -> Array:
    """``[x, 1, ..., 1]``: the bias-proxy network's input for a batch ``x`` of ``network``."""
    batch = check_input(network, x)
    ones = np.ones((batch.shape[0], network.depth), dtype=batch.dtype)
    return np.hstack([batch, ones])


def split_proxy_relevance(network: Network, R: ArrayLike) -> tuple[Array, Array]:
    """Split bias-proxy input relevance into ``(Rx, Rbias)``: (n, d) and (n, depth)."""
    relevance = np.asarray(R)
    d = network.n_inputs
    if relevance.ndim != 2 or relevance.shape[1] != d + network.depth:
        raise ValueError(
            f"expected relevance of shape (n, {d + network.depth}); got {relevance.shape}"
        )
    return relevance[:, :d], relevance[:, d:]


def _check_hidden(network: Network, layer: int) -> None:
    if not 0 <= layer < network.depth - 1:
        raise ValueError(
            f"layer {layer} has no hidden units to change: choose 0 <= layer < {network.depth - 1}"
        )


def permute_hidden_units(network: Network, layer: int, order: ArrayLike) -> Network:
    """Reorder layer ``layer``'s output units, and the next layer's inputs with them.

    The function is unchanged; only the order of the sums over hidden units differs.
    """
    _check_hidden(network, layer)
    perm = np.asarray(order)
    width = network.layers[layer].n_out
    if sorted(perm.tolist()) != list(range(width)):
        raise ValueError(f"order must be a permutation of range({width}); got {perm.tolist()}")
    here, after = network.layers[layer], network.layers[layer + 1]
    layers = list(network.layers)
    layers[layer] = Linear(here.W[:, perm], here.b[perm], here.constant)
    layers[layer + 1] = Linear(after.W[perm, :], after.b, after.constant)
    return Network(tuple(layers), network.output)


def rescale_hidden_unit(network: Network, layer: int, unit: int, exponent: int) -> Network:
    """Scale a hidden unit's incoming weights and bias by ``2**exponent``, its outgoing weights
    by ``2**-exponent``. A ReLU is positively homogeneous, so the function is unchanged.

    Powers of two scale floating-point numbers exactly, unless a product overflows or becomes
    subnormal; then this raises ValueError (see :func:`exact_rescaling_exponent`).
    """
    _check_hidden(network, layer)
    here, after = network.layers[layer], network.layers[layer + 1]
    if not 0 <= unit < here.n_out:
        raise ValueError(f"unit {unit} is out of range for layer {layer}'s {here.n_out} units")
    up, down = network.dtype.type(2.0**exponent), network.dtype.type(2.0**-exponent)
    W_in, b_in, W_out = here.W.copy(), here.b.copy(), after.W.copy()
    W_in[:, unit] *= up
    b_in[unit] *= up
    W_out[unit, :] *= down
    with np.errstate(over="ignore", under="ignore"):
        exact = (
            np.array_equal(W_in[:, unit] * down, here.W[:, unit])
            and b_in[unit] * down == here.b[unit]
            and np.array_equal(W_out[unit, :] * up, after.W[unit, :])
        )
    if not exact:
        raise ValueError(f"scaling unit {unit} of layer {layer} by 2**{exponent} is not exact")
    layers = list(network.layers)
    layers[layer] = Linear(W_in, b_in, here.constant)
    layers[layer + 1] = Linear(W_out, after.b, after.constant)
    return Network(tuple(layers), network.output)


def exact_rescaling_exponent(network: Network, layer: int, unit: int, exponent: int) -> int:
    """The exponent nearest to ``exponent`` (towards 0) whose rescaling is exact."""
    step = -1 if exponent > 0 else 1
    for candidate in range(exponent, 0, step):
        try:
            rescale_hidden_unit(network, layer, unit, candidate)
        except ValueError:
            continue
        return candidate
    return 0
