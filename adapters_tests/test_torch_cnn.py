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
