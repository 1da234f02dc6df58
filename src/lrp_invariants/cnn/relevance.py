"""Relevance and gradients on CNNs, pure functions of (cnn, trace, output relevance, rules).

Every linear layer (convolution, dense, average pooling, batch norm, a residual sum) goes
through its rule's ``propagate`` on the layer's :class:`~lrp_invariants.rules.operator.
LinearOperator`; ReLU and Flatten pass relevance on unchanged; max pooling is winner-take-all.
Each layer's :class:`~lrp_invariants.rules.operator.OperatorRelevance` keeps its sinks (bias or
batch norm shift ``Rb``, stabiliser ``Rs``, constant input ``Rm``, constant padding ``Rp``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array, Start, check_start, one_hot, starting_relevance
from ..rules import LRP0, Rule
from ..rules.operator import OperatorRelevance, propagate_repaired
from .batchnorm import BatchNorm
from .conv import Conv
from .model import CNN, CNNTrace, Layer, check_batch, forward, operator, sum_operator
from .pooling import AdaptiveAvgPool, AvgPool, MaxPool
from .residual import Residual, chain_shapes
from .simple import Dense, Flatten, ReLU


@dataclass(frozen=True)
class CNNRules:
    """Which rule runs where: ``weighted`` at convolutions and dense layers (one rule, or one per
    such layer in forward order, a residual block's branch before its downsample), ``pooling``
    at average pooling, ``batch_norm`` at a batch norm left as its own layer, ``sums`` at the
    sum of a residual block (the z-rule, LRP-0, by default)."""

    weighted: Rule | tuple[Rule, ...] = field(default_factory=LRP0)
    pooling: Rule = field(default_factory=LRP0)
    batch_norm: Rule = field(default_factory=LRP0)
    sums: Rule = field(default_factory=LRP0)


def weighted_layers(layers: Sequence[Layer]) -> list[Conv | Dense]:
    """Convolutions and dense layers in forward order (residual branches, then downsamples)."""
    found: list[Conv | Dense] = []
    for layer in layers:
        if isinstance(layer, Conv | Dense):
            found.append(layer)
        elif isinstance(layer, Residual):
            found.extend(weighted_layers(layer.branch))
            if layer.downsample is not None:
                found.append(layer.downsample)
    return found


@dataclass(frozen=True, eq=False)
class ResidualRelevance:
    """A residual block's relevance: at its sum (two inputs: branch and shortcut), through its
    branch, and through its downsample (None for the identity)."""

    R_out: Array
    R: Array
    sum: OperatorRelevance
    branch: CNNRelevance
    shortcut: OperatorRelevance | None

    def sinks(self) -> Array:
        total = self.sum.sinks() + self.branch.all_sinks()
        return total if self.shortcut is None else total + self.shortcut.sinks()


LayerResult = OperatorRelevance | ResidualRelevance


@dataclass(frozen=True, eq=False)
class CNNRelevance:
    """Every layer's relevance, ``layers[0]`` being the input layer."""

    layers: tuple[LayerResult, ...]

    @property
    def input(self) -> Array:
        """The heatmap, ``(n, *input_shape)``."""
        return self.layers[0].R

    @property
    def output_total(self) -> Array:
        return _row_sums(self.layers[-1].R_out)

    def all_sinks(self) -> Array:
        total = np.zeros_like(self.output_total)
        for layer in self.layers:
            total = total + layer.sinks()
        return total

    def total(self, layer: int) -> Array:
        """Per sample, layer ``layer``'s input relevance plus every sink at and above it (the
        bias-proxy total): equal to :attr:`output_total` when relevance is conserved."""
        total = _row_sums(self.layers[layer].R)
        for above in self.layers[layer:]:
            total = total + above.sinks()
        return total


def _row_sums(a: Array) -> Array:
    result: Array = a.reshape(a.shape[0], -1).sum(axis=1)
    return result


Plan = tuple[Any, ...]


def _plan(
    layers: tuple[Layer, ...],
    shapes: Sequence[tuple[int, ...]],
    rules: CNNRules,
    weighted: Iterator[Rule],
    dtype: np.dtype[np.floating],
    where: str,
) -> Plan:
    """The rule of every layer (a residual block: its branch's plan, its downsample's rule),
    each checked against its layer before any work."""
    plan: list[Any] = []
    for i, layer in enumerate(layers):
        name, shape = f"{where}{i}", shapes[i]
        rule: Any = None
        if isinstance(layer, Conv | Dense):
            rule = next(weighted)
        elif isinstance(layer, AvgPool | AdaptiveAvgPool):
            rule = rules.pooling
        elif isinstance(layer, BatchNorm):
            rule = rules.batch_norm
        if isinstance(rule, Rule):
            try:
                rule.check_operator(i, operator(layer, shape, dtype))
            except ValueError as error:
                if where == "layer ":
                    raise
                # inside a residual branch: say which block the branch belongs to
                raise ValueError(f"{where.removesuffix(' layer ')}: {error}") from None
        if isinstance(layer, Residual):
            inner = chain_shapes(layer.branch, shape, "branch layer ")
            branch = _plan(layer.branch, inner, rules, weighted, dtype, f"{name}, branch layer ")
            down = None if layer.downsample is None else next(weighted)
            rules.sums.check_operator(i, sum_operator(shapes[i + 1], dtype))
            rule = (branch, down, rules.sums)
        plan.append(rule)
    return tuple(plan)


def rule_plan(cnn: CNN, rules: Rule | CNNRules) -> Plan:
    """Every layer's rule, validated against its layer before any work (ValueError and
    TypeError name the layer or the rule)."""
    chosen = CNNRules(weighted=rules) if isinstance(rules, Rule) else rules
    if not isinstance(chosen, CNNRules):
        raise TypeError(f"rules must be a Rule or CNNRules; got {type(rules).__name__}")
    count = len(weighted_layers(cnn.layers))
    per_layer = (
        (chosen.weighted,) * count if isinstance(chosen.weighted, Rule) else tuple(chosen.weighted)
    )
    if len(per_layer) != count:
        raise ValueError(
            f"got {len(per_layer)} rules for {count} convolution and dense layers; pass one rule, "
            "or one per such layer in forward order"
        )
    for i, rule in enumerate((*per_layer, chosen.pooling, chosen.batch_norm, chosen.sums)):
        if not isinstance(rule, Rule):
            raise TypeError(f"rule {i} is a {type(rule).__name__}, not a Rule")
    return _plan(cnn.layers, cnn.shapes, chosen, iter(per_layer), cnn.dtype, "layer ")


def _backward(
    layers: tuple[Layer, ...],
    plan: Plan,
    trace: CNNTrace,
    R: Array,
    dtype: np.dtype[np.floating],
) -> CNNRelevance:
    results: list[LayerResult] = []
    for i in range(len(layers) - 1, -1, -1):
        layer, a, z = layers[i], trace.inputs[i], trace.outputs[i]
        result: LayerResult
        if isinstance(layer, ReLU):
            result = OperatorRelevance(R_out=R, R=R)
        elif isinstance(layer, Flatten):
            result = OperatorRelevance(R_out=R, R=R.reshape(a.shape))
        elif isinstance(layer, MaxPool):
            result = OperatorRelevance(R_out=R, R=layer.route(a, R))
        elif isinstance(layer, Residual):
            block = trace.inner[i]
            assert block is not None
            branch_plan, down_rule, sum_rule = plan[i]
            both = np.stack([block.branch.logits, block.shortcut], axis=1)
            at_sum = propagate_repaired(
                sum_rule, sum_operator(z.shape[1:], dtype), both, block.total, R
            )
            branch = _backward(layer.branch, branch_plan, block.branch, at_sum.R[:, 0], dtype)
            shortcut = None
            R_short = at_sum.R[:, 1]
            if layer.downsample is not None:
                shortcut = propagate_repaired(
                    down_rule, layer.downsample.operator(a.shape[1:]), a, block.shortcut, R_short
                )
                R_short = shortcut.R
            result = ResidualRelevance(R, branch.input + R_short, at_sum, branch, shortcut)
        else:
            result = propagate_repaired(plan[i], operator(layer, a.shape[1:], dtype), a, z, R)
        results.append(result)
        R = result.R
    return CNNRelevance(tuple(reversed(results)))


def lrp(cnn: CNN, trace: CNNTrace, R_out: ArrayLike, rules: Rule | CNNRules) -> CNNRelevance:
    """Propagate ``R_out`` (n, classes) from the logits to the input."""
    plan = rule_plan(cnn, rules)
    R = np.asarray(R_out)
    if len(trace.inputs) != len(cnn.layers) or trace.inputs[0].shape[1:] != cnn.input_shape:
        raise ValueError("the trace does not belong to this CNN: run forward(cnn, x)")
    if R.shape != trace.logits.shape:
        raise ValueError(f"R_out must have the logits' shape {trace.logits.shape}; got {R.shape}")
    if R.dtype != cnn.dtype:
        raise TypeError(f"R_out has dtype {R.dtype} but the CNN is {cnn.dtype}")
    if not np.all(np.isfinite(R)):
        raise ValueError("R_out contains NaN or inf")
    return _backward(cnn.layers, plan, trace, R, cnn.dtype)


def check_classes(cnn: CNN, classes: ArrayLike, n: int) -> np.ndarray:
    array = np.asarray(classes)
    if array.shape != (n,):
        raise ValueError(f"classes must have shape ({n},), one per sample; got {array.shape}")
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"classes must be integers; got dtype {array.dtype}")
    if n and (array.min() < 0 or array.max() >= cnn.n_outputs):
        raise ValueError(f"a class is out of range for {cnn.n_outputs} outputs: {array.tolist()}")
    return array.astype(np.intp)


