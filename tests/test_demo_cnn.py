"""The demo's CNN section at a small size (one or two epochs, a few test digits): it trains
with numpy alone, every invariant holds against its bound, the figure and the summary are
written, and a broken relevance makes a check fail."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lrp_invariants import demo_cnn
from lrp_invariants.cnn import CNN, CNNRelevance, Conv, MaxPool, explain
from lrp_invariants.cnn.model import CNNTrace
from lrp_invariants.demo import Demo
from lrp_invariants.network import Array

Digits = tuple[Array, Array, Array, Array]


@pytest.fixture(scope="module")
def digits() -> Digits:
    """scikit-learn's digits, scaled and split as the demo's ``train`` does (seed 0)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, stratify=y, random_state=0
    )
    return X_train, X_test, y_train, y_test


@dataclass(frozen=True)
class SectionRun:
    demo: Demo
    out: Path
    printed: str


def _run(out: Path, data: Digits, epochs: int, digits: int) -> SectionRun:
    stream = io.StringIO()
    demo = Demo(out, stream)
    X_train, X_test, y_train, y_test = data
    demo_cnn.run_cnn_section(
        demo, X_train, X_test, y_train, y_test, out, 0, epochs=epochs, digits=digits
    )
    return SectionRun(demo, out, stream.getvalue())


@pytest.fixture(scope="module")
def section(tmp_path_factory: pytest.TempPathFactory, digits: Digits) -> SectionRun:
    """The section on 40 test digits after two epochs, run once for the tests that read it."""
    return _run(tmp_path_factory.mktemp("cnn"), digits, epochs=2, digits=40)


def test_every_check_of_the_cnn_section_holds_against_its_bound(section: SectionRun) -> None:
    checks = section.demo.checks
    assert checks and all(check.ok for check in checks), section.printed
    names = " | ".join(check.name for check in checks)
    for expected in (
        "CNN reproduces its trainer's logits",
        "CNN activation equivalence, layer 6 (Dense)",
        "CNN gradient invariance",
        "CNN bias-proxy conservation, net1",
        "CNN bias-proxy conservation, net2",
        "CNN bias-proxy conservation, net3",
        "CNN shift decomposition: rx1 == rx3 + rm3",
        "CNN LRP-0 == gradient x input",
        "CNN Kindermans et al.'s table",
    ):
        assert expected in names
    assert all(0 <= check.worst_ratio <= 1 for check in checks)
    assert "LRP is not input-invariant" in section.printed


def test_the_cnn_section_writes_its_figure_and_a_summary_entry(section: SectionRun) -> None:
    figure = section.out / "cnn_shift_decomposition.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = section.demo.summary["cnn"]
    assert summary["test_digits"] == 40 and summary["epochs"] == 2
    assert 0.5 < summary["accuracy"] <= 1
    assert summary["lrp_input_change"] > 0.1  # LRP moves under the shift
    decided = [row for row in summary["kindermans"] if row["decided"]]
    assert {row["method"] for row in decided} == {
        "gradient (saliency)",
        "gradient x input",
        "LRP-0",
        "LRP-ε",
    }
    assert all(row["verdict"] == row["paper"] for row in decided), decided
    measured = [row for row in summary["kindermans"] if not row["decided"]]
    assert {row["verdict"] for row in measured} == {"undecided"}


def test_training_is_deterministic_from_the_seed(digits: Digits) -> None:
    X_train, X_test, y_train, y_test = digits
    x, x_test = X_train.reshape(-1, 1, 8, 8), X_test.reshape(-1, 1, 8, 8)
    runs = [
        demo_cnn.train_cnn(x, y_train, x_test, y_test, 1, 3, Demo(Path("."), io.StringIO()))
        for _ in range(2)
    ]
    assert all(np.array_equal(a, b) for a, b in zip(*runs, strict=True))
    assert demo_cnn.as_cnn(runs[0]).dtype == np.float64


def test_the_trainers_gradients_are_the_adjoints_of_the_packages_layers(
    rng: np.random.Generator,
) -> None:
    # integers make every sum exact: each identity holds bit for bit
    def ints(*shape: int) -> Array:
        return rng.integers(-3, 4, size=shape).astype(np.float64)

    x, y, W, V, dz = (
        ints(2, 3, 8, 8),
        ints(2, 3, 8, 8),
        ints(4, 3, 3, 3),
        ints(4, 3, 3, 3),
        ints(2, 4, 8, 8),
    )
    z, cols = demo_cnn._conv(x, W, np.zeros(4))
    assert np.array_equal(z, Conv(W, None, padding=1).forward(x))
    dW, db, dx = demo_cnn._conv_backward(dz, cols, W, x.shape)
    # the convolution is linear in its weights and in its input: <dz, conv> == <gradient, ·>
    assert np.sum(dz * Conv(V, None, padding=1).forward(x)) == np.sum(dW * V)
    assert np.sum(dz * Conv(W, None, padding=1).forward(y)) == np.sum(dx * y)
    assert np.array_equal(db, dz.sum(axis=(0, 2, 3)))
    a, g = ints(2, 4, 8, 8), ints(2, 4, 4, 4)  # ties in most windows
    pooled = MaxPool(2).forward(a)
    assert np.array_equal(demo_cnn._pool_backward(a, pooled, g), MaxPool(2).route(a, g))


def _perturbing_rx3(explain: Any) -> Any:
    """``explain`` that moves net3's input relevance (``rx3``, not ``rm3``) by a millionth of
    its largest value at one pixel: a defect far below what a heatmap shows."""

    def broken(cnn: CNN, *args: Any, **kwargs: Any) -> tuple[CNNTrace, CNNRelevance]:
        trace, relevance = explain(cnn, *args, **kwargs)
        first = cnn.layers[0]
        if not (isinstance(first, Conv) and first.constant is not None):  # not net3
            return trace, relevance
        layer = relevance.layers[0]
        R = layer.R.copy()
        R[:, 0, 3, 3] += 1e-6 * np.abs(R).max()
        moved = dataclasses.replace(layer, R=R)
        return trace, CNNRelevance((moved, *relevance.layers[1:]))

    return broken


def test_a_perturbed_rx3_fails_the_shift_decomposition(
    tmp_path: Path, digits: Digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_cnn, "explain", _perturbing_rx3(explain))
    run = _run(tmp_path, digits, epochs=1, digits=10)
    failed = [check.name for check in run.demo.checks if not check.ok]
    assert "CNN shift decomposition: rx1 == rx3 + rm3" in failed
    # net3's own conservation sees the same defect; nothing that reads net1 or net2 does
    assert set(failed) == {
        "CNN shift decomposition: rx1 == rx3 + rm3",
        "CNN bias-proxy conservation, net3, every layer: R + sinks == logit",
    }
    assert "FAIL CNN shift decomposition" in run.printed


def test_the_section_rejects_sizes_it_cannot_run(tmp_path: Path, digits: Digits) -> None:
    with pytest.raises(ValueError, match=r"digits must be in 1\.\.450"):
        _run(tmp_path, digits, epochs=1, digits=0)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        _run(tmp_path, digits, epochs=0, digits=5)
