"""The demo's CNN section: the reply's experiment on a small convolutional network.

A CNN (a 3x3 convolution, max pooling, a second 3x3 convolution, both zero padded, a dense
head) is trained with numpy alone on the digits the MLP sees, then held to the seed's four
invariants for the shift ``m = -1`` per pixel. net2 compensates the shift in its first
convolution's bias, a bias *map*, since a border output's window reads zero padding and not the
shift (:mod:`lrp_invariants.cnn.constructions`); net3 keeps ``b1`` and takes ``-m`` as a
constant input. Every comparison is judged against the enclosures of
:mod:`lrp_invariants.cnn.bounds`, and Kindermans et al.'s table follows for the CNN.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from . import kindermans
from .bounds import Ball, Precision, add, agreement_tolerance, shifted_input
from .cnn import CNN, Conv, Dense, Flatten, MaxPool, ReLU, explain, forward, gradient
from .cnn.bounds import CNNBalls, enclose_cnn_forward, enclose_cnn_gradient, enclose_cnn_relevance
from .cnn.bounds.conservation import cnn_conservation_bound
from .cnn.constructions import shift_as_input
from .cnn.deeplift import deeplift_rescale
from .cnn.integrated import integrated_gradients
from .cnn_cases import CNNGateCase
from .demo import Check, Demo
from .invariants import Comparison
from .methods import METHODS
from .network import Array
from .rules import LRP0
from .rules.operator import OperatorRelevance

RULE = LRP0()  # the z-rule at every convolution and the dense layer, as on the MLP
CHANNELS = (8, 8)  # output channels of the two convolutions
EPOCHS = 10
BATCH = 32
LEARNING_RATE = 0.01  # Adam's step
IG_DIGITS = 5  # exact integrated gradients walk every kink of the path: a few digits suffice

Params = list[Array]  # W1, b1 (first convolution), W2, b2 (second), W3, b3 (dense head)


# --------------------------------------------------------------------------------------------
# Training, numpy only: im2col convolutions, their gradients written out, Adam.


def _windows(x: Array) -> Array:
    """im2col: every 3x3 window of the zero-padded batch ``(n, C, H, W)`` as a row
    ``(n H W, C 9)``, in the order of the weights' ``(C, 3, 3)``."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    view = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))
    return view.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * w, c * 9)


def _conv(x: Array, W: Array, b: Array) -> tuple[Array, Array]:
    """A 3x3 convolution with zero padding 1 (torch's Conv2d), and the windows it read."""
    n, _, h, w = x.shape
    cols = _windows(x)
    z = cols @ W.reshape(W.shape[0], -1).T + b
    return z.reshape(n, h, w, -1).transpose(0, 3, 1, 2), cols


def _conv_backward(
    dz: Array, cols: Array, W: Array, shape: tuple[int, ...]
) -> tuple[Array, Array, Array]:
    """Gradients of a loss w.r.t. the weights, the bias and the input, from ``dz = dL/dz``:
    the windows' transpose, then col2im (every tap's share added back where it was read)."""
    n, c, h, w = shape
    rows = dz.transpose(0, 2, 3, 1).reshape(n * h * w, -1)
    dcols = (rows @ W.reshape(W.shape[0], -1)).reshape(n, h, w, c, 3, 3)
    dpadded = np.zeros((n, c, h + 2, w + 2))
    for i in range(3):
        for j in range(3):
            dpadded[:, :, i : i + h, j : j + w] += dcols[..., i, j].transpose(0, 3, 1, 2)
    return (rows.T @ cols).reshape(W.shape), rows.sum(axis=0), dpadded[:, :, 1:-1, 1:-1]


