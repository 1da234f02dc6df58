"""Pass: each output's relevance handed unchanged to its one input, ``R_i = R_i``.

Zennit's ``Pass`` hook, its rule at batch norms and activations (``layer_map_base``): a batch
norm left as its own layer passes its relevance on whatever its scale and shift, so nothing is
absorbed by the shift and the sign of the scale does not matter. It applies only to layers with
one input per output (a batch norm, an elementwise scale), checked before any work: on any other
layer "unchanged" means nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds.balls import Ball
from ..bounds.relevance import Enclosed, LayerBalls, LayerInput
from ..network import Array, LayerTrace, Linear
from .base import LayerRelevance, Rule
from .operator import LinearOperator, OperatorRelevance


def _one_input_per_output(W: Array) -> bool:
    return W.shape[0] == W.shape[1] and not np.any(W - np.diag(np.diag(W)))


@dataclass(frozen=True)
class Pass(Rule):
    """``R_i = R_j`` for the one output ``j`` that input ``i`` feeds (Zennit's ``Pass``).

    >>> Pass()                      # Zennit's rule at batch norms (no canonizer)
    """

    @property
    def name(self) -> str:
        return "lrp-pass"

    @property
    def scale_free(self) -> bool:
        return True  # no constant meets the unit's value: nothing is read at all

    def check_layer(self, index: int, layer: Linear) -> None:
        if not _one_input_per_output(layer.W):
            raise ValueError(
                f"layer {index}: pass hands each output's relevance to its one input, but this "
                f"layer ({layer.n_in} -> {layer.n_out}) is not one input per output (a batch "
                "norm, an elementwise scale)"
            )

    def check_operator(self, index: int, op: LinearOperator) -> None:
        # a diagonal operator maps v to d * v with d its image of ones: tested on 1, 2, ..., N
        # and on N integers in a fixed random order (exact; a diagonal layer rounds d_i v_i
        # alike in both), which a layer mixing its inputs passes only by a coincidence of its
        # weights on both at once
        if op.in_shape == op.out_shape:
            size = int(np.prod(op.in_shape))
            ramp = np.arange(1.0, size + 1.0)
            shuffled = np.random.default_rng(0).permutation(ramp)
            d = op.product(np.ones((1, *op.in_shape)), "W")
            if all(
                np.array_equal(op.product(v.reshape(1, *op.in_shape), "W"), d * v.reshape(d.shape))
                for v in (ramp, shuffled)
            ):
                return
        raise ValueError(
            f"layer {index}: pass hands each output's relevance to its one input, but this "
            f"layer ({op.in_shape} -> {op.out_shape}) is not one input per output (a batch "
            "norm, an elementwise scale)"
        )

    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        zeros = np.zeros_like(R)
        Rm = None if layer.constant is None else np.zeros_like(forward.a)
        return LayerRelevance(R_out=R, R=R.copy(), Rb=zeros, Rs=zeros.copy(), Rm=Rm)

    def shares(self, layer: Linear, a: Array, z: Array) -> tuple[Array, Array]:
        n, sources = a.shape[0], layer.n_in * (1 if layer.constant is None else 2) + 1
        shares = np.zeros((n, sources, layer.n_out), dtype=z.dtype)
        shares[:, np.arange(layer.n_in), np.arange(layer.n_out)] = 1
        return shares, np.zeros_like(z)

    def enclose(self, layer: LayerInput, incoming: Enclosed) -> tuple[LayerBalls, Enclosed]:
        """Exact: the received ball itself (no operation, no rounding)."""
        R = incoming.R
        n, out = R.mid.shape
        zeros = Ball.exact(np.zeros((n, out)))
        Rm = None if layer.c is None else Ball.exact(np.zeros((n, layer.W.shape[0])))
        balls = LayerBalls(
            R_out=R,
            R=R,
            Rb=zeros,
            Rs=zeros,
            Rm=Rm,
            mass=R.upper.sum(axis=1),
            length=0,
            underflow=np.zeros(n),
        )
        return balls, Enclosed(R, None, incoming.carry)

    def propagate(self, op: LinearOperator, a: Array, z: Array, R: Array) -> OperatorRelevance:
        zeros = np.zeros_like(R)
        return OperatorRelevance(
            R_out=R,
            R=R.reshape(a.shape).copy(),
            Rb=zeros,
            Rs=zeros.copy(),
            Rm=None if op.constant is None else np.zeros_like(a),
            magnitude=lambda: np.abs(R).reshape(R.shape[0], -1).sum(axis=1),
        )
