"""A user's torch CNN read back as this package's CNN (own-network mode): every model the gate
builds from a drawn CNN, in every way of writing it, reads back as a CNN that computes the same
logits; a module without a layer here is refused by name."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given

from lrp_invariants.adapters.torch_cnn import FLATTENS, RESIDUALS, torch_cnn
from lrp_invariants.adapters.torch_cnn_import import cnn_from_torch
from lrp_invariants.cnn import forward, layer_specs
from lrp_invariants.cnn.bounds import enclose_cnn_forward
from lrp_invariants.strategies import CNNSeedCase, cnn_seed_cases

from .cli_helpers import saliency_check


@pytest.mark.parametrize("residual", RESIDUALS)
@pytest.mark.parametrize("flatten", FLATTENS)
@given(case=cnn_seed_cases())
def test_a_torch_model_reads_back_as_a_cnn_with_its_logits(
    case: CNNSeedCase, residual: str, flatten: str
) -> None:
    cnn = case.net1
    model = torch_cnn(layer_specs(cnn), cnn.input_shape, residual=residual, flatten=flatten)
    if flatten == "functional":  # a flattening inside a module's forward is not read back
        with pytest.raises(ValueError, match="no layer of lrp-invariants for FlattenLinear"):
            cnn_from_torch(model, cnn.input_shape)
        return
    read = cnn_from_torch(model, cnn.input_shape)
    logits = forward(read, case.x1).logits
    # the folded downsample's batch norm and torch's own order both lie in the forward ball
    ball = enclose_cnn_forward(cnn, case.x1).logits
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(case.x1)).numpy()
    assert np.all(np.abs(torch_logits - ball.mid) <= ball.rad)
    assert np.all(np.abs(logits - ball.mid) <= ball.rad)


def test_a_model_in_training_mode_is_refused() -> None:
    model = torch.nn.Sequential(torch.nn.Conv1d(1, 1, 1), torch.nn.Flatten())
    with pytest.raises(ValueError, match="eval mode"):
        cnn_from_torch(model, (1, 3))


def test_a_module_without_a_layer_here_is_named() -> None:
    model = torch.nn.Sequential(torch.nn.Conv1d(1, 1, 1), torch.nn.Tanh()).eval()
    with pytest.raises(ValueError, match=r"model\[0\]\.1: no layer of lrp-invariants for Tanh"):
        cnn_from_torch(model, (1, 3))


def test_a_padding_module_becomes_the_convolutions_per_side_padding() -> None:
    conv = torch.nn.Conv1d(1, 1, 2, bias=False, dtype=torch.float64)
    model = torch.nn.Sequential(torch.nn.ReflectionPad1d((2, 1)), conv, torch.nn.Flatten())
    cnn = cnn_from_torch(model.eval(), (1, 4))
    (spec, _) = layer_specs(cnn)
    assert spec["padding"] == ((2, 1),) and spec["padding_mode"] == "reflect"


def test_the_cli_gates_code_on_the_users_own_torch_cnn(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The documented command: export once, then ``check ... --network cnn.npz``."""
    from lrp_invariants.cli import main
    from lrp_invariants.cnn import save_cnn

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1),
        torch.nn.BatchNorm2d(2),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 3),
    ).double()
    model.eval()
    save_cnn(tmp_path / "cnn.npz", cnn_from_torch(model, (1, 4, 4)))
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(5, 1, 4, 4)))
    network, inputs = str(tmp_path / "cnn.npz"), str(tmp_path / "x.npy")
    options = ("--network", network, "--inputs", inputs, "--examples", "5")
    status = main(saliency_check(tmp_path, *options))
    out = capsys.readouterr().out
    assert status == 0, out
    assert "all claimed properties hold" in out


def test_adaptive_max_pooling_is_refused_not_read_as_average_pooling() -> None:
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.AdaptiveMaxPool2d(1), torch.nn.Flatten()
    ).eval()
    with pytest.raises(ValueError, match="no layer of lrp-invariants for AdaptiveMaxPool2d"):
        cnn_from_torch(model, (1, 4, 4))


def test_a_downsample_with_a_batch_norm_is_refused_with_the_fix() -> None:
    from torchvision.models.resnet import BasicBlock

    down = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2))
    model = torch.nn.Sequential(BasicBlock(1, 2, downsample=down), torch.nn.Flatten()).eval()
    with pytest.raises(ValueError, match="downsample with a batch norm; merge it"):
        cnn_from_torch(model, (1, 3, 3))
