"""Smaller versions of a case: fewer samples, inputs, hidden units or output units.

Hypothesis shrinks the choices that drew a case. A change of shape moves every later choice
(one unit fewer in a layer leaves fewer weights to draw), and a case from the large size tier
lies in another integer range than the small tier, so the shrinker can stop at a case much
wider than the defect needs; how far it gets also changes between Hypothesis releases. These
reductions work on the case itself and keep whatever values Hypothesis left: the gate tries
them on a shrunk failure and keeps each one that still fails the same property.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from .cases import ReferenceCase, SeedCase
from .network import Linear, Network

Indices = NDArray[np.intp]


def _chunks(n: int) -> Iterator[Indices]:
    """Index sets to remove from ``n`` items, largest first: halves, quarters, ..., single items
    (never all of them: every axis keeps at least one item)."""
    size = n // 2
    while size >= 1:
        for start in range(0, n, size):
            removed = np.arange(start, min(start + size, n))
            if len(removed) < n:
                yield removed
        size //= 2


def without_samples(case: SeedCase, removed: Indices) -> SeedCase:
    """The case without the samples (rows of ``x1``, entries of ``classes``) in ``removed``."""
    keep = np.setdiff1d(np.arange(case.x1.shape[0]), removed)
    x0 = None if case.x0 is None else case.x0[keep]
    relevance = None if case.relevance is None else case.relevance[keep]
    return replace(case, x1=case.x1[keep], classes=case.classes[keep], x0=x0, relevance=relevance)


def without_inputs(case: SeedCase, removed: Indices) -> SeedCase:
    """The case without the input features in ``removed`` (columns of ``x1``, entries of
    ``m``, rows of the first weight matrix)."""
    keep = np.setdiff1d(np.arange(case.x1.shape[1]), removed)
    first, *rest = case.net1.layers
    layers = (Linear(first.W[keep], first.b), *rest)
    net1 = Network(layers, case.net1.output)
    x0 = None if case.x0 is None else case.x0[:, keep]
    data = None if case.data is None else case.data[:, keep]
    return replace(case, net1=net1, x1=case.x1[:, keep], m=case.m[keep], x0=x0, data=data)


def without_data(case: SeedCase, removed: Indices) -> SeedCase:
    """The case without the rows in ``removed`` of the data set patterns are learned from."""
    assert case.data is not None
    keep = np.setdiff1d(np.arange(case.data.shape[0]), removed)
    return replace(case, data=case.data[keep])


def without_units(case: SeedCase, layer: int, removed: Indices) -> SeedCase:
    """The case without the units in ``removed`` of Linear layer ``layer`` (its columns and
    biases, and the next layer's rows). Units of the last layer are output units: a class
    chosen for some sample is never removed, and the classes above it are renumbered."""
    layers = list(case.net1.layers)
    n_out = layers[layer].n_out
    keep = np.setdiff1d(np.arange(n_out), removed)
    layers[layer] = Linear(layers[layer].W[:, keep], layers[layer].b[keep])
    classes = case.classes
    if layer + 1 < len(layers):
        following = layers[layer + 1]
        layers[layer + 1] = Linear(following.W[keep], following.b)
    else:
        if np.isin(classes, removed).any():
            raise ValueError("a chosen class would be removed")
        classes = np.searchsorted(keep, classes).astype(classes.dtype)
    net1 = Network(tuple(layers), case.net1.output)
    relevance = case.relevance
    if relevance is not None and layer + 1 == len(layers):
        relevance = relevance[:, keep]  # the removed outputs start with nothing any more
    return replace(case, net1=net1, classes=classes, relevance=relevance)


Removal = tuple[str, int, Indices]
"""What one reduction takes out: ``("samples", 0, rows)``, ``("data", 0, rows)``,
``("inputs", 0, features)`` or ``("units", layer, units)``."""


def removals(case: SeedCase) -> Iterator[Removal]:
    """Every removal that leaves a valid case: fewer samples, then fewer inputs, then fewer
    units layer by layer (chosen output classes stay), large removals first."""
    for removed in _chunks(case.x1.shape[0]):
        yield "samples", 0, removed
    if case.data is not None:
        for removed in _chunks(case.data.shape[0]):
            yield "data", 0, removed
    for removed in _chunks(case.x1.shape[1]):
        yield "inputs", 0, removed
    last = case.net1.depth - 1
    for layer in range(case.net1.depth):
        for removed in _chunks(case.net1.layers[layer].n_out):
            if layer == last and np.isin(case.classes, removed).any():
                continue
            yield "units", layer, removed


def apply(case: SeedCase, removal: Removal) -> SeedCase:
    """``case`` with ``removal`` taken out."""
    kind, layer, removed = removal
    if kind == "samples":
        return without_samples(case, removed)
    if kind == "inputs":
        return without_inputs(case, removed)
    if kind == "data":
        return without_data(case, removed)
    return without_units(case, layer, removed)


def smaller_cases(case: SeedCase) -> Iterator[SeedCase]:
    """Every case one removal smaller than ``case`` (see :func:`removals`)."""
    for removal in removals(case):
        yield apply(case, removal)


def smaller_reference_cases(reference_case: ReferenceCase) -> Iterator[ReferenceCase]:
    """Every reference case one removal smaller: the reference loses the same samples and
    input features as the input."""
    case, x0 = reference_case.case, reference_case.x0
    for removal in removals(case):
        kind, _, removed = removal
        if kind == "samples":
            kept = x0[np.setdiff1d(np.arange(x0.shape[0]), removed)]
        elif kind == "inputs":
            kept = x0[:, np.setdiff1d(np.arange(x0.shape[1]), removed)]
        else:
            kept = x0
        yield ReferenceCase(apply(case, removal), kept)


def reduce_while(
    reference_case: ReferenceCase, fails: Callable[[ReferenceCase], bool], limit: int = 200
) -> ReferenceCase:
    """The smallest reference case reached by removals that keep ``fails`` true (greedy, at
    most ``limit`` tries)."""
    tries, reduced = 0, True
    while reduced and tries < limit:
        reduced = False
        for smaller in smaller_reference_cases(reference_case):
            tries += 1
            if fails(smaller):
                reference_case, reduced = smaller, True
                break
            if tries >= limit:
                break
    return reference_case