def logit_relevance(cnn: CNN, trace: CNNTrace, classes: ArrayLike, start: Start = "logit") -> Array:
    """The chosen class's logit (or 1, ``start="one"``), zero for the other outputs."""
    chosen = check_classes(cnn, classes, trace.logits.shape[0])
    return starting_relevance(chosen, trace.logits, start)


def explain(
    cnn: CNN, x: ArrayLike, classes: ArrayLike, rules: Rule | CNNRules, start: Start = "logit"
) -> tuple[CNNTrace, CNNRelevance]:
    """Forward ``x``, then propagate the chosen class logits back with ``rules`` (or ones,
    ``start="one"``, probabilities, ``start="probability"``, or a given (n, outputs) array)."""
    check_start(start)
    rule_plan(cnn, rules)  # bad rules fail before any work
    batch = check_batch(cnn, x)
    chosen = check_classes(cnn, classes, batch.shape[0])
    trace = forward(cnn, batch)
    return trace, lrp(cnn, trace, logit_relevance(cnn, trace, chosen, start), rules)


def _gradient(layers: tuple[Layer, ...], trace: CNNTrace, g: Array, dtype: np.dtype) -> Array:
    for i in range(len(layers) - 1, -1, -1):
        layer, a = layers[i], trace.inputs[i]
        if isinstance(layer, ReLU):
            g = g * (a > 0)
        elif isinstance(layer, Flatten):
            g = g.reshape(a.shape)
        elif isinstance(layer, MaxPool):
            g = layer.route(a, g)
        elif isinstance(layer, Residual):
            block = trace.inner[i]
            assert block is not None
            g = g * (block.total > 0)
            through = _gradient(layer.branch, block.branch, g, dtype)
            short = (
                g
                if layer.downsample is None
                else layer.downsample.operator(a.shape[1:]).transpose(g, "W")
            )
            g = through + short
        else:
            g = operator(layer, a.shape[1:], dtype).transpose(g, "W")
    return g


def gradient(cnn: CNN, trace: CNNTrace, classes: ArrayLike) -> Array:
    """d logit[class] / d x per sample, ``(n, *input_shape)``. ReLU'(0) is 0; at a tie in max
    pooling the gradient is split evenly among the maxima (a subgradient; the same split as
    LRP's, so that LRP-0 equals gradient x input there too)."""
    chosen = check_classes(cnn, classes, trace.logits.shape[0])
    g = one_hot(chosen, cnn.n_outputs, cnn.dtype)
    return _gradient(cnn.layers, trace, g, cnn.dtype)


def gradient_x_input(cnn: CNN, trace: CNNTrace, classes: ArrayLike) -> Array:
    """``x * d logit[class] / d x``."""
    result: Array = trace.inputs[0] * gradient(cnn, trace, classes)
    return result
