"""Adapters that put real attribution libraries into the gate's target protocol.

``fn(weights, biases, x, classes) -> relevance`` is computed by the library on a float64 torch
model ``Linear -> ReLU -> ... -> Linear`` built from the arrays (torch keeps ``W`` as (out, in)).
They need the optional ``torch`` extra: ``pip install lrp-invariants[torch]``.

* :mod:`lrp_invariants.adapters.zennit_adapter`: Zennit's Epsilon, AlphaBeta and ZPlus rules
  through a composite that maps every ``torch.nn.Linear`` to the rule;
* :mod:`lrp_invariants.adapters.captum_adapter`: ``captum.attr.LRP`` with its EpsilonRule and
  Alpha1_Beta0_Rule on every Linear layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array


def torch_mlp(weights: Sequence[ArrayLike], biases: Sequence[ArrayLike]) -> Any:
    """A float64 ``torch.nn.Sequential`` of Linear and ReLU layers holding the given arrays."""
    import torch

    modules: list[torch.nn.Module] = []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        W_, b_ = np.asarray(W, np.float64), np.asarray(b, np.float64)
        linear = torch.nn.Linear(W_.shape[0], W_.shape[1], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W_.T.copy()))
            linear.bias.copy_(torch.from_numpy(b_.copy()))
        modules.append(linear)
        if i < len(weights) - 1:
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules).eval()


def to_numpy(tensor: Any) -> Array:
    return np.asarray(tensor.detach().cpu().numpy(), dtype=np.float64)
