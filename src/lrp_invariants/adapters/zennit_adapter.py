"""Zennit (https://github.com/chr-peters/zennit) in the gate's target protocol.

One generic function, :func:`zennit_relevance`, runs a row of :mod:`.table` through the torch
protocol (:func:`lrp_invariants.torch.torch_target`): it maps every ``torch.nn.Linear`` to the
row's rule (a ``LayerMapComposite``, ReLUs passing relevance through; a
``SpecialFirstLayerMapComposite`` when the first layer has a rule of its own) or builds one of
Zennit's composites, and starts from the chosen class logit, as the gate expects. Every Zennit
row is a target here, named after it (``zennit_epsilon``, ``zennit_zbox``, ...), on the CPU
unless ``device=`` says otherwise: ``functools.partial(zennit_epsilon, device="cuda")`` is
Zennit's LRP-ε on a GPU, the model built in the case's precision there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array
from ..torch import torch_target
from .table import CONFIGURATIONS, Configuration, exact, make_targets, module_attributes

__all__ = ["TARGETS", "exact", "zennit_relevance"]


def _composite(row: Configuration, x: Array) -> Any:
    """The Zennit composite of ``row``: its own, or its rules mapped onto the Linear layers."""
    if row.composite is not None:
        return row.composite.build(x)
    assert row.rule is not None  # a Zennit row has a rule or a composite (Configuration)
    import torch
    from zennit.composites import LayerMapComposite, SpecialFirstLayerMapComposite
    from zennit.rules import Pass

    layer_map = [(torch.nn.ReLU, Pass()), (torch.nn.Linear, row.rule.build(x))]
    if row.first is None:
        return LayerMapComposite(layer_map=layer_map)
    first_map = [(torch.nn.Linear, row.first.build(x))]
    return SpecialFirstLayerMapComposite(layer_map=layer_map, first_map=first_map)


def zennit_relevance(
    row: Configuration,
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: Any = None,
    device: str = "cpu",
) -> Array:
    """Relevance under ``row``'s composite, run through the torch protocol on ``device``: the
    model is built where the gate builds every torch model (:func:`~lrp_invariants.torch.
    torch_target`). Zennit takes no baseline; ``baseline`` is there for the common signature."""
    if row.library != "zennit":
        raise ValueError(f"{row.name} is a {row.library} configuration, not Zennit's")
    composite = _composite(row, np.asarray(x))

    def attribute(model: Any, inputs: Any, chosen: Any) -> Any:
        import torch
        from zennit.attribution import Gradient

        def start(output: Any) -> Any:
            return output * torch.nn.functional.one_hot(chosen, output.shape[1]).to(output.dtype)

        with Gradient(model=model, composite=composite) as attributor:
            _, relevance = attributor(inputs.requires_grad_(True), start)
        return relevance

    return torch_target(attribute, device=device)(weights, biases, x, classes)


TARGETS = make_targets(
    [row for row in CONFIGURATIONS if row.library == "zennit"], zennit_relevance, __name__
)
"""``{name: target}`` for every Zennit row of the table; each is also this module's attribute."""


__getattr__, __dir__ = module_attributes(TARGETS, __name__, globals)
