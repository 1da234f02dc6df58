"""Torch code on CNNs (lrp_invariants.torch.torch_cnn_target): the drawn CNN rebuilt from
torch's own modules computes what the numpy core computes, so autograd's gradient and Captum's
gradient methods keep every CNN claim; what Captum's LRP makes of a CNN is measured, not
assumed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from captum.attr import LRP, InputXGradient, Saliency
from hypothesis import given

from lrp_invariants.adapters.torch_cnn import torch_cnn
from lrp_invariants.cnn import layer_specs
from lrp_invariants.cnn.bounds import enclose_cnn_forward
from lrp_invariants.gate import run_gate
from lrp_invariants.strategies import CNNSeedCase, cnn_seed_cases
from lrp_invariants.torch import torch_cnn_target

from .cli_helpers import saliency_check

EXAMPLES = 20
"""Cases per run: building a torch model per call costs ~0.1 s; the CNN campaign
(docs/soundness.md) draws the numpy references far longer."""


def autograd_gradient(model: torch.nn.Sequential, x: torch.Tensor, classes: torch.Tensor) -> Any:
    x = x.clone().requires_grad_(True)
    model(x).gather(1, classes[:, None]).sum().backward()
    return x.grad


def autograd_gradient_x_input(
    model: torch.nn.Sequential, x: torch.Tensor, classes: torch.Tensor
) -> Any:
    return autograd_gradient(model, x, classes) * x


def captum_saliency(model: torch.nn.Sequential, x: torch.Tensor, classes: torch.Tensor) -> Any:
    return Saliency(model).attribute(x, target=classes, abs=True)


def captum_input_x_gradient(
    model: torch.nn.Sequential, x: torch.Tensor, classes: torch.Tensor
) -> Any:
    return InputXGradient(model).attribute(x, target=classes)


@given(cnn_seed_cases())
def test_the_torch_model_computes_the_numpy_cnns_logits(case: CNNSeedCase) -> None:
    model = torch_cnn(layer_specs(case.net1), case.net1.input_shape)
    with torch.no_grad():
        logits = model(torch.from_numpy(case.x1)).numpy()
    # torch's evaluation order is one of those the forward enclosure holds
    ball = enclose_cnn_forward(case.net1, case.x1).logits
    assert np.all(np.abs(logits - ball.mid) <= ball.rad)


@pytest.mark.parametrize(
    ("fn", "method"),
    [
        (autograd_gradient, "gradient"),
        (autograd_gradient_x_input, "gradient-x-input"),
        (captum_saliency, "saliency"),
        (captum_input_x_gradient, "gradient-x-input"),
    ],
)
def test_torch_gradient_methods_keep_every_cnn_claim(fn: Any, method: str) -> None:
    report = run_gate(torch_cnn_target(fn), method, architecture="cnn", examples=EXAMPLES)
    assert report.ok, report.render()


def test_captum_lrp_raises_on_a_conv1d_it_has_no_rule_for() -> None:
    """Captum 0.9.0's LRP declares rules for Conv2d but not Conv1d: measured, a TypeError."""

    def captum_lrp(model: torch.nn.Sequential, x: torch.Tensor, classes: torch.Tensor) -> Any:
        return LRP(model).attribute(x, target=classes)

    report = run_gate(
        torch_cnn_target(captum_lrp), "lrp-epsilon", architecture="cnn", first_failure=True
    )
    failure = str(report.properties[0].failure)
    assert "TypeError: Module of type <class 'torch.nn.modules.conv.Conv1d'> has no rule" in (
        failure
    )


def zennit_gradient_with_merged_batch_norms(
    model: torch.nn.Sequential, x: torch.Tensor, classes: torch.Tensor
) -> Any:
    """Zennit's gradient attributor with the canonizer its docs recommend for conv + batch
    norm (``SequentialMergeBatchNorm``): a canonizer must not change the function."""
    from zennit.attribution import Gradient
    from zennit.canonizers import SequentialMergeBatchNorm
    from zennit.core import Composite

    outputs = model(x).shape[1]
    one_hot = torch.nn.functional.one_hot(classes, outputs).to(x.dtype)
    composite = Composite(canonizers=[SequentialMergeBatchNorm()])
    with Gradient(model=model, composite=composite) as attributor:
        _, gradient = attributor(x, one_hot)
    return gradient


def test_zennits_merged_batch_norm_changes_the_gradient_by_the_order_of_its_eps() -> None:
    """Measured: the merged batch norm keeps ``eps`` (1e-5) where the model divides by
    ``sqrt(var + eps)``, so the gradient of the explained network is off by about
    ``eps / (2 var)`` relative; minimal witness (shrunk by the gate): conv 1x1 (weight w) ->
    BatchNorm(weight w, running_var 0.25, eps 1e-5) -> Flatten -> Linear, x = 0."""
    report = run_gate(
        torch_cnn_target(zennit_gradient_with_merged_batch_norms),
        "gradient",
        architecture="cnn",
        properties=["reference"],
        first_failure=True,
        shrink=False,
    )
    (reference,) = report.properties
    assert not reference.ok and reference.size is not None
    relative = reference.size[1]
    assert 1e-7 < relative < 1e-4, relative  # a batch norm's eps, not a wrong layer


def test_the_cli_gates_torch_code_on_cnns(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from lrp_invariants.cli import main

    status = main(saliency_check(tmp_path, "--examples", "5"))
    out = capsys.readouterr().out
    assert status == 0, out
    assert "networks: convolutional networks" in out
