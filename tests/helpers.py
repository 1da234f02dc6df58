"""Small builders shared by the unit tests (the property suite draws its cases with Hypothesis)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from lrp_invariants import AlphaBeta, Network, ZPlus
from lrp_invariants.network import Array

# αβ and z⁺ as the libraries write them: a stabiliser, the bias ignored or whole, the weights
# clamped once (Zennit, Captum, iNNvestigate), for every test that runs each rule
ALPHA_BETA_CONVENTIONS = [
    AlphaBeta(2.0, 1.0, epsilon=1e-6),
    AlphaBeta(2.0, 1.0, bias="ignored"),
    AlphaBeta(1.5, 0.5, epsilon=0.1, bias="ignored"),
    AlphaBeta(2.0, 1.0, epsilon=1e-6, sign_aware=False),
    ZPlus(epsilon=1e-9, bias="whole", sign_aware=False),
    AlphaBeta(2.0, 1.0, bias="whole"),
    AlphaBeta(3.0, 2.0, epsilon=1e-3, bias="whole"),
    ZPlus(bias="ignored", sign_aware=False),
    ZPlus(epsilon=1e-7, bias="ignored"),
]


def random_network(
    rng: np.random.Generator,
    widths: Sequence[int],
    *,
    scale: float = 1.0,
    dtype: type[np.floating] = np.float64,
) -> Network:
    """Gaussian weights and biases for the given widths (input first)."""
    weights = [
        rng.normal(scale=scale, size=(a, b)).astype(dtype) for a, b in itertools.pairwise(widths)
    ]
    biases = [rng.normal(scale=scale, size=b).astype(dtype) for b in widths[1:]]
    return Network.from_arrays(weights, biases)


def random_batch(rng: np.random.Generator, network: Network, n: int = 4) -> Array:
    """A batch with both signs and some exact zeros."""
    x = rng.normal(size=(n, network.n_inputs)).astype(network.dtype)
    x[rng.random(x.shape) < 0.2] = 0
    return x


def plain_forward(
    weights: Sequence[Array], biases: Sequence[Array], x: Array
) -> tuple[list[Array], list[Array]]:
    """Every layer's input and pre-activation of a ReLU MLP, written out in numpy (for the
    hand-written targets of mutants.py and alternatives.py, which share nothing with the core)."""
    a, inputs, pre = x, [], []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        inputs.append(a)
        z = a @ W + b
        pre.append(z)
        a = np.maximum(z, 0) if i < len(weights) - 1 else z
    return inputs, pre


def logit_start(z_top: Array, classes: Array) -> Array:
    """The starting relevance: the chosen class's logit, zero elsewhere."""
    R = np.zeros_like(z_top)
    rows = np.arange(len(classes))
    R[rows, classes] = z_top[rows, classes]
    return R


def hand_network() -> Network:
    """The 2-2-1 network whose relevances the tests compute by hand (all exact in float).

    x = [1, 2]: z1 = [1 + 2 + 1, -1 + 2 - 2] = [4, -1], a1 = [4, 0], logit = 4 * 2 - 3 = 5.
    """
    return Network.from_arrays(
        [np.array([[1.0, -1.0], [1.0, 1.0]]), np.array([[2.0], [3.0]])],
        [np.array([1.0, -2.0]), np.array([-3.0])],
    )
