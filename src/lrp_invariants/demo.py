"""``lrp-invariants demo``: the reply's experiment, end to end, on real data.

Train a ReLU MLP on scikit-learn's handwritten digits (shipped with scikit-learn, no download),
import it, shift its inputs by a constant ``m``, and show that the shifted network behaves
identically, that its gradients do not change, that LRP relevance does change at the input —
and that the bias and shift-compensator sinks account for every bit of that change.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from . import kindermans
from .bounds import Ball, Precision, count_kinks, enclose_forward, probability_tolerance
from .cases import SeedCase
from .constructions import zero_first_bias
from .files import save_network
from .invariants import (
    Comparison,
    activation_equivalence,
    gradient_invariance,
    layerwise_conservation,
    lrp_0_is_gradient_times_input,
    shift_decomposition_core,
)
from .network import Array, Network, forward, gradient, predict_proba
from .relevance import Relevance, explain
from .rules import LRP0
from .sklearn import from_mlp_classifier

RULE = LRP0()  # the rule of the reply to Kindermans et al.


@dataclass
class Check:
    """One invariant on the real network, summarised from the suite's :class:`Comparison` s."""

    name: str
    worst_ratio: float
    compared: int
    at_kinks: int

    @classmethod
    def of(cls, name: str, comparisons: list[Comparison], kinks: int = 0) -> Check:
        return cls(
            name,
            max(c.worst_ratio() for c in comparisons),
            sum(int(np.size(c.error)) for c in comparisons),
            kinks + sum(c.vacuous() for c in comparisons),
        )

    @property
    def ok(self) -> bool:
        return self.worst_ratio <= 1.0

    def line(self) -> str:
        kinks = f", {self.at_kinks} at kinks" if self.at_kinks else ""
        mark = "ok  " if self.ok else "FAIL"
        return (
            f"  {mark} {self.name:<58} worst error {self.worst_ratio:8.3g} x its bound "
            f"({self.compared} values{kinks})"
        )


@dataclass
class Demo:
    """Everything the demo computes, so that the printout and the summary say the same thing."""

    out: Path
    stream: TextIO = sys.stdout
    summary: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def check(self, name: str, comparisons: list[Comparison], kinks: int = 0) -> None:
        check = Check.of(name, comparisons, kinks)
        self.checks.append(check)
        self.say(check.line())


def train(
    hidden: tuple[int, ...], epochs: int, seed: int, demo: Demo
) -> tuple[Any, Array, Array, Array, Array]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixel values 0..16 to [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    classifier = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation="relu",
        solver="sgd",
        batch_size=20,
        learning_rate_init=0.01,
        random_state=seed,
    )
    demo.say(
        f"training MLPClassifier {64}-{'-'.join(map(str, hidden))}-10 (ReLU, SGD, batch 20) "
        f"on {len(X_train)} digits of 8x8, testing on {len(X_test)}"
    )
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            classifier.partial_fit(X_train, y_train, classes=np.arange(10))
        accuracy = classifier.score(X_test, y_test)
        demo.say(
            f"  epoch {epoch:2d}/{epochs}: loss {classifier.loss_:.4f}, "
            f"test accuracy {accuracy:.2%} ({time.perf_counter() - start:.1f} s)"
        )
    return classifier, X_train, X_test, y_train, y_test


def _accuracy(network: Network, x: Array, y: Array) -> float:
    return float(np.mean(forward(network, x).logits.argmax(axis=1) == y))


def _layer_table(
    demo: Demo, title: str, relevance: Relevance, proxies: bool
) -> list[dict[str, object]]:
    """The reply's table: per module, the total, R at the input and R at the bias."""
    rows: list[dict[str, object]] = []
    demo.say(f"  {title}")
    depth = len(relevance.layers)
    module = 2 * depth - 1  # the reply's numbering: Linear 0, ReLU 1, ..., the output's softmax
    start = float(relevance.output_total.sum())
    demo.say(f"    layer {module} (Softmax): total {start: .10f}   (relevance starts at the logit)")
    rows.append(
        {"module": module, "kind": "Softmax", "total": start, "R_input": start, "R_bias": 0.0}
    )
    module -= 1
    for i in range(depth - 1, -1, -1):
        layer = relevance.layers[i]
        rx = float(layer.R.sum())
        rb = float(layer.Rb.sum())
        total = float(relevance.total(i).sum()) if proxies else rx + rb
        demo.say(
            f"    layer {module} (Linear): total {total: .10f}   R@input {rx: .10f}   "
            f"R@bias {rb: .10f}"
        )
        rows.append(
            {"module": module, "kind": "Linear", "total": total, "R_input": rx, "R_bias": rb}
        )
        module -= 1
        if i > 0:
            relu_total = total if proxies else rx  # a ReLU passes relevance on unchanged
            demo.say(
                f"    layer {module} (ReLU):   total {relu_total: .10f}   R@input {rx: .10f}"
                f"   R@bias  0"
            )
            rows.append(
                {
                    "module": module,
                    "kind": "ReLU",
                    "total": relu_total,
                    "R_input": rx,
                    "R_bias": 0.0,
                }
            )
            module -= 1
    return rows


