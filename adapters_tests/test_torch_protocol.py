"""The torch protocol (lrp_invariants.torch): torch code gated on the device and in the
precision it runs in, and the GPU check, which skips visibly where there is no CUDA device."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from lrp_invariants import Network
from lrp_invariants.adapters import captum_adapter as captum
from lrp_invariants.adapters import zennit_adapter as zennit
from lrp_invariants.cli import main
from lrp_invariants.gate import run_gate
from lrp_invariants.torch import DeviceUnavailable, torch_target

CUDA = torch.cuda.is_available()


def gradient_x_input(model: torch.nn.Sequential, x: torch.Tensor, classes: torch.Tensor) -> Any:
    """Gradient x input of the chosen logit by autograd: LRP-0 on a ReLU network."""
    x = x.clone().requires_grad_(True)
    logits = model(x)
    logits.gather(1, classes[:, None]).sum().backward()
    return (x.grad * x).detach()


def gradient_x_input_in_bfloat16(
    model: torch.nn.Sequential, x: torch.Tensor, classes: torch.Tensor
) -> Any:
    """The same, computed in bfloat16 and handed back in the input's dtype: claims float32."""
    low = torch.nn.Sequential(*[m.to(torch.bfloat16) for m in model])
    return gradient_x_input(low, x.to(torch.bfloat16), classes).to(x.dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_autograd_gradient_x_input_keeps_every_property_through_the_torch_protocol(
    dtype: str,
) -> None:
    report = run_gate(torch_target(gradient_x_input), "gradient-x-input", dtype=dtype)
    assert report.ok, report.render()


def test_bfloat16_arithmetic_claiming_float32_fails_the_float32_gate() -> None:
    target = torch_target(gradient_x_input_in_bfloat16)
    report = run_gate(target, "gradient-x-input", dtype="float32", shrink=False)
    assert not report.ok


def test_zennit_epsilon_in_float32_keeps_its_properties() -> None:
    report = run_gate(zennit.zennit_epsilon, "lrp-epsilon", dtype="float32")
    assert report.ok, report.render()


@pytest.mark.skipif(CUDA, reason="this machine has a CUDA device")
def test_an_absent_cuda_device_is_refused_before_any_work() -> None:
    with pytest.raises(DeviceUnavailable, match="CUDA is not available"):
        torch_target(gradient_x_input, device="cuda")


@pytest.mark.skipif(CUDA, reason="this machine has a CUDA device")
def test_the_command_line_exits_2_for_an_absent_cuda_device(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = f"{Path(__file__)}:gradient_x_input"
    with pytest.raises(SystemExit) as exit:
        main(["check", spec, "--torch", "--device", "cuda", "--method", "gradient-x-input"])
    assert exit.value.code == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_the_command_line_gates_a_torch_function_in_float32(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = f"{Path(__file__)}:gradient_x_input"
    options = ["--method", "gradient-x-input", "--dtype", "float32", "--examples", "30"]
    status = main(["check", spec, "--torch", *options])
    assert status == 0, capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# The GPU check: Zennit and Captum LRP on CUDA in float32 and float64, and a planted target that
# computes its products in TF32 while claiming float32. Without CUDA every test here is skipped,
# and pytest's summary (-ra) says so.

gpu = pytest.mark.skipif(not CUDA, reason="no CUDA device: the GPU check runs only on a GPU")


def gradient_x_input_in_tf32(
    model: torch.nn.Sequential, x: torch.Tensor, classes: torch.Tensor
) -> Any:
    """Gradient x input with TF32 matrix products switched on, claiming float32."""
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        return gradient_x_input(model, x, classes)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


@gpu
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gpu_autograd_gradient_x_input_passes(dtype: str) -> None:
    target = torch_target(gradient_x_input, device="cuda")
    report = run_gate(target, "gradient-x-input", dtype=dtype, deterministic=False)
    assert report.ok, report.render()


@gpu
def test_gpu_tf32_claiming_float32_fails() -> None:
    target = torch_target(gradient_x_input_in_tf32, device="cuda")
    report = run_gate(target, "gradient-x-input", dtype="float32", shrink=False)
    assert not report.ok


GPU_LRP = {"zennit_epsilon": zennit.zennit_epsilon, "captum_epsilon": captum.captum_epsilon}


@pytest.mark.skipif(CUDA, reason="this machine has a CUDA device")
@pytest.mark.parametrize("name", sorted(GPU_LRP))
def test_an_adapter_asked_for_an_absent_cuda_device_refuses_before_any_work(name: str) -> None:
    network = Network.from_arrays([np.ones((2, 1))], [np.zeros(1)])
    with pytest.raises(DeviceUnavailable, match="CUDA is not available"):
        GPU_LRP[name](
            [*network.weights], [*network.biases], np.ones((1, 2)), np.zeros(1, int), device="cuda"
        )


@gpu
def test_gpu_an_adapter_runs_its_model_on_the_device_it_is_given() -> None:
    seen: list[str] = []
    original = torch.nn.Sequential.forward

    def recording(self: torch.nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        seen.append(f"{x.device.type}:{next(self.parameters()).device.type}")
        return original(self, x)

    torch.nn.Sequential.forward = recording  # type: ignore[method-assign]
    try:
        zennit.zennit_epsilon(
            [np.ones((2, 1))], [np.zeros(1)], np.ones((1, 2)), np.zeros(1, int), device="cuda"
        )
    finally:
        torch.nn.Sequential.forward = original  # type: ignore[method-assign]
    assert seen and set(seen) == {"cuda:cuda"}


@gpu
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(GPU_LRP))
def test_gpu_lrp_epsilon_keeps_every_property(name: str, dtype: str) -> None:
    target = functools.partial(GPU_LRP[name], device="cuda")
    report = run_gate(target, "lrp-epsilon", dtype=dtype, deterministic=False)
    print(report.render())  # the outcome goes into README
    assert report.ok, report.render()
