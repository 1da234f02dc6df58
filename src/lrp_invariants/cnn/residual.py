"""A residual block: ``relu(branch(x) + shortcut(x))``, the shortcut the identity or a
convolution (a 1x1 downsample), and the sum as a linear layer of two inputs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..network import Array
from ..rules.operator import FramePart, Weights
from .conv import Conv


def chain_shapes(
    layers: tuple[Any, ...], in_shape: tuple[int, ...], where: str
) -> list[tuple[int, ...]]:
    """Every layer's input shape, then the output shape; ValueError naming the layer."""
    shapes = [tuple(in_shape)]
    for i, layer in enumerate(layers):
        try:
            shapes.append(tuple(layer.output_shape(shapes[-1])))
        except ValueError as error:
            raise ValueError(f"{where}{i} ({type(layer).__name__}): {error}") from None
    return shapes


@dataclass(frozen=True, eq=False)
class Residual:
    """``relu(branch(x) + x)``, or ``relu(branch(x) + downsample(x))`` with a convolution (torch's
    BasicBlock: the downsample is typically a strided 1x1 convolution, maybe followed by a batch
    norm folded into it). The branch is a tuple of layers."""

    branch: tuple[Any, ...]
    downsample: Conv | None = None

    def __post_init__(self) -> None:
        branch = tuple(self.branch)
        if not branch:
            raise ValueError("a residual branch needs at least one layer")
        if self.downsample is not None and not isinstance(self.downsample, Conv):
            raise TypeError(f"downsample must be a Conv; got {type(self.downsample).__name__}")
        object.__setattr__(self, "branch", branch)

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        out = chain_shapes(self.branch, in_shape, "branch layer ")[-1]
        short = in_shape if self.downsample is None else self.downsample.output_shape(in_shape)
        if out != short:
            raise ValueError(
                f"the branch gives shape {out} but the shortcut gives {short}"
                + (" (add a downsample convolution)" if self.downsample is None else "")
            )
        return out


@dataclass(frozen=True, eq=False)
class SumOperator:
    """``out = u + v`` as a linear layer whose input stacks the two summands, ``(2, *shape)``:
    every weight is 1, so every rule at a sum is the rule at a layer of ones."""

    shape: tuple[int, ...]
    dtype: np.dtype[np.floating]

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (2, *self.shape)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.shape

    @cached_property
    def bias(self) -> Array:
        return np.broadcast_to(np.zeros((), dtype=self.dtype), self.shape)

    @property
    def constant(self) -> Array | None:
        return None

    def fixed(self, part: FramePart, weights: Weights) -> Array | None:
        return None

    def product(self, v: Array, weights: Weights) -> Array:
        if weights == "neg":
            return np.zeros((v.shape[0], *self.shape), dtype=v.dtype)
        result: Array = v[:, 0] + v[:, 1]
        return result

    def transpose(self, s: Array, weights: Weights) -> Array:
        if weights == "neg":
            return np.zeros((s.shape[0], *self.in_shape), dtype=s.dtype)
        return np.stack([s, s], axis=1)
