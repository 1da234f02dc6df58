"""Exact rational arithmetic oracles (Python's ``fractions``), sharing nothing with the core.

Every float is a rational number, and so is every breakpoint of a ReLU network's straight path
(a zero of a ratio of sums of products of floats): integrated gradients have an exact rational
value that these functions compute. Only for small networks: the numbers grow long.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from lrp_invariants import Network

Vector = list[Fraction]


def _layers(network: Network) -> list[tuple[list[Vector], Vector]]:
    """Each layer's W (in, out) and b as Fractions."""
    return [
        (
            [[Fraction(float(w)) for w in row] for row in layer.W],
            [Fraction(float(b)) for b in layer.b],
        )
        for layer in network.layers
    ]


def _affine(a: Vector, W: list[Vector], b: Vector) -> Vector:
    return [sum((a[i] * W[i][j] for i in range(len(a))), b[j]) for j in range(len(b))]


def _pre_activations(layers: list[tuple[list[Vector], Vector]], x: Vector) -> list[Vector]:
    zs, a = [], x
    for i, (W, b) in enumerate(layers):
        z = _affine(a, W, b)
        zs.append(z)
        if i < len(layers) - 1:
            a = [max(v, Fraction(0)) for v in z]
    return zs


def _gradient(layers: list[tuple[list[Vector], Vector]], x: Vector, chosen: int) -> Vector:
    zs = _pre_activations(layers, x)
    g = [W_row[chosen] for W_row in layers[-1][0]]  # d logit / d a[L-1]
    for i in range(len(layers) - 2, -1, -1):
        masked = [g[j] if zs[i][j] > 0 else Fraction(0) for j in range(len(g))]
        W = layers[i][0]
        g = [
            sum((W[r][j] * masked[j] for j in range(len(masked))), Fraction(0))
            for r in range(len(W))
        ]
    return g


def _ends(x: np.ndarray, x0: np.ndarray) -> tuple[Vector, Vector, Vector]:
    """A path's ends as Fractions, and ``x - x0``."""
    a = [Fraction(float(v)) for v in x]
    a0 = [Fraction(float(v)) for v in x0]
    return a, a0, [p - q for p, q in zip(a, a0, strict=True)]


def exact_integrated_gradients(
    network: Network, x: np.ndarray, x0: np.ndarray, classes: np.ndarray
) -> list[Vector]:
    """The exact integrated gradients of every sample, as Fractions."""
    layers = _layers(network)
    result = []
    for xi, x0i, chosen in zip(x, x0, classes, strict=True):
        a, a0, delta = _ends(xi, x0i)

        def point(t: Fraction, a0: Vector = a0, delta: Vector = delta) -> Vector:
            return [q + t * d for q, d in zip(a0, delta, strict=True)]

        t = [Fraction(0), Fraction(1)]
        for layer in range(len(layers) - 1):
            zs = [_pre_activations(layers, point(s))[layer] for s in t]
            inner = set()
            for k in range(len(t) - 1):
                for za, zb in zip(zs[k], zs[k + 1], strict=True):
                    if za * zb < 0:
                        inner.add(t[k] + (t[k + 1] - t[k]) * za / (za - zb))
            t = sorted(set(t) | inner)
        average = [Fraction(0)] * len(a)
        for k in range(len(t) - 1):
            g = _gradient(layers, point((t[k] + t[k + 1]) / 2), int(chosen))
            average = [s + (t[k + 1] - t[k]) * gi for s, gi in zip(average, g, strict=True)]
        result.append([d * s for d, s in zip(delta, average, strict=True)])
    return result


def _mean(values: list[Fraction]) -> Fraction:
    return sum(values, Fraction(0)) / len(values)


def exact_patterns(network: Network, data: np.ndarray) -> list[list[Vector]]:
    """Every layer's patterns as Fractions, ``A[i][j]`` the pattern (a list over the layer's
    inputs) of unit ``j``: ``cov(x, y) / var(y)`` over the samples where ``y > 0`` (all at
    the output), 0 where fewer than two or ``var(y)`` is 0."""
    layers = _layers(network)
    rows = [[Fraction(float(v)) for v in row] for row in data]
    result = []
    for i, (W, b) in enumerate(layers):
        last = i == len(layers) - 1
        ys = [_affine(a, W, b) for a in rows]
        patterns = []
        for j in range(len(b)):
            chosen = [s for s, y in enumerate(ys) if last or y[j] > 0]
            if len(chosen) < 2:
                patterns.append([Fraction(0)] * len(W))
                continue
            y = [ys[s][j] for s in chosen]
            y_mean = _mean(y)
            var = _mean([(v - y_mean) ** 2 for v in y])
            if var == 0:
                patterns.append([Fraction(0)] * len(W))
                continue
            pattern = []
            for k in range(len(W)):
                x = [rows[s][k] for s in chosen]
                x_mean = _mean(x)
                pattern.append(
                    _mean([(u - x_mean) * (v - y_mean) for u, v in zip(x, y, strict=True)]) / var
                )
            patterns.append(pattern)
        result.append(patterns)
        rows = [[max(v, Fraction(0)) for v in y] for y in ys]
    return result


def exact_pattern_method(
    method: str, network: Network, x: np.ndarray, classes: np.ndarray, data: np.ndarray
) -> list[Vector]:
    """PatternNet's signal or PatternAttribution's relevance of every sample, as Fractions."""
    layers = _layers(network)
    patterns = exact_patterns(network, data)
    result = []
    for xi, chosen in zip(x, classes, strict=True):
        a = [Fraction(float(v)) for v in xi]
        zs = _pre_activations(layers, a)
        g = [Fraction(0)] * len(zs[-1])
        g[int(chosen)] = zs[-1][int(chosen)]
        for i in range(len(layers) - 1, -1, -1):
            W = layers[i][0]
            A = patterns[i]

            def entry(r: int, j: int, W: list[Vector] = W, A: list[Vector] = A) -> Fraction:
                return A[j][r] * (W[r][j] if method == "pattern-attribution" else 1)

            g = [
                sum((entry(r, j) * g[j] for j in range(len(g))), Fraction(0)) for r in range(len(W))
            ]
            if i > 0:
                g = [v if zs[i - 1][r] > 0 else Fraction(0) for r, v in enumerate(g)]
        result.append(g)
    return result


def exact_quadrature(
    network: Network,
    x: np.ndarray,
    x0: np.ndarray,
    classes: np.ndarray,
    nodes: np.ndarray,
    weights: np.ndarray,
) -> list[Vector]:
    """``(x - x0) ⊙ Σ_k w_k ∇f(x0 + α_k (x - x0))`` of every sample, exactly, with the rule's
    float64 nodes and weights taken as the rationals they are (ReLU'(0) = 0)."""
    layers = _layers(network)
    result = []
    for xi, x0i, chosen in zip(x, x0, classes, strict=True):
        a, a0, delta = _ends(xi, x0i)
        total = [Fraction(0)] * len(a)
        for alpha, w in zip(nodes, weights, strict=True):
            point = [q + Fraction(float(alpha)) * d for q, d in zip(a0, delta, strict=True)]
            g = _gradient(layers, point, int(chosen))
            total = [s + Fraction(float(w)) * gi for s, gi in zip(total, g, strict=True)]
        result.append([d * s for d, s in zip(delta, total, strict=True)])
    return result
