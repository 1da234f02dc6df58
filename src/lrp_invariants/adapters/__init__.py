"""Adapters that put real attribution libraries into the gate's target protocol.

``fn(weights, biases, x, classes) -> relevance`` is computed by the library on a torch model
``Linear -> ReLU -> ... -> Linear`` built from the arrays in their precision (float64, or
float32 under ``--dtype float32``; torch keeps ``W`` as (out, in)), through the torch protocol
(:func:`lrp_invariants.torch.torch_target`), on the CPU or on ``device=``. They need the
optional ``torch`` extra: ``pip install lrp-invariants[torch]``.

Each configuration is a row of :mod:`lrp_invariants.adapters.table` (library, rules or
composite or attribution class with its parameters, and the method it claims), run by one
generic function per library; the targets are named after their rows:

* :mod:`lrp_invariants.adapters.zennit_adapter`: Zennit's rules (LRP-0, ε, αβ, z⁺, γ, flat, w²,
  z^B on the first layer) and its composites;
* :mod:`lrp_invariants.adapters.captum_adapter`: ``captum.attr.LRP`` with its EpsilonRule,
  Alpha1_Beta0_Rule and GammaRule on every Linear layer;
* :mod:`lrp_invariants.adapters.captum_attributions`: Captum's integrated gradients, DeepLIFT,
  input x gradient and saliency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array, Network


def torch_mlp(
    weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], device: str = "cpu"
) -> Any:
    """A ``torch.nn.Sequential`` of Linear and ReLU layers holding the given arrays, in their
    dtype (float32 or float64) on ``device``: the one place where the gate builds torch models
    (the Zennit and Captum adapters and :func:`lrp_invariants.torch.torch_target`)."""
    import torch

    modules: list[torch.nn.Module] = []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        single = np.asarray(W).dtype == np.float32
        W_ = np.asarray(W, np.float32 if single else np.float64)
        b_ = np.asarray(b, W_.dtype)
        dtype = torch.float32 if single else torch.float64
        linear = torch.nn.Linear(W_.shape[0], W_.shape[1], dtype=dtype, device=device)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W_.T.copy()))
            linear.bias.copy_(torch.from_numpy(b_.copy()))
        modules.append(linear)
        if i < len(weights) - 1:
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules).eval()


def to_numpy(tensor: Any) -> Array:
    """A tensor as a numpy array of its own precision (float32 stays float32), on the CPU."""
    array = tensor.detach().cpu().numpy()
    return np.asarray(array, dtype=np.float32 if array.dtype == np.float32 else np.float64)


def from_numpy(values: ArrayLike, device: str = "cpu") -> Any:
    """An array as a tensor of its own precision (float32 or float64) on ``device``."""
    import torch

    array = np.array(values)
    if array.dtype != np.float32:
        array = array.astype(np.float64)
    return torch.from_numpy(array).to(device)


def network_from_torch(model: Any, dtype: Any = None) -> Network:
    """Your torch ``nn.Sequential`` of ``Linear`` and ``ReLU`` layers as a :class:`Network`
    (``W`` transposed to (in, out)), for :func:`lrp_invariants.strategies.cases_on`.

    ``dtype`` defaults to the model's own (float32 or float64). Any other module, a ReLU where a
    Linear must be, or a Linear without a bias raises ValueError naming the module.
    """
    import torch

    modules = list(model.children()) if isinstance(model, torch.nn.Sequential) else None
    if not modules:
        raise ValueError(f"expected a non-empty torch.nn.Sequential; got {type(model).__name__}")
    weights, biases = [], []
    for i, module in enumerate(modules):
        expect_linear = i % 2 == 0
        if expect_linear and isinstance(module, torch.nn.Linear):
            if module.bias is None:
                raise ValueError(f"module {i} ({module}) has no bias; give it one (zeros)")
            weights.append(module.weight.detach().cpu().numpy().T.copy())
            biases.append(module.bias.detach().cpu().numpy().copy())
        elif not expect_linear and isinstance(module, torch.nn.ReLU):
            continue
        else:
            wanted = "Linear" if expect_linear else "ReLU"
            raise ValueError(
                f"module {i} is {module}; expected {wanted} (Linear, ReLU, ..., Linear)"
            )
    if not isinstance(modules[-1], torch.nn.Linear):
        raise ValueError("the model must end with a Linear layer (the logits)")
    if dtype is not None:
        weights = [np.asarray(w, dtype) for w in weights]
        biases = [np.asarray(b, dtype) for b in biases]
    return Network.from_arrays(weights, biases)
