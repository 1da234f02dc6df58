"""A CNN of the gate's protocol (plain layer dicts, :func:`lrp_invariants.cnn.layer_specs`) as
the torch model people write: ``nn.Conv1d/2d``, ``nn.BatchNorm1d/2d`` (eval mode), ``nn.ReLU``,
``nn.MaxPool``, ``nn.AvgPool``, ``nn.AdaptiveAvgPool``, ``nn.Flatten`` and ``nn.Linear`` in an
``nn.Sequential``, and residual blocks written one of three ways (``residual``, :data:`RESIDUALS`):
``add``, a block of its own whose sum is ``out + identity``; ``torchvision``, torchvision's own
``BasicBlock`` (``out += identity``, an in-place ReLU; what Zennit's ``ResNetCanonizer``
recognises), its parts replaced by the drawn branch; ``zennit-sum``, the sum an explicit module,
Zennit's ``Sum`` over ``torch.stack([identity, out], -1)`` (what its canonizer puts in).

What torch's modules cannot say is built from torch's own modules too: padding that differs per
side, or pads with a mode torch's convolutions do not offer per side, becomes a padding module
(``nn.ZeroPad``, ``nn.ConstantPad``, ``nn.ReflectionPad``, ``nn.ReplicationPad``,
``nn.CircularPad``) before a convolution without padding; a bias map (net2's first convolution
under zero padding) is a :class:`BiasMap` after a convolution without bias. Needs torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_PADS = {
    ("zeros", 1): "ZeroPad1d",
    ("zeros", 2): "ZeroPad2d",
    ("constant", 1): "ConstantPad1d",
    ("constant", 2): "ConstantPad2d",
    ("reflect", 1): "ReflectionPad1d",
    ("reflect", 2): "ReflectionPad2d",
    ("replicate", 1): "ReplicationPad1d",
    ("replicate", 2): "ReplicationPad2d",
    ("circular", 1): "CircularPad1d",
    ("circular", 2): "CircularPad2d",
}


def _tensor(values: Any, device: str) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(values)).to(device)


def _padding(spec: dict[str, Any], dims: int) -> Any:
    """The padding module for a convolution's per-side padding, or None if torch's own
    symmetric padding (zeros, or a mode torch's convolutions take) says it."""
    from torch import nn

    pads = tuple(tuple(int(p) for p in side) for side in spec["padding"])
    mode = spec["padding_mode"]
    value = float(spec["padding_value"])
    if mode == "constant" and value == 0.0:
        mode = "zeros"
    symmetric = all(before == after for before, after in pads)
    if symmetric and mode != "constant":
        return None
    # torch's pad modules take (left, right, top, bottom): the last dimension first
    flat = tuple(p for before, after in reversed(pads) for p in (before, after))
    module = getattr(nn, _PADS[(mode, dims)])
    return module(flat, value) if mode == "constant" else module(flat)


def _bias_map_class() -> Any:
    from torch import nn

    class BiasMap(nn.Module):  # type: ignore[misc]
        """Adds a bias per output position (a per-channel bias that varies over the image)."""

        def __init__(self, bias: Any) -> None:
            super().__init__()
            self.bias = nn.Parameter(bias)

        def forward(self, x: Any) -> Any:
            return x + self.bias

    return BiasMap


RESIDUALS = ("add", "torchvision", "zennit-sum")
"""How a residual block's sum is written in the torch model (see the module's docstring)."""

FLATTENS = ("module", "functional")
"""How the flattening before the dense head is written: ``nn.Flatten``, or ``torch.flatten``
inside the forward of a module holding the ``nn.Linear`` after it (as models written for
Captum's LRP do: it has no rule for ``nn.Flatten``)."""


def _flattened_class() -> Any:
    from torch import nn

    class FlattenLinear(nn.Module):  # type: ignore[misc]
        """``linear(torch.flatten(x, 1))``: the flattening a call, not a module."""

        def __init__(self, linear: Any) -> None:
            super().__init__()
            self.linear = linear

        def forward(self, x: Any) -> Any:
            return self.linear(x.flatten(1))

    return FlattenLinear


def _functional_flatten(modules: list[Any]) -> list[Any]:
    """Each ``nn.Flatten`` directly before an ``nn.Linear`` folded into one FlattenLinear."""
    from torch import nn

    out: list[Any] = []
    for module in modules:
        if isinstance(module, nn.Linear) and out and isinstance(out[-1], nn.Flatten):
            out[-1] = _flattened_class()(module)
        else:
            out.append(module)
    return out


def _summed_class() -> Any:
    from torch import nn

    class SummedBlock(nn.Module):  # type: ignore[misc]
        """``relu(Sum(stack([identity, branch(x)], -1)))``: the sum an explicit module
        (Zennit's ``zennit.layer.Sum``), so that a rule can be attached to it."""

        def __init__(self, branch: Any, downsample: Any) -> None:
            import torch
            from zennit.layer import Sum

            super().__init__()
            self.branch = branch
            self.downsample = downsample
            self.sum = Sum()
            self.relu = nn.ReLU()
            self._stack = torch.stack

        def forward(self, x: Any) -> Any:
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(self.sum(self._stack([identity, self.branch(x)], dim=-1)))

    return SummedBlock


def _torchvision_block(branch: list[list[Any]], downsample: Any) -> Any:
    """torchvision's ``BasicBlock`` with the drawn branch ``conv [batch norm] relu conv`` in
    place of its ``conv1, bn1, relu, conv2, bn2`` (``bn2`` the identity) and ``downsample``."""
    from torch import nn
    from torchvision.models.resnet import BasicBlock

    def one(modules: list[Any]) -> Any:
        return modules[0] if len(modules) == 1 else nn.Sequential(*modules)

    kinds = [type(modules[-1]).__name__ for modules in branch]
    norm = len(kinds) == 4 and kinds[1].startswith("BatchNorm")
    if (
        not (kinds[0].startswith("Conv") and kinds[-1].startswith("Conv"))
        or kinds[1 + norm] != "ReLU"
        or len(kinds) != 3 + norm
    ):
        raise ValueError(
            f"torchvision's BasicBlock is conv [batch norm] relu conv; this branch is {kinds}"
        )
    block = BasicBlock(1, 1)
    block.conv1 = one(branch[0])
    block.bn1 = one(branch[1]) if norm else nn.Identity()
    block.conv2 = one(branch[-1])
    block.bn2 = nn.Identity()
    block.downsample = downsample
    return block


def _residual_class() -> Any:
    from torch import nn

    class BasicBlock(nn.Module):  # type: ignore[misc]
        """``relu(branch(x) + shortcut(x))``, the sum written ``out + identity`` as in
        torchvision's ``BasicBlock``."""

        def __init__(self, branch: Any, downsample: Any) -> None:
            super().__init__()
            self.branch = branch
            self.downsample = downsample
            self.relu = nn.ReLU()

        def forward(self, x: Any) -> Any:
            identity = x if self.downsample is None else self.downsample(x)
            out = self.branch(x)
            out = out + identity
            return self.relu(out)

    return BasicBlock


def _conv(spec: dict[str, Any], device: str) -> list[Any]:
    from torch import nn

    weight = np.asarray(spec["weight"])
    dims = weight.ndim - 2
    out_channels, per_group = weight.shape[:2]
    groups = int(spec["groups"])
    pad = _padding(spec, dims)
    symmetric = tuple(int(before) for before, _ in spec["padding"]) if pad is None else 0
    mode = spec["padding_mode"] if spec["padding_mode"] != "constant" else "zeros"
    bias = spec["bias"]
    conv = getattr(nn, f"Conv{dims}d")(
        per_group * groups,
        out_channels,
        weight.shape[2:],
        stride=tuple(spec["stride"]),
        padding=symmetric,
        dilation=tuple(spec["dilation"]),
        groups=groups,
        bias=bias is not None and np.ndim(bias) == 1,
        padding_mode=mode if pad is None else "zeros",
    ).to(device=device, dtype=_dtype(weight))
    conv.weight.data = _tensor(weight, device)
    modules = [] if pad is None else [pad]
    modules.append(conv)
    if bias is not None and np.ndim(bias) == 1:
        conv.bias.data = _tensor(bias, device)
    elif bias is not None:
        modules.append(_bias_map_class()(_tensor(bias, device)))
    return modules


def _dtype(values: np.ndarray) -> Any:
    import torch

    return torch.float64 if values.dtype == np.float64 else torch.float32


def _norm(spec: dict[str, Any], dims: int, device: str) -> Any:
    from torch import nn

    weight = np.asarray(spec["weight"])
    norm = getattr(nn, f"BatchNorm{dims}d")(len(weight), eps=float(spec["eps"]))
    norm = norm.to(device=device, dtype=_dtype(weight))
    norm.weight.data = _tensor(weight, device)
    norm.bias.data = _tensor(spec["bias"], device)
    norm.running_mean.data = _tensor(spec["running_mean"], device)
    norm.running_var.data = _tensor(spec["running_var"], device)
    return norm.eval()


def _pool(spec: dict[str, Any], kind: str) -> Any:
    from torch import nn

    if kind == "adaptive_avg_pool":
        size = tuple(spec["output_size"])
        return getattr(nn, f"AdaptiveAvgPool{len(size)}d")(size)
    kernel = tuple(spec["kernel_size"])
    dims = len(kernel)
    common = {
        "stride": tuple(spec["stride"]),
        "padding": tuple(spec["padding"]),
        "ceil_mode": bool(spec["ceil_mode"]),
    }
    if kind == "max_pool":
        return getattr(nn, f"MaxPool{dims}d")(kernel, dilation=tuple(spec["dilation"]), **common)
    return getattr(nn, f"AvgPool{dims}d")(
        kernel, count_include_pad=bool(spec["count_include_pad"]), **common
    )


def _modules(
    layers: Sequence[dict[str, Any]], dims: int, device: str, residual: str = "add"
) -> list[Any]:

    modules: list[Any] = []
    for spec in layers:
        modules.extend(_layer(spec, dims, device, residual))
    return modules


def _layer(spec: dict[str, Any], dims: int, device: str, residual: str) -> list[Any]:
    """The modules of one layer (a convolution with its padding or bias map: several)."""
    from torch import nn

    modules: list[Any] = []
    kind = spec["kind"]
    if kind == "conv":
        modules.extend(_conv(spec, device))
    elif kind == "batch_norm":
        modules.append(_norm(spec, dims, device))
    elif kind == "relu":
        modules.append(nn.ReLU())
    elif kind == "flatten":
        modules.append(nn.Flatten())
    elif kind in ("max_pool", "avg_pool", "adaptive_avg_pool"):
        modules.append(_pool(spec, kind))
    elif kind == "linear":
        weight = np.asarray(spec["weight"])
        linear = nn.Linear(weight.shape[1], weight.shape[0], bias=spec["bias"] is not None)
        linear = linear.to(device=device, dtype=_dtype(weight))
        linear.weight.data = _tensor(weight, device)
        if spec["bias"] is not None:
            linear.bias.data = _tensor(spec["bias"], device)
        modules.append(linear)
    elif kind == "residual":
        down = spec["downsample"]
        shortcut = None if down is None else nn.Sequential(*_conv(down, device))
        if residual == "torchvision":
            parts = [_layer(inner, dims, device, residual) for inner in spec["branch"]]
            modules.append(_torchvision_block(parts, shortcut))
        else:
            branch = nn.Sequential(*_modules(spec["branch"], dims, device, residual))
            block = _summed_class() if residual == "zennit-sum" else _residual_class()
            modules.append(block(branch, shortcut))
    else:  # pragma: no cover - layer_specs makes no other kind
        raise ValueError(f"no torch module for a {kind!r} layer")
    return modules


def torch_cnn(
    layers: Sequence[dict[str, Any]],
    input_shape: Sequence[int],
    device: str = "cpu",
    residual: str = "add",
    flatten: str = "module",
) -> Any:
    """The ``nn.Sequential`` (eval mode) of a CNN given as the gate's layer dicts, for inputs of
    ``input_shape`` ``(C, *spatial)``, its parameters in the dicts' dtype on ``device``, its
    residual blocks written as ``residual`` says (:data:`RESIDUALS`), its flattening as
    ``flatten`` says (:data:`FLATTENS`)."""
    from torch import nn

    if residual not in RESIDUALS:
        raise ValueError(f"residual must be one of {', '.join(RESIDUALS)}; got {residual!r}")
    if flatten not in FLATTENS:
        raise ValueError(f"flatten must be one of {', '.join(FLATTENS)}; got {flatten!r}")
    dims = len(input_shape) - 1
    modules = _modules(layers, dims, device, residual)
    if flatten == "functional":
        modules = _functional_flatten(modules)
    return nn.Sequential(*modules).eval()