def run_demo(
    out: Path | None = None,
    hidden: tuple[int, ...] = (1024, 1024),
    epochs: int = 10,
    seed: int = 0,
    stream: TextIO = sys.stdout,
) -> int:
    """Run the whole experiment; return 0 if every invariant holds, 1 otherwise."""
    if out is None:
        out = Path(f"lrp-demo-{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)
    demo = Demo(out, stream)
    demo.say(
        f"lrp-invariants demo: the reply's experiment on handwritten digits; writing to {out}/"
    )
    classifier, X_train, X_test, y_train, y_test = train(hidden, epochs, seed, demo)

    net1 = from_mlp_classifier(classifier)
    p = Precision.of(net1.dtype)
    demo.say("\n1. the imported network reproduces scikit-learn")
    logits_ball = enclose_forward(net1, Ball.exact(X_test)).z[-1]
    demo.check(
        "predict_proba of the imported network == scikit-learn's",
        [
            Comparison(
                "predict_proba == scikit-learn's",
                predict_proba(net1, X_test),
                classifier.predict_proba(X_test),
                probability_tolerance(logits_ball, net1.output, p),
            )
        ],
    )

    shifts = {
        "constant -1 per pixel (Kindermans et al.)": -np.ones(64),
        "0.3 x test digit 9 (the reply's pattern)": 0.3 * X_test[9],
    }
    demo.say("\n2. accuracy of the reply's networks on the test digits")
    table = []
    for label, m in shifts.items():
        case = SeedCase(net1, X_test, m, forward(net1, X_test).logits.argmax(axis=1))
        row = {
            "shift": label,
            "net1 (x1)": _accuracy(net1, X_test, y_test),
            "net2 (x1 + m, compensated)": _accuracy(case.net2, case.x2, y_test),
            "net2b (x1 + m, uncompensated)": _accuracy(net1, case.x2, y_test),
            "net1b (x1, first bias zeroed)": _accuracy(zero_first_bias(net1), X_test, y_test),
        }
        table.append(row)
        demo.say(f"  shift {label}:")
        for key, value in row.items():
            if key != "shift":
                demo.say(f"    {key:<32} {value:.2%}")
    demo.summary["accuracy"] = table

    m = shifts["constant -1 per pixel (Kindermans et al.)"]
    classes = forward(net1, X_test).logits.argmax(axis=1)
    case = SeedCase(net1, X_test, m, classes)
    _invariants(demo, case, p)
    _tables_and_figures(demo, case, out)
    # the pattern methods learn from the training digits (net2 from the shifted ones)
    _kindermans_table(demo, replace(case, data=X_train), out)
    # the trained network and its test digits as plain files, for the gate's own-network mode:
    # lrp-invariants check TARGET --method M --network OUT/network.npz --inputs OUT/inputs.npy
    save_network(net1, out / "network.npz")
    np.save(out / "inputs.npy", X_test)
    from .demo_cnn import run_cnn_section  # it builds on this module's Demo and Check

    run_cnn_section(demo, X_train, X_test, y_train, y_test, out, seed, epochs=epochs)

    failed = [check.name for check in demo.checks if not check.ok]
    demo.summary["checks"] = [check.__dict__ | {"ok": check.ok} for check in demo.checks]
    demo.summary["failed"] = failed
    (out / "summary.json").write_text(json.dumps(demo.summary, indent=2, default=float) + "\n")
    demo.say(
        f"\nwrote {out}/relevance_and_sensitivity.png, {out}/shift_decomposition.png, "
        f"{out}/kindermans.png, {out}/cnn_shift_decomposition.png, {out}/summary.json"
    )
    if failed:
        demo.say(f"FAILED: {', '.join(failed)}")
        return 1
    demo.say("every invariant holds on the trained network")
    return 0


def _invariants(demo: Demo, case: SeedCase, p: Precision) -> None:
    """The property suite's checks (:mod:`lrp_invariants.invariants`) on the trained network."""
    kinks = count_kinks(case.balls2, p)
    demo.say(f"\n3. the invariants on all {case.x1.shape[0]} test digits, shift m = -1 per pixel")
    equivalence = activation_equivalence(case)
    for i in range(case.net1.depth):
        demo.check(
            f"activation equivalence, layer {i}: net2 @ x1 + m == net1 @ x1",
            [c for c in equivalence if c.claim == f"z[{i}] of net2 == z[{i}] of net1"],
            kinks,
        )
    demo.check(
        "gradient invariance: gradient(net2, x1 + m) == gradient(net1, x1)",
        gradient_invariance(case),
    )
    for name, network, x in (
        ("net1", case.net1, case.x1),
        ("net2", case.net2, case.x2),
        ("net3", case.net3, case.x2),
    ):
        for i, comparison in enumerate(layerwise_conservation(network, x, case.classes, RULE)):
            demo.check(
                f"bias-proxy conservation, {name}, layer {i}: R + sinks == logit", [comparison]
            )
    demo.check("shift decomposition: rx1 == rx3 + rm3", shift_decomposition_core(case, RULE))
    demo.check("LRP-0 == gradient x input (biases present)", lrp_0_is_gradient_times_input(case))
    r1 = explain(case.net1, case.x1, case.classes, RULE)[1]
    r2 = explain(case.net2, case.x2, case.classes, RULE)[1]
    changed = np.abs(r1.input - r2.input).max()
    demo.say(
        f"  and, as the reply says, LRP is not input-invariant: max |rx1 - rx2| = {changed:.4g}"
    )
    demo.summary["lrp_input_change"] = float(changed)


def _tables_and_figures(demo: Demo, case: SeedCase, out: Path) -> None:
    index = 0  # the reply's II = 0
    x1, m = case.x1[index : index + 1], case.m
    x2 = x1 + m
    c = case.classes[index : index + 1]
    t1, r1 = explain(case.net1, x1, c, RULE)
    t2, r2 = explain(case.net2, x2, c, RULE)
    _, r3 = explain(case.net3, x2, c, RULE)
    demo.say(
        f"\n4. relevance of test digit {index} (class {int(c[0])}, logit "
        f"{float(t1.logits[0, c[0]]):.10f}), LRP-0"
    )
    tables = {
        "net1": _layer_table(demo, "total relevance per layer, net1", r1, proxies=False),
        "net2": _layer_table(demo, "total relevance per layer, net2", r2, proxies=False),
        "net1 with bias proxies": _layer_table(
            demo, "with bias proxies (constant total), net1", r1, proxies=True
        ),
        "net2 with bias proxies": _layer_table(
            demo, "with bias proxies (constant total), net2", r2, proxies=True
        ),
    }
    first = r3.layers[0]
    assert first.Rm is not None
    gap = float(np.abs(r1.input - (first.R + first.Rm)).max())
    demo.say(
        f"  net3 decomposition: max |rx1 - (rx3 + rm3)| = {gap:.3g}; "
        f"R@-m sums to {float(first.Rm.sum()):.10f}"
    )
    demo.summary["tables"] = tables
    demo.summary["decomposition_gap"] = gap
    (decomposition,) = shift_decomposition_core(SeedCase(case.net1, x1, m, c), RULE)
    demo.summary["decomposition_gap_to_bound"] = decomposition.worst_ratio()
    s1 = gradient(case.net1, t1, c)
    s2 = gradient(case.net2, t2, c)
    _figures(out, x1[0], x2[0], m, r1.input[0], r2.input[0], s1[0], s2[0], first.R[0], first.Rm[0])


def _kindermans_table(demo: Demo, case: SeedCase, out: Path) -> None:
    """Kindermans et al.'s table of methods on the trained network (:mod:`.kindermans`)."""
    rows = kindermans.table(case)
    demo.say("\n5. Kindermans et al.'s table: is the method input-invariant under the shift?")
    demo.say(f"  {'method':<28} {'paper':>6} {'here':>10} {'max |R(net2) - R(net1)|':>25}")
    for row in rows:
        verdict = row.verdict + ("" if row.agrees else " (!)")
        demo.say(
            f"  {row.method:<28} {row.paper:>6} {verdict:>10} {row.largest_change:>25.4g}"
            + (f"  ({row.samples} digits)" if row.samples != case.x1.shape[0] else "")
        )
    disagree = [row.method for row in rows if not row.agrees]
    demo.checks.append(
        Check(
            "Kindermans et al.'s table: every verdict agrees with the paper",
            0.0 if not disagree else np.inf,
            len(rows),
            0,
        )
    )
    demo.say(demo.checks[-1].line())
    demo.summary["kindermans"] = [
        {
            "method": row.method,
            "paper": row.paper,
            "here": row.verdict,
            "largest_change": row.largest_change,
            "samples": row.samples,
        }
        for row in rows
    ]
    _kindermans_figure(out, rows)


def _kindermans_figure(out: Path, rows: list[kindermans.Row]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, len(rows), figsize=(1.6 * len(rows), 3.9), layout="constrained")
    for column, row in enumerate(rows):
        limit = max(float(np.abs(h).max()) for h in row.heatmaps) or 1.0
        names = ("net1 @ x1", "net2 @ x1 + m")
        for line, (heatmap, name) in enumerate(zip(row.heatmaps, names, strict=True)):
            axis = axes[line, column]
            axis.imshow(heatmap.reshape(8, 8), cmap="seismic", vmin=-limit, vmax=limit)
            axis.set_xticks([])
            axis.set_yticks([])
            if line == 0:
                axis.set_title(f"{row.method}\ninvariant: {row.verdict}", fontsize=7)
            if column == 0:
                axis.set_ylabel(name, fontsize=8)
    figure.suptitle("Test digit 0 under each method, net1 and net2 (shared scale per method)")
    figure.savefig(out / "kindermans.png", dpi=120)
    plt.close(figure)


def _figures(
    out: Path,
    x1: Array,
    x2: Array,
    m: Array,
    r1: Array,
    r2: Array,
    s1: Array,
    s2: Array,
    rx3: Array,
    rm3: Array,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def show(axis: Any, image: Array, title: str, limit: float) -> None:
        axis.imshow(image.reshape(8, 8), cmap="seismic", vmin=-limit, vmax=limit)
        axis.set_title(title, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])

    v = max(np.abs(r1).max(), np.abs(r2).max())
    s = max(np.abs(s1).max(), np.abs(s2).max())
    figure, axes = plt.subplots(2, 3, figsize=(7.5, 5.6), layout="constrained")
    for row, (x, r, g, name) in enumerate(((x1, r1, s1, "net1 @ x1"), (x2, r2, s2, "net2 @ x2"))):
        show(axes[row, 0], x, f"input {name.split(' @ ')[1]} in [{x.min():.0f}, {x.max():.0f}]", 1)
        show(axes[row, 1], r, f"relevance {name}", v)
        show(axes[row, 2], g, f"sensitivity {name}", s)
    figure.suptitle(
        "Gradients ignore the shift; LRP relevance moves (shared colour scales)", fontsize=10
    )
    figure.savefig(out / "relevance_and_sensitivity.png", dpi=120)
    plt.close(figure)

    v = max(np.abs(r1).max(), np.abs(rx3).max(), np.abs(rm3).max())
    figure, axes = plt.subplots(2, 4, figsize=(9.5, 5.4), layout="constrained")
    show(axes[0, 0], x1, "input net1: x1", 1)
    show(axes[0, 1], m, "+ shift m", 1)
    show(axes[0, 2], x1 + m, "= x1 + m", 1)
    show(axes[0, 3], x2, "input net3: x3", 1)
    show(axes[1, 0], r1, "R(net1 @ x1)", v)
    show(axes[1, 1], rm3, "R(net3 @ -m)", v)
    show(axes[1, 2], r1 - rm3, "R(net1 @ x1) - R(net3 @ -m)", v)
    show(axes[1, 3], rx3, "= R(net3 @ x3)", v)
    figure.suptitle(
        "The shift's relevance R(net3 @ -m) accounts for the change: rx1 = rx3 + rm3", fontsize=10
    )
    figure.savefig(out / "shift_decomposition.png", dpi=120)
    plt.close(figure)
