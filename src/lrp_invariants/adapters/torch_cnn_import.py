"""A user's torch CNN as this package's :class:`~lrp_invariants.cnn.CNN`, for the gate's
own-network mode: ``save_cnn("cnn.npz", cnn_from_torch(model, (C, H, W)))`` once, then
``lrp-invariants check my.py:fn --method M --architecture cnn --torch --network cnn.npz``.

Read in forward order: ``nn.Sequential`` (nested), ``Conv1d/2d`` (a padding module right before
one becomes its per-side padding), ``BatchNorm1d/2d`` (running statistics: eval mode),
``ReLU``, ``MaxPool``, ``AvgPool``, ``AdaptiveAvgPool``, ``Flatten``, ``Linear``, ``Identity``
and ``Dropout`` (nothing in eval mode), and residual blocks: torchvision's ``BasicBlock`` and
the blocks of :mod:`.torch_cnn`. Anything else is a ValueError naming the module, before any
work: the gate must judge the model that runs, not a guess of it. Needs torch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..cnn import CNN
from ..cnn.protocol import Spec, cnn_from_specs

_POOLS = tuple(
    f"{prefix}{dims}d" for prefix in ("MaxPool", "AvgPool", "AdaptiveAvgPool") for dims in (1, 2)
)
"""The pooling modules read (adaptive max pooling, LP pooling and the others are refused)."""

_PAD_MODES = {
    "ZeroPad": "zeros",
    "ConstantPad": "constant",
    "ReflectionPad": "reflect",
    "ReplicationPad": "replicate",
    "CircularPad": "circular",
}


def _array(tensor: Any) -> np.ndarray:
    return np.array(tensor.detach().cpu().numpy(), order="C")


def _ints(value: Any, dims: int) -> tuple[int, ...]:
    values = (value,) * dims if isinstance(value, int) else tuple(value)
    return tuple(int(v) for v in values)


def _leaves(module: Any, name: str) -> Iterator[tuple[str, Any]]:
    """``(path, module)`` in forward order, a Sequential opened, a block kept whole."""
    from torch import nn

    if isinstance(module, nn.Sequential):
        for key, child in module.named_children():
            yield from _leaves(child, f"{name}.{key}")
    else:
        yield name, module


def _pad(module: Any, name: str) -> dict[str, Any]:
    kind = type(module).__name__
    mode = next((m for prefix, m in _PAD_MODES.items() if kind.startswith(prefix)), None)
    if mode is None:
        raise ValueError(f"{name}: no padding mode for {kind}")
    flat = _ints(module.padding, 2 * int(kind[-2]))
    # torch lists (left, right) of the last axis first
    pairs = tuple((flat[i], flat[i + 1]) for i in range(len(flat) - 2, -1, -2))
    return {"pairs": pairs, "mode": mode, "value": float(getattr(module, "value", 0.0))}


def _conv(module: Any, name: str, pad: dict[str, Any] | None) -> Spec:
    dims = module.weight.ndim - 2
    if isinstance(module.padding, str):
        if module.padding != "valid":
            raise ValueError(f"{name}: padding={module.padding!r}; give the pads as numbers")
        padding = (0,) * dims
    else:
        padding = _ints(module.padding, dims)
    pairs = tuple((p, p) for p in padding)
    mode, value = module.padding_mode, 0.0
    if pad is not None:
        if any(padding) or mode != "zeros":
            raise ValueError(f"{name}: a padding module before a convolution that pads too")
        pairs, mode, value = pad["pairs"], pad["mode"], pad["value"]
    return {
        "kind": "conv",
        "weight": _array(module.weight),
        "bias": None if module.bias is None else _array(module.bias),
        "stride": _ints(module.stride, dims),
        "padding": pairs,
        "padding_mode": mode,
        "padding_value": value,
        "dilation": _ints(module.dilation, dims),
        "groups": int(module.groups),
    }


def _norm(module: Any, name: str) -> Spec:
    if module.running_mean is None or module.running_var is None:
        raise ValueError(f"{name}: a batch norm without running statistics")
    channels = module.num_features
    weight = module.weight if module.affine else None
    dtype = _array(module.running_mean).dtype
    return {
        "kind": "batch_norm",
        "weight": np.ones(channels, dtype) if weight is None else _array(weight),
        "bias": np.zeros(channels, dtype) if weight is None else _array(module.bias),
        "running_mean": _array(module.running_mean),
        "running_var": _array(module.running_var),
        "eps": float(module.eps),
    }


def _pool(module: Any, name: str, dims: int) -> Spec:
    kind = type(module).__name__
    if kind.startswith("Adaptive"):
        if any(v is None for v in np.atleast_1d(module.output_size)):
            raise ValueError(f"{name}: an adaptive pool's output size must be numbers")
        return {"kind": "adaptive_avg_pool", "output_size": _ints(module.output_size, dims)}
    common = {
        "kernel_size": _ints(module.kernel_size, dims),
        "stride": _ints(module.stride or module.kernel_size, dims),
        "padding": _ints(module.padding, dims),
        "ceil_mode": bool(module.ceil_mode),
    }
    if kind.startswith("Max"):
        if module.return_indices:
            raise ValueError(f"{name}: a max pool that returns indices")
        return {"kind": "max_pool", **common, "dilation": _ints(module.dilation, dims)}
    if getattr(module, "divisor_override", None) is not None:
        raise ValueError(f"{name}: an average pool with divisor_override")
    return {"kind": "avg_pool", **common, "count_include_pad": bool(module.count_include_pad)}


def _downsample(module: Any, name: str, dims: int) -> Spec | None:
    """A shortcut's 1x1 convolution, a batch norm after it folded in (as the protocol has it)."""
    if module is None:
        return None
    specs = _specs([module], name, dims)
    if any(spec["kind"] == "batch_norm" for spec in specs):
        # the protocol's downsample is one convolution; folding the batch norm in would judge
        # another network than Zennit's rules see (Pass at the batch norm, the rule at the bare
        # convolution) unless the claim merges batch norms too
        raise ValueError(
            f"{name}: a downsample with a batch norm; merge it into its convolution first "
            "(torch.nn.utils.fusion.fuse_conv_bn_eval) and judge the merged model"
        )
    if len(specs) != 1 or specs[0]["kind"] != "conv":
        raise ValueError(f"{name}: a downsample must be one convolution")
    return specs[0]


