"""Captum's gradient-family attributions in the gate's target protocol: ``IntegratedGradients``
(its defaults: 50 Gauss-Legendre steps, a zero baseline), ``DeepLift`` (Rescale on ReLU
modules), ``InputXGradient`` and ``Saliency``, one target per row of :mod:`.table` (named after
it: ``captum_deeplift_exact``, ...), run by :func:`.captum_adapter.captum_relevance`. The
``*_from_baseline`` targets take the baseline as the fifth argument, as the ``baseline=given``
methods are called. Every one runs through the torch protocol
(:func:`lrp_invariants.torch.torch_target`), on the CPU unless ``device=`` says otherwise.
"""

from __future__ import annotations

from .captum_adapter import captum_relevance
from .table import CONFIGURATIONS, make_targets, module_attributes

__all__ = ["TARGETS"]

TARGETS = make_targets(
    [row for row in CONFIGURATIONS if row.library == "captum" and not row.lrp],
    captum_relevance,
    __name__,
)
"""``{name: target}`` for every Captum row that is not LRP; each is also this module's
attribute."""


__getattr__, __dir__ = module_attributes(TARGETS, __name__, globals)
