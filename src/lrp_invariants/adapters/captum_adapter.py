"""Captum (https://captum.ai) in the gate's target protocol: its ``LRP`` here, its gradient
family in :mod:`.captum_attributions`, both through one generic function.

:func:`captum_relevance` runs a row of :mod:`.table` through the torch protocol
(:func:`lrp_invariants.torch.torch_target`): ``attribution(model, **parameters).attribute(x,
target=classes, **options)``, with the row's rule set on every Linear layer (Captum deletes a
module's ``rule`` after every ``attribute()`` call, so each call sets the rules afresh on a
model of its own) and the baseline, if the row takes one, passed as ``baselines`` on the
model's device. LRP starts from the target class output, the logit. Every Captum LRP row is a
target here, named after it (``captum_epsilon``, ...), on the CPU unless ``device=`` says
otherwise (``functools.partial(captum_epsilon, device="cuda")``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array
from ..torch import torch_target
from . import from_numpy
from .table import CONFIGURATIONS, Configuration, make_targets, module_attributes

__all__ = ["TARGETS", "captum_relevance"]


def captum_relevance(
    row: Configuration,
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    x: ArrayLike,
    classes: ArrayLike,
    baseline: ArrayLike | None = None,
    device: str = "cpu",
) -> Array:
    """``row``'s attribution of the chosen classes through the torch protocol on ``device``."""
    if row.library != "captum" or row.attribution is None:
        raise ValueError(f"{row.name} is a {row.library} configuration, not Captum's")
    if row.baseline != (baseline is not None):
        raise ValueError(f"{row.name} takes {'a' if row.baseline else 'no'} baseline")
    batch = np.asarray(x)
    attribution, rule = row.attribution, row.rule

    def attribute(model: Any, inputs: Any, chosen: Any) -> Any:
        import torch

        if rule is not None:
            for module in model:
                if isinstance(module, torch.nn.Linear):
                    module.rule = rule.build(batch)
        options = dict(row.options)
        if baseline is not None:
            options["baselines"] = from_numpy(baseline, str(inputs.device))
        method = attribution.build(batch, model)
        with warnings.catch_warnings():  # Captum warns that it set requires_grad on the input
            warnings.simplefilter("ignore", UserWarning)
            return method.attribute(inputs, target=chosen, **options)

    return torch_target(attribute, device=device)(weights, biases, x, classes)


TARGETS = make_targets(
    [row for row in CONFIGURATIONS if row.library == "captum" and row.lrp],
    captum_relevance,
    __name__,
)
"""``{name: target}`` for every Captum LRP row of the table; each is also this module's
attribute."""


__getattr__, __dir__ = module_attributes(TARGETS, __name__, globals)