def _block(module: Any, name: str, dims: int) -> Spec | None:
    kind = type(module).__name__
    if kind in ("BasicBlock", "SummedBlock") and hasattr(module, "branch"):  # .torch_cnn's
        branch = _specs([module.branch], f"{name}.branch", dims)
        return {
            "kind": "residual",
            "branch": branch,
            "downsample": _downsample(module.downsample, f"{name}.downsample", dims),
        }
    if kind == "BasicBlock" and hasattr(module, "conv1"):  # torchvision's
        parts = [module.conv1, module.bn1, module.relu, module.conv2, module.bn2]
        return {
            "kind": "residual",
            "branch": _specs(parts, f"{name}.branch", dims),
            "downsample": _downsample(module.downsample, f"{name}.downsample", dims),
        }
    return None


def _specs(modules: Sequence[Any], name: str, dims: int) -> list[Spec]:
    specs: list[Spec] = []
    pad: dict[str, Any] | None = None
    leaves = [leaf for i, m in enumerate(modules) for leaf in _leaves(m, f"{name}[{i}]")]
    for path, module in leaves:
        kind = type(module).__name__
        if pad is not None and not kind.startswith("Conv"):
            raise ValueError(f"{path}: a padding module must come right before a convolution")
        if any(kind.startswith(prefix) for prefix in _PAD_MODES):
            pad = _pad(module, path)
        elif kind in ("Conv1d", "Conv2d"):
            specs.append(_conv(module, path, pad))
            pad = None
        elif kind in ("BatchNorm1d", "BatchNorm2d"):
            specs.append(_norm(module, path))
        elif kind == "ReLU":
            specs.append({"kind": "relu"})
        elif kind == "Flatten":
            if (module.start_dim, module.end_dim) != (1, -1):
                raise ValueError(f"{path}: Flatten must flatten dims 1 to -1")
            specs.append({"kind": "flatten"})
        elif kind in _POOLS:
            specs.append(_pool(module, path, int(kind[-2])))
        elif kind == "Linear":
            bias = None if module.bias is None else _array(module.bias)
            specs.append({"kind": "linear", "weight": _array(module.weight), "bias": bias})
        elif kind in ("Identity", "Dropout", "Dropout1d", "Dropout2d"):
            continue  # nothing in eval mode
        else:
            block = _block(module, path, dims)
            if block is None:
                raise ValueError(f"{path}: no layer of lrp-invariants for {kind}")
            specs.append(block)
    if pad is not None:
        raise ValueError(f"{name}: a padding module at the end")
    return specs


def cnn_from_torch(model: Any, input_shape: Sequence[int]) -> CNN:
    """``model`` (an ``nn.Sequential`` of the modules the module docstring lists, in eval
    mode) as a :class:`~lrp_invariants.cnn.CNN` for inputs ``(C, *spatial)``, its parameters
    copied in their dtype.

    >>> cnn = cnn_from_torch(model.eval(), (1, 8, 8))  # doctest: +SKIP
    """
    if getattr(model, "training", False):
        raise ValueError("put the model in eval mode first (model.eval()): batch norms differ")
    shape = tuple(int(s) for s in input_shape)
    specs = _specs([model], "model", len(shape) - 1)
    return cnn_from_specs(specs, shape)
