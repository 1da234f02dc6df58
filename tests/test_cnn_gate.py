"""The gate on CNN targets (``architecture="cnn"``, ``--architecture cnn``): this package's own
CNN methods pass every claim they imply, each CNN mutant is caught by the default run, a
counterexample reads layer by layer with its position, and what the CNN gate cannot judge is
refused before any work."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given

from lrp_invariants.architectures import ARCHITECTURES, CNN_PROPERTIES
from lrp_invariants.cli import main
from lrp_invariants.cnn import CNN, BatchNorm, Conv, Dense, Flatten, ReLU, forward, save_cnn
from lrp_invariants.cnn.constructions import without_sources
from lrp_invariants.cnn_cases import CNNGateCase, cnn_reference, plain_net3
from lrp_invariants.gate import InvalidOption, run_gate
from lrp_invariants.gate.counterexamples import (
    draw_counterexample,
    load_counterexample,
    replay,
    save_counterexample,
)
from lrp_invariants.methods import METHODS
from lrp_invariants.network import Array
from lrp_invariants.strategies import cnn_seed_cases

from .cnn_protocol_mutants import CNN_GATE_MUTANTS
from .example_counts import scaled

ON_CNNS = [name for name, method in METHODS.items() if ARCHITECTURES["cnn"].judges(method)]
FAST = ("gradient", "gradient-x-input", "lrp-epsilon", "lrp-alpha-beta")
"""The methods the fast tier gates on CNNs (every built-in one in the full tier): each kind of
claim once (input invariance, shift decomposition, a sign split)."""


def test_the_cnn_gate_judges_the_gradient_family_and_lrp_with_rules_enclosed_at_convolutions() -> (
    None
):
    assert ON_CNNS == [
        "gradient",
        "saliency",
        "gradient-x-input",
        "lrp-0",
        "lrp-epsilon",
        "lrp-alpha-beta",
        "lrp-zplus",
        "lrp-gamma",
        "lrp-w-square",
        "lrp-flat",
    ]


@pytest.mark.parametrize(
    "method", [m if m in FAST else pytest.param(m, marks=pytest.mark.full_tier) for m in ON_CNNS]
)
def test_this_packages_cnn_method_keeps_every_claim_it_implies_on_cnns(method: str) -> None:
    # 40 cases a method in the full tier: the soundness campaign (docs/soundness.md) draws more
    report = run_gate(cnn_reference(method), method, architecture="cnn", examples=scaled(40))
    assert report.ok, report.render()
    assert {p.name for p in report.properties} <= set(CNN_PROPERTIES)
    assert all(p.examples == scaled(40) for p in report.properties)


@pytest.mark.parametrize("mutant", sorted(CNN_GATE_MUTANTS))
def test_each_cnn_mutant_is_caught_by_the_default_run(mutant: str) -> None:
    target, method = CNN_GATE_MUTANTS[mutant]
    report = run_gate(target, method, architecture="cnn", first_failure=True, shrink=False)
    assert not report.ok


@pytest.mark.parametrize("method", ON_CNNS)
def test_bias_proxy_conservation_is_checked_on_cnns_for_lrp_alone(method: str) -> None:
    implied = ARCHITECTURES["cnn"].implied(METHODS[method])
    checked = "bias-proxy-conservation" in implied
    # gradient x input conserves on a network without sources too, but no CNN bound for its
    # chain of products exists here yet: the method does not declare it
    assert checked == METHODS[method].conserves_on_cnns
    # w²'s CNN sinks: balls whose edge the exact value reaches (rules/input_blind.py); flat's
    # CNN enclosure is w²'s on the matrix of connections
    assert checked == (method.startswith("lrp-") and method not in ("lrp-w-square", "lrp-flat"))


def test_a_cnn_without_sources_keeps_its_weights_and_drops_every_source() -> None:
    conv = Conv(
        np.ones((2, 1, 3)), np.ones(2), padding=1, padding_mode="constant", padding_value=2.0
    )
    norm = BatchNorm(np.array([2.0, -1.0]), np.array([1.0, 3.0]), np.ones(2), np.ones(2))
    cnn = CNN((conv, norm, ReLU(), Flatten(), Dense(np.ones((8, 1)), np.ones(1))), (1, 4))
    first, second, *_, last = without_sources(cnn).layers
    assert isinstance(first, Conv) and first.bias is None and first.padding_mode == "zeros"
    assert np.array_equal(first.weight, conv.weight)
    assert isinstance(second, BatchNorm) and np.array_equal(second.scale, norm.scale)
    assert not np.any(second.shift)
    assert isinstance(last, Dense) and not np.any(last.b)


def test_a_tie_handed_whole_to_every_maximum_is_caught_by_conservation_alone() -> None:
    target, method = CNN_GATE_MUTANTS["max_pool_tie_to_every_maximum"]
    report = run_gate(target, method, architecture="cnn", shrink=False)
    failed = {p.name for p in report.properties if not p.ok}
    # any split of a tie is within the reference's enclosure: only the sum tells
    assert failed == {"bias-proxy-conservation"}


def _reads_layer_by_layer(text: str, case: object, failure: str) -> None:
    assert "networks: convolutional networks" in text
    assert "layers[0] conv weight=" in text and "dilation=" in text  # where the bug is
    # the index is (sample, channel, position): the input's own shape, not a flat column
    index = failure.split("worst at index (")[1].split(")")[0]
    assert isinstance(case, CNNGateCase)
    assert len(index.split(",")) == 1 + len(case.net1.input_shape)


def test_a_cnn_counterexample_reads_layer_by_layer_with_the_failing_position() -> None:
    target, method = CNN_GATE_MUTANTS["conv_backward_drops_dilation"]
    report = run_gate(target, method, architecture="cnn", properties=["reference"], shrink=False)
    failed = report.properties[0]
    _reads_layer_by_layer(report.render(), failed.case, str(failed.failure))


@pytest.mark.full_tier  # shrinking a CNN case: ~15 s
def test_a_shrunk_cnn_counterexample_is_minimal_and_reads_layer_by_layer() -> None:
    target, method = CNN_GATE_MUTANTS["conv_backward_drops_dilation"]
    report = run_gate(target, method, architecture="cnn", properties=["reference"])
    failed = report.properties[0]
    assert "minimal counterexample" in report.render()
    _reads_layer_by_layer(report.render(), failed.case, str(failed.failure))


def test_a_saved_cnn_counterexample_replays_against_the_target(tmp_path: Path) -> None:
    target, method = CNN_GATE_MUTANTS["flatten_channels_last"]
    options = {"properties": ["reference"], "shrink": False}
    report = run_gate(target, method, architecture="cnn", **options)  # type: ignore[arg-type]
    failed = report.properties[0]
    path = save_counterexample(tmp_path, failed, report)
    saved = load_counterexample(path)
    assert isinstance(saved.case, CNNGateCase)
    assert saved.case.describe() == failed.case.describe()  # type: ignore[union-attr]
    assert not replay(path, target).ok
    assert replay(path, cnn_reference(method)).ok


def test_a_saved_cnn_counterexample_is_drawn_sample_by_sample(tmp_path: Path) -> None:
    """The picture of a case whose relevance is (n, C, H, W): sample 0, flattened."""
    target, method = CNN_GATE_MUTANTS["flatten_channels_last"]
    options = {"properties": ["reference"], "shrink": False}
    report = run_gate(target, method, architecture="cnn", **options)  # type: ignore[arg-type]
    path = save_counterexample(tmp_path, report.properties[0], report)
    assert draw_counterexample(path, target).is_file()


@pytest.mark.parametrize("method", ["integrated-gradients", "deeplift-rescale"])
def test_a_method_not_enclosed_on_cnns_is_refused_naming_those_that_are(method: str) -> None:
    with pytest.raises(InvalidOption, match=r"not judged on cnn networks; there the gate judges"):
        run_gate(cnn_reference("gradient"), method, architecture="cnn")


def test_a_property_the_cnn_gate_does_not_check_is_refused() -> None:
    with pytest.raises(InvalidOption, match=r"\['permutation'\] are not checked on cnn"):
        run_gate(cnn_reference("lrp-0"), "lrp-0", architecture="cnn", properties=["permutation"])


def test_float32_cnn_cases_are_refused() -> None:
    with pytest.raises(InvalidOption, match="dtype='float32'"):
        run_gate(cnn_reference("lrp-0"), "lrp-0", architecture="cnn", dtype="float32")


def test_an_unknown_architecture_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(InvalidOption, match="architecture='rnn': pass one of mlp, cnn"):
        run_gate(cnn_reference("lrp-0"), "lrp-0", architecture="rnn")


def _modifies_a_weight(layers: list[dict[str, Any]], x: Array, classes: Array) -> Array:
    layers[0]["weight"][...] = 0.0
    return np.zeros_like(x)


def _flattened(layers: list[dict[str, Any]], x: Array, classes: Array) -> Array:
    return cnn_reference("lrp-0")(layers, x, classes).reshape(len(x), -1)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (_modifies_a_weight, r"modified its input layers\[0\]\['weight'\] in place"),
        (_flattened, "the target returned shape"),
    ],
)
def test_a_cnn_target_breaking_the_protocol_misbehaves(target: Any, message: str) -> None:
    report = run_gate(target, "lrp-0", architecture="cnn", first_failure=True, shrink=False)
    failures = [str(p.failure) for p in report.properties if not p.ok]
    assert any(re.search(message, failure) for failure in failures), failures


@given(cnn_seed_cases(values="integers"))
def test_net2s_balls_enclose_net1s_exact_pass(case: Any) -> None:
    # integer CNNs: every forward sum is exact, so net1's computed logits are its exact ones
    gate_case = CNNGateCase.of(case)
    logits = forward(case.net1, case.x1).logits
    ball = gate_case.balls2.logits
    assert np.all(np.abs(logits - ball.mid) <= ball.rad)


@given(cnn_seed_cases(values="integers"))
def test_plain_net3_on_x3_and_minus_m_is_net1_on_x1(case: Any) -> None:
    net3 = plain_net3(case.net1)
    if net3 is None:  # a first convolution padded with a constant: no plain net3
        first = case.net1.layers[0]
        assert first.padding_mode == "constant" and first.padding_value != 0
        return
    x3 = net3.input(case.x1 + case.m, -case.m)
    assert np.array_equal(forward(net3.cnn, x3).logits, forward(case.net1, case.x1).logits)


def _small_cnn() -> CNN:
    """conv(1 -> 2 channels, kernel 2, padding 1) -> ReLU -> Flatten -> Dense(10 -> 2)."""
    conv = Conv(np.array([[[1.0, -2.0]], [[0.5, 1.0]]]), np.array([0.25, -0.5]), padding=1)
    dense = Dense(np.linspace(-1.0, 1.0, 20).reshape(10, 2))
    return CNN((conv, ReLU(), Flatten(), dense), (1, 4))


def test_the_cli_checks_a_cnn_target_on_the_users_own_cnn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    network = tmp_path / "cnn.npz"
    save_cnn(network, _small_cnn())
    inputs = tmp_path / "x.npy"
    np.save(inputs, np.arange(8.0).reshape(2, 1, 4) - 3.5)
    module = tmp_path / "my_cnn_lrp.py"
    module.write_text(
        "from lrp_invariants.cnn_cases import cnn_reference\nlrp = cnn_reference('lrp-epsilon')\n"
    )
    status = main(
        [
            "check",
            f"{module}:lrp",
            "--method",
            "lrp-epsilon",
            "--architecture",
            "cnn",
            "--network",
            str(network),
            "--inputs",
            str(inputs),
            "--examples",
            "10",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "networks: convolutional networks" in out and "PASS  reference" in out


def test_the_cli_refuses_inputs_of_another_shape_than_the_cnns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    network = tmp_path / "cnn.npz"
    save_cnn(network, _small_cnn())
    inputs = tmp_path / "x.npy"
    np.save(inputs, np.zeros((2, 4)))
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "check",
                "lrp_invariants.targets:lrp_epsilon",
                "--method",
                "lrp-epsilon",
                "--architecture",
                "cnn",
                "--network",
                str(network),
                "--inputs",
                str(inputs),
            ]
        )
    assert exit_.value.code == 2
    assert "has shape (2, 4); the CNN (input shape (1, 4)) takes (n, 1, 4)" in (
        capsys.readouterr().err
    )


def test_a_composite_with_one_rule_per_layer_is_not_judged_on_cnns_of_other_depths() -> None:
    with pytest.raises(InvalidOption, match="not judged on cnn networks"):
        run_gate(cnn_reference("lrp-0"), "lrp-composite layers=epsilon;epsilon", architecture="cnn")


def test_flush_to_zero_is_refused_on_cnns_whose_bounds_cover_gradual_underflow_only() -> None:
    with pytest.raises(InvalidOption, match="arithmetic='ftz': pass ieee with architecture='cnn'"):
        run_gate(cnn_reference("gradient"), "gradient", architecture="cnn", arithmetic="ftz")


def _rebinds_a_weight(layers: list[dict[str, Any]], x: Array, classes: Array) -> Array:
    for layer in layers:
        if "weight" in layer:
            layer["weight"] = layer["weight"].astype(np.float32)  # a new array: no harm done
    return cnn_reference("lrp-0")(layer_dicts_as_float64(layers), x, classes)


def layer_dicts_as_float64(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: v.astype(np.float64) if isinstance(v, np.ndarray) else v for k, v in layer.items()}
        for layer in layers
    ]


def test_a_target_rebinding_a_dict_entry_modifies_no_input() -> None:
    report = run_gate(
        _rebinds_a_weight, "lrp-0", architecture="cnn", examples=5, properties=["determinism"]
    )
    assert report.ok, report.render()


def test_the_cnn_protocol_needs_no_import_of_the_cnn_cases_first() -> None:
    code = (
        "import numpy as np\n"
        "from lrp_invariants.invariants.calling import call_target\n"
        "from lrp_invariants.cnn import CNN, Conv, Flatten, Dense\n"
        "cnn = CNN((Conv(np.ones((1, 1, 1))), Flatten(), Dense(np.ones((3, 1)))), (1, 3))\n"
        "x = np.ones((1, 1, 3))\n"
        "print(call_target(lambda layers, x, c: x.copy(), cnn, x, np.zeros(1, int)).shape)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "(1, 1, 3)", result.stderr


def test_a_cnn_case_of_the_wrong_shapes_is_refused_when_made() -> None:
    cnn = _small_cnn()
    with pytest.raises(ValueError, match="x1"):
        CNNGateCase(cnn, np.zeros((1, 4)), np.zeros((1, 4)), np.zeros(1, dtype=np.intp))
