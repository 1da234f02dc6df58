"""The gate on the user's own network and inputs: ``check --network FILE.npz --inputs FILE.npy``
runs every property on that model, and a file that cannot be used exits 2 with the reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import DemoRun
from hypothesis.errors import InvalidArgument

from lrp_invariants import Network
from lrp_invariants import strategies as lst
from lrp_invariants.cli import main
from lrp_invariants.files import BadFile, load_inputs, load_network, save_network

from .helpers import random_network

BROKEN = """
import numpy as np
from lrp_invariants.targets import lrp_epsilon

def absolute(weights, biases, x, classes):
    return np.abs(lrp_epsilon(weights, biases, x, classes))
"""


@pytest.fixture
def digits(small_demo: DemoRun) -> Path:
    """The demo's trained digits network (small) and its test digits, as the demo saves them."""
    assert small_demo.status == 0
    return small_demo.out


def test_the_demo_saves_its_network_and_inputs_as_plain_files(digits: Path) -> None:
    network = load_network(digits / "network.npz")
    assert list(network.widths) == [64, 16, 16, 10] and network.output == "softmax"
    assert load_inputs(digits / "inputs.npy", network).shape[1] == 64


def test_a_correct_target_passes_every_property_on_the_users_network(
    digits: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = ["--network", str(digits / "network.npz"), "--inputs", str(digits / "inputs.npy")]
    command = ["check", "lrp_invariants.targets:lrp_epsilon", "--method", "lrp-epsilon"]
    status = main([*command, *files, "--examples", "15", "--report", str(tmp_path)])
    assert status == 0, capsys.readouterr().out


def test_a_broken_target_fails_on_the_users_network_with_a_digit_as_its_case(
    digits: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.py").write_text(BROKEN)
    files = ["--network", str(digits / "network.npz"), "--inputs", str(digits / "inputs.npy")]
    command = ["check", f"{tmp_path / 'broken.py'}:absolute", "--method", "lrp-epsilon"]
    status = main([*command, *files, "--property", "bias-proxy-conservation"])
    out = capsys.readouterr().out
    assert status == 1
    assert "network 64-16-16-10" in out


def test_a_saved_network_loads_back_unchanged(tmp_path: Path, rng: np.random.Generator) -> None:
    network = random_network(rng, [3, 4, 2])
    loaded = load_network(save_network(network, tmp_path / "net.npz"))
    assert list(loaded.widths) == list(network.widths) and loaded.output == network.output
    for a, b in zip(loaded.layers, network.layers, strict=True):
        np.testing.assert_array_equal(a.W, b.W)
        np.testing.assert_array_equal(a.b, b.b)


def _bad_network(path: Path, kind: str) -> Path:
    W0, b0, W1, b1 = np.ones((3, 4)), np.zeros(4), np.ones((4, 2)), np.zeros(2)
    arrays = {"W0": W0, "b0": b0, "W1": W1, "b1": b1}
    if kind == "chain":
        arrays["W1"] = np.ones((5, 2))
    elif kind == "nan":
        arrays["W1"] = np.full((4, 2), np.nan)
    elif kind == "missing":
        del arrays["b1"]
    elif kind == "pickle":
        arrays["W0"] = np.array([object()], dtype=object)
    elif kind == "unknown":
        arrays["gamma"] = np.ones(1)
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("chain", "layer"),
        ("nan", "W contains nan at index (0, 0)"),
        ("missing", "lacks b1"),
        ("pickle", "pickle"),
        ("unknown", "does not know: gamma"),
    ],
)
def test_a_network_file_that_cannot_be_used_exits_2_with_the_reason(
    tmp_path: Path, kind: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _bad_network(tmp_path / f"{kind}.npz", kind)
    with pytest.raises(SystemExit) as exit_:
        main(["check", "lrp_invariants.targets:lrp_0", "--method", "lrp-0", "--network", str(path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and reason in err, err


@pytest.mark.parametrize(
    ("inputs", "reason"),
    [
        (np.ones((2, 5)), "has shape (2, 5)"),
        (np.array([[1.0, np.nan, 0.0]]), "NaN or inf (row 0)"),
        (np.array([["a", "b", "c"]]), "expected numbers"),
    ],
)
def test_an_inputs_file_that_cannot_be_used_is_named(
    tmp_path: Path, inputs: np.ndarray, reason: str
) -> None:
    network = Network.from_arrays([np.ones((3, 2))], [np.zeros(2)])
    np.save(tmp_path / "x.npy", inputs)
    with pytest.raises(BadFile, match=reason.replace("(", r"\(").replace(")", r"\)")):
        load_inputs(tmp_path / "x.npy", network)


def test_inputs_without_a_network_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.save(tmp_path / "x.npy", np.ones((1, 3)))
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "check",
                "lrp_invariants.targets:lrp_0",
                "--method",
                "lrp-0",
                "--inputs",
                str(tmp_path / "x.npy"),
            ]
        )
    assert exit_.value.code == 2
    assert "--inputs needs --network" in capsys.readouterr().err


def test_cases_on_a_network_check_their_arguments_up_front() -> None:
    network = Network.from_arrays([np.ones((3, 2))], [np.zeros(2)])
    with pytest.raises(InvalidArgument, match="shape"):
        lst.cases_on(network, np.ones((2, 4)))
    with pytest.raises(InvalidArgument, match="max_batch"):
        lst.cases_on(network, max_batch=0)