def _pool_backward(a: Array, pooled: Array, g: Array) -> Array:
    """The gradient through 2x2 max pooling, split evenly among tied maxima (as the package's
    :func:`~lrp_invariants.cnn.gradient`)."""
    n, c, h, w = a.shape
    wins = (a == pooled.repeat(2, axis=2).repeat(2, axis=3)).astype(np.float64)
    count = wins.reshape(n, c, h // 2, 2, w // 2, 2).sum(axis=(3, 5))
    share: Array = wins * (g / count).repeat(2, axis=2).repeat(2, axis=3)
    return share


def _logits(params: Params, x: Array) -> tuple[Array, tuple[Array, ...]]:
    """The forward pass of training, and what the backward pass needs."""
    W1, b1, W2, b2, W3, b3 = params
    z1, cols1 = _conv(x, W1, b1)
    a1 = np.maximum(z1, 0)
    p1 = a1.reshape(len(x), -1, 4, 2, 4, 2).max(axis=(3, 5))  # 2x2 max pooling, stride 2
    z2, cols2 = _conv(p1, W2, b2)
    features = np.maximum(z2, 0).reshape(len(x), -1)  # torch's NCHW flatten
    return features @ W3 + b3, (x, z1, cols1, a1, p1, z2, cols2, features)


def _gradients(params: Params, cache: tuple[Array, ...], dlogits: Array) -> Params:
    """Backpropagation of ``dlogits = dL/dlogits`` to every parameter."""
    W1, _, W2, _, W3, _ = params
    x, z1, cols1, a1, p1, z2, cols2, features = cache
    dz2 = (dlogits @ W3.T).reshape(z2.shape) * (z2 > 0)
    dW2, db2, dp1 = _conv_backward(dz2, cols2, W2, p1.shape)
    dz1 = _pool_backward(a1, p1, dp1) * (z1 > 0)
    dW1, db1, _ = _conv_backward(dz1, cols1, W1, x.shape)
    return [dW1, db1, dW2, db2, features.T @ dlogits, dlogits.sum(axis=0)]


def _softmax_cross_entropy(logits: Array, y: Array) -> tuple[float, Array]:
    """Mean cross-entropy of the labels ``y`` and its gradient w.r.t. the logits."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = float(-np.log(p[rows, y]).mean())
    p[rows, y] -= 1
    return loss, p / len(y)


def as_cnn(params: Params) -> CNN:
    """The trained parameters as the package's CNN (weights ``(out, in, 3, 3)``, torch's)."""
    W1, b1, W2, b2, W3, b3 = params
    layers = (Conv(W1, b1, padding=1), ReLU(), MaxPool(2), Conv(W2, b2, padding=1), ReLU())
    return CNN((*layers, Flatten(), Dense(W3, b3)), (1, 8, 8))


def train_cnn(
    x: Array, y: Array, x_test: Array, y_test: Array, epochs: int, seed: int, demo: Demo
) -> Params:
    """He-initialised weights, softmax cross-entropy, Adam on mini-batches; deterministic
    from ``seed``. Prints the loss and test accuracy after each epoch."""
    rng = np.random.default_rng(seed)
    c1, c2 = CHANNELS
    params: Params = []
    for shape, fan_in, outputs in (((c1, 1, 3, 3), 9, c1), ((c2, c1, 3, 3), 9 * c1, c2)):
        params += [rng.normal(size=shape) * np.sqrt(2 / fan_in), np.zeros(outputs)]
    params += [rng.normal(size=(c2 * 16, 10)) * np.sqrt(2 / (c2 * 16)), np.zeros(10)]
    first = [np.zeros_like(w) for w in params]  # Adam's moments
    second = [np.zeros_like(w) for w in params]
    beta1, beta2, step = 0.9, 0.999, 0
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x))
        losses = []
        for begin in range(0, len(order), BATCH):
            batch = order[begin : begin + BATCH]
            logits, cache = _logits(params, x[batch])
            loss, dlogits = _softmax_cross_entropy(logits, y[batch])
            losses.append(loss * len(batch))
            step += 1
            for i, g in enumerate(_gradients(params, cache, dlogits)):
                first[i] = beta1 * first[i] + (1 - beta1) * g
                second[i] = beta2 * second[i] + (1 - beta2) * g * g
                corrected = first[i] / (1 - beta1**step)
                scale = np.sqrt(second[i] / (1 - beta2**step)) + 1e-8
                params[i] = params[i] - LEARNING_RATE * corrected / scale
        accuracy = float(np.mean(_logits(params, x_test)[0].argmax(axis=1) == y_test))
        demo.say(
            f"  epoch {epoch:2d}/{epochs}: loss {sum(losses) / len(x):.4f}, "
            f"test accuracy {accuracy:.2%} ({time.perf_counter() - start:.1f} s)"
        )
    return params


# --------------------------------------------------------------------------------------------
# The invariants, each judged against the CNN enclosures.


def _agree(claim: str, actual: Array, expected: Array, a: Ball, b: Ball) -> list[Comparison]:
    """``actual == expected`` where their exact values are equal and ``a``, ``b`` enclose them."""
    return [Comparison(claim, actual, expected, agreement_tolerance(a, b))]


def _kinks(cnn: CNN, balls: CNNBalls, p: Precision) -> int:
    """How many ReLU inputs may have either sign, and max-pooling windows of a possibly
    positive maximum that may have more than one winner: where the exact gradient and LRP-0
    may take either branch (a window of zeros routes nothing past its ReLUs)."""
    count = 0
    for layer, a in zip(cnn.layers, balls.inputs, strict=True):
        lo, hi = a.bounds(p)
        if isinstance(layer, ReLU):
            count += int(np.count_nonzero((lo <= 0) & (hi > 0)))
        elif isinstance(layer, MaxPool):
            high = layer.windows(hi)
            floor = layer.windows(lo).max(axis=(-2, -1), keepdims=True)
            winners = (high >= floor).sum(axis=(-2, -1))
            count += int(np.count_nonzero((winners > 1) & (high.max(axis=(-2, -1)) > 0)))
    return count


def _conservation(cnn: CNN, x: Array, balls: CNNBalls, classes: Array) -> list[Comparison]:
    """At every layer, input relevance plus every sink at and above it (bias, bias map,
    stabiliser, net3's ``-m``) equals the logit, within the rounding bound of that layer and
    those above (:func:`~lrp_invariants.cnn.bounds.conservation.cnn_conservation_bound`)."""
    p = Precision.of(cnn.dtype)
    relevance = explain(cnn, x, classes, RULE)[1]
    layers = enclose_cnn_relevance(cnn, balls, classes, RULE, p)
    return [
        Comparison(
            f"layer {i}: R + sinks at and above == logit",
            relevance.total(i),
            relevance.output_total,
            cnn_conservation_bound(layers[i:], p),
        )
        for i in range(len(cnn.layers))
    ]


def _invariants(demo: Demo, case: CNNGateCase, trainer_logits: Array) -> dict[str, Any]:
    """The seed's four invariants on the trained CNN (and its preconditions), as checks."""
    p, net1, net2, x1, x2, c = case.precision, case.net1, case.net2, case.x1, case.x2, case.classes
    net3 = shift_as_input(net1, case.m)
    balls1, balls2 = case.balls1, case.balls2  # balls2 encloses net1's exact pass at x1
    balls3 = enclose_cnn_forward(net3, shifted_input(x2, p), p)  # so does balls3
    t1, t2, t3 = forward(net1, x1), forward(net2, x2), forward(net3, x2)
    demo.check(
        "CNN reproduces its trainer's logits (im2col)",
        _agree("CNN == trainer", t1.logits, trainer_logits, balls1.logits, balls1.logits),
    )
    for i, layer in enumerate(net1.layers):
        demo.check(
            f"CNN activation equivalence, layer {i} ({type(layer).__name__}): net2, net3 == net1",
            [
                *_agree("net2", t2.outputs[i], t1.outputs[i], balls2.outputs[i], balls1.outputs[i]),
                *_agree("net3", t3.outputs[i], t1.outputs[i], balls3.outputs[i], balls1.outputs[i]),
            ],
        )
    kinks = _kinks(net2, balls2, p)
    g1, g2 = gradient(net1, t1, c), gradient(net2, t2, c)
    demo.check(
        "CNN gradient invariance: gradient(net2, x1 + m) == gradient(net1, x1)",
        _agree(
            "gradient(net2, x2) == gradient(net1, x1)",
            g2,
            g1,
            enclose_cnn_gradient(net2, balls2, c, p),
            enclose_cnn_gradient(net1, balls1, c, p),
        ),
        kinks,
    )
    demo.say(
        "  (a pooling window that reads only blank pixels and padding ties exactly in net1;\n"
        "   net2's bias map breaks the tie by rounding: another subgradient, within the bound)"
    )
    exact2 = enclose_cnn_forward(net2, Ball.exact(x2), p)  # net2 as it stands, its bias map
    nets = {"net1": (net1, x1, balls1), "net2": (net2, x2, exact2), "net3": (net3, x2, balls3)}
    for name, (network, x, balls) in nets.items():
        demo.check(
            f"CNN bias-proxy conservation, {name}, every layer: R + sinks == logit",
            _conservation(network, x, balls, c),
        )
    _, r1 = explain(net1, x1, c, RULE)
    _, r3 = explain(net3, x2, c, RULE)
    first = r3.layers[0]
    assert isinstance(first, OperatorRelevance) and first.Rm is not None
    ball1 = enclose_cnn_relevance(net1, balls1, c, RULE, p)[0]
    ball3 = enclose_cnn_relevance(net3, balls3, c, RULE, p)[0]
    assert ball3.Rm is not None
    demo.check(
        "CNN shift decomposition: rx1 == rx3 + rm3",
        _agree(
            "rx1 == rx3 + rm3", r1.input, first.R + first.Rm, ball1.R, add(ball3.R, ball3.Rm, p)
        ),
    )
    times_input = enclose_cnn_gradient(net1, balls1, c, p, times_input=True)
    demo.check(
        "CNN LRP-0 == gradient x input (biases present)",
        _agree("LRP-0 == gradient x input", r1.input, g1 * x1, ball1.R, times_input),
        _kinks(net1, balls1, p),
    )
    r2 = explain(net2, x2, c, RULE)[1].input
    changed = float(np.abs(r1.input - r2).max())
    demo.say(
        f"  and, as the reply says, LRP is not input-invariant: max |rx1 - rx2| = {changed:.4g}"
    )
    return {
        "kinks_net2": kinks,
        "lrp_input_change": changed,
        "decomposition_gap": float(np.abs(r1.input - (first.R + first.Rm)).max()),
        "figure": (r1.input[0], first.R[0], first.Rm[0]),
    }


# --------------------------------------------------------------------------------------------
# Kindermans et al.'s table on the CNN.

ENCLOSED = (  # enclosed on CNNs by this package: (spec, name, paper's verdict, reads the bias)
    ("gradient", "gradient (saliency)", "yes", False),
    ("gradient-x-input", "gradient x input", "no", False),
    ("lrp-0", "LRP-0", "no", True),
    ("lrp-epsilon", "LRP-ε", "no", True),
)
MEASURED = (  # computed on CNNs, not enclosed there yet: (method, reference moves, name, paper)
    (deeplift_rescale, False, "DeepLIFT, zero reference", "no"),
    (deeplift_rescale, True, "DeepLIFT, reference + m", "yes"),
    (integrated_gradients, False, "IG, zero baseline", "no"),
    (integrated_gradients, True, "IG, baseline + m", "yes"),
)


def _table(case: CNNGateCase) -> tuple[list[kindermans.Row], list[kindermans.Row]]:
    """The rows the CNN enclosures decide (as :mod:`.kindermans` does on the MLP), and the
    rows only measured: 'undecided', since the package encloses DeepLIFT and integrated
    gradients on dense networks only. net2's balls: around net1's exact pass for the gradient
    family; for LRP, which reads the bias map itself, around net2's own pass (its rounded map)."""
    n, decided, measured = case.x1.shape[0], [], []
    exact2 = enclose_cnn_forward(case.net2, Ball.exact(case.x2), case.precision)
    for spec, name, paper, reads_bias in ENCLOSED:
        method = METHODS[spec]
        r1 = method.cnn_relevance(case.net1, case.x1, case.classes)
        r2 = method.cnn_relevance(case.net2, case.x2, case.classes)
        balls2 = exact2 if reads_bias else case.balls2
        ball1 = case.enclose_role(method, "net1")
        ball2 = method.enclose_cnn(case.net2, balls2, case.classes, case.precision)
        decided.append(kindermans._row(name, paper, r1, r2, agreement_tolerance(ball2, ball1), n))
    for fn, moved, name, paper in MEASURED:
        k = IG_DIGITS if fn is integrated_gradients else n
        zero = np.zeros_like(case.x1[:k])
        r1 = fn(case.net1, case.x1[:k], case.classes[:k], zero)
        r2 = fn(case.net2, case.x2[:k], case.classes[:k], zero + case.m if moved else zero)
        change = float(np.abs(r2 - r1).max())
        measured.append(kindermans.Row(name, paper, change, "undecided", k, (r1[0], r2[0])))
    return decided, measured


def _print_table(demo: Demo, case: CNNGateCase) -> list[dict[str, object]]:
    """Print the table, check that every decided verdict agrees with the paper."""
    decided, measured = _table(case)
    n = case.x1.shape[0]
    demo.say(
        "\n  Kindermans et al.'s table on the CNN: is the method input-invariant under the shift?"
    )
    demo.say(f"  {'method':<28} {'paper':>6} {'here':>12} {'max |R(net2) - R(net1)|':>25}")
    for row, mark in [(row, " (!)") for row in decided] + [(row, " *") for row in measured]:
        verdict = row.verdict + ("" if row.agrees else mark)
        note = f"  ({row.samples} digits)" if row.samples != n else ""
        demo.say(
            f"  {row.method:<28} {row.paper:>6} {verdict:>12} {row.largest_change:>25.4g}{note}"
        )
    demo.say(
        "  * measured, not decided: the package encloses DeepLIFT and IG on dense networks only;\n"
        "    a blank reference ties every pooling window, which net2's bias map breaks by rounding"
    )
    wrong = any(not row.agrees for row in decided)
    name = "CNN Kindermans et al.'s table: every verdict agrees with the paper"
    demo.checks.append(Check(name, np.inf if wrong else 0.0, len(decided), 0))
    demo.say(demo.checks[-1].line())
    keys = ("method", "paper", "verdict", "largest_change", "samples")
    return [
        {key: getattr(row, key) for key in keys} | {"decided": flag}
        for rows, flag in ((decided, True), (measured, False))
        for row in rows
    ]


# --------------------------------------------------------------------------------------------
# The section.


def run_cnn_section(
    demo: Demo,
    X_train: Array,
    X_test: Array,
    y_train: Array,
    y_test: Array,
    out: Path,
    seed: int,
    *,
    epochs: int = EPOCHS,
    digits: int | None = None,
) -> None:
    """Train the CNN on ``X_train`` (the MLP's scaled digits, rows of 64), check the
    invariants and print Kindermans et al.'s table on the first ``digits`` test digits (all if
    None), draw ``cnn_shift_decomposition.png``; checks go to ``demo.checks``, numbers to
    ``demo.summary["cnn"]``."""
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1; got {epochs}")
    if digits is not None and not 1 <= digits <= len(X_test):
        raise ValueError(f"digits must be in 1..{len(X_test)} (or None for all); got {digits}")
    x_train = np.asarray(X_train, np.float64).reshape(-1, 1, 8, 8)
    x_test = np.asarray(X_test, np.float64).reshape(-1, 1, 8, 8)[:digits]
    labels = np.asarray(y_test)[:digits]
    c1, c2 = CHANNELS
    demo.say(
        f"\n6. a small CNN: conv 3x3 (1->{c1}, zero padding 1) - ReLU - max pool 2x2 - conv 3x3 "
        f"({c1}->{c2}, zero padding 1) - ReLU - dense ({c2 * 16}->10), numpy and Adam, "
        f"batch {BATCH}, on the same digits"
    )
    start = time.perf_counter()
    params = train_cnn(x_train, np.asarray(y_train), x_test, labels, epochs, seed, demo)
    seconds, net1 = time.perf_counter() - start, as_cnn(params)
    classes = forward(net1, x_test).logits.argmax(axis=1)
    accuracy = float(np.mean(classes == labels))
    case = CNNGateCase(net1, x_test, -np.ones((1, 8, 8)), classes)
    demo.say(
        f"  the invariants on {len(x_test)} test digits (accuracy {accuracy:.2%}), shift m = -1 "
        "per pixel;\n  net2's first bias is a map (zero padding), net3 takes -m as a constant input"
    )
    found = _invariants(demo, case, _logits(params, x_test)[0])
    rows = _print_table(demo, case)
    r1, rx3, rm3 = found.pop("figure")
    _figure(out / "cnn_shift_decomposition.png", x_test[0, 0], case.m[0], r1[0], rx3[0], rm3[0])
    demo.summary["cnn"] = dict(
        architecture=repr(net1), epochs=epochs, training_seconds=seconds, accuracy=accuracy
    )
    demo.summary["cnn"] |= {"test_digits": len(x_test), **found, "kindermans": rows}
    demo.summary["cnn"]["section_seconds"] = time.perf_counter() - start


def _figure(path: Path, x1: Array, m: Array, r1: Array, rx3: Array, rm3: Array) -> None:
    """Top: a digit, the shift and what net2 and net3 see; bottom: LRP-0 of net1, net3's
    relevance of ``-m`` and of ``x3``, and their sum against net1's (shared colour scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    v = max(float(np.abs(r1).max()), float(np.abs(rx3).max()), float(np.abs(rm3).max())) or 1.0
    figure, axes = plt.subplots(2, 4, figsize=(9.5, 5.4), layout="constrained")
    panels = [
        (x1, "input net1: x1", 1.0),
        (m, "+ shift m", 1.0),
        (x1 + m, "= x1 + m", 1.0),
        (x1 + m, "input net3: x3 (and -m)", 1.0),
        (r1, "R(net1 @ x1)", v),
        (rm3, "R(net3 @ -m)", v),
        (r1 - rm3, "R(net1 @ x1) - R(net3 @ -m)", v),
        (rx3, "= R(net3 @ x3)", v),
    ]
    for axis, (image, title, limit) in zip(axes.flat, panels, strict=True):
        axis.imshow(image, cmap="seismic", vmin=-limit, vmax=limit)
        axis.set_title(title, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(
        "CNN (zero padding): the shift's relevance accounts for the change, rx1 = rx3 + rm3",
        fontsize=10,
    )
    figure.savefig(path, dpi=120)
    plt.close(figure)
