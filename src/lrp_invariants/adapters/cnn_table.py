"""The CNN attribution code people run, one row per configuration, each with its claim.

A row names the library, what it builds (a Zennit composite with its canonizers, or a Captum
attribution class with rules per module type), how the model writes its residual blocks
(:data:`~lrp_invariants.adapters.torch_cnn.RESIDUALS`) and the method it claims on the gate's
drawn CNNs. :func:`cnn_relevance` runs any row through the torch CNN protocol
(:func:`lrp_invariants.torch.torch_cnn_target`); :data:`CNN_TARGETS` holds a target per row,
named after it. What each row keeps, fails or does not support is measured
(``campaigns/cnn_table.py``, docs/cnn-adapters.md) and pinned (adapters_tests/).

A layer a library has no rule for (Captum's LRP at ``Conv1d``) is a ``NotImplementedError``
here, which the gate reports as *unsupported*, not as a defect.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array
from .table import Library, Part, module_attributes

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class CNNConfiguration:
    """One configuration on CNNs: Zennit's ``composite`` (its canonizers built fresh per call,
    relevance started at the chosen logit), or Captum's ``attribution`` class called as
    ``attribution(model).attribute(x, target=classes, **options)`` with ``rules`` (module type
    name -> rule) set on the model's modules first; the model's residual blocks written as
    ``residual`` says; ``upstream``: the issue a measured failure matches, if any."""

    name: str
    library: Library
    claim: str
    summary: str
    composite: Part | None = None
    canonizers: tuple[Part, ...] = ()
    attribution: Part | None = None
    rules: Mapping[str, Part] = field(default_factory=lambda: _EMPTY)
    options: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    residual: str = "add"
    flatten: str = "module"
    upstream: str = ""

    def __post_init__(self) -> None:
        from .torch_cnn import FLATTENS, RESIDUALS

        if self.residual not in RESIDUALS:
            raise ValueError(f"{self.name}: residual must be one of {', '.join(RESIDUALS)}")
        if self.flatten not in FLATTENS:
            raise ValueError(f"{self.name}: flatten must be one of {', '.join(FLATTENS)}")
        if self.library == "zennit" and (self.composite is None or self.attribution):
            raise ValueError(f"{self.name}: a Zennit row builds a composite")
        if self.library == "captum" and (self.attribution is None or self.composite):
            raise ValueError(f"{self.name}: a Captum row names its attribution class")


MERGE = Part("zennit.canonizers", "SequentialMergeBatchNorm")
RESNET = Part("zennit.torchvision", "ResNetCanonizer")
CAPTUM_RULES = "captum.attr._utils.lrp_rules"


def _arguments(parameters: Mapping[str, Any], canonizer: str | None = None) -> str:
    words = [f"{key}={value!r}" for key, value in parameters.items()]
    return ", ".join(words + ([f"canonizers=[{canonizer}()]"] if canonizer else []))


def _zennit_rows(
    composite: str, preset: str, label: str, **parameters: Any
) -> list[CNNConfiguration]:
    """The composite (with ``parameters``) with each canonizer and each way of writing a
    residual block; ``preset`` may carry words that complete it."""
    part = Part("zennit.composites", composite, MappingProxyType(parameters))
    claim = f"lrp-composite {preset}"
    return [
        CNNConfiguration(
            f"zennit_{label}",
            "zennit",
            claim,
            f"Zennit's ``{composite}({_arguments(parameters)})``, no canonizer, residual sums "
            "written ``out + identity``.",
            composite=part,
        ),
        CNNConfiguration(
            f"zennit_{label}_sum_module",
            "zennit",
            claim,
            f"``{composite}({_arguments(parameters)})``, no canonizer, each residual sum an "
            "explicit ``zennit.layer.Sum``.",
            composite=part,
            residual="zennit-sum",
        ),
        CNNConfiguration(
            f"zennit_{label}_merged",
            "zennit",
            f"{claim} merge-batch-norms",
            f"``{composite}({_arguments(parameters, 'SequentialMergeBatchNorm')})``, sums "
            "``out + identity``.",
            composite=part,
            canonizers=(MERGE,),
        ),
        CNNConfiguration(
            f"zennit_{label}_resnet",
            "zennit",
            f"{claim} merge-batch-norms",
            f"``{composite}({_arguments(parameters, 'ResNetCanonizer')})`` on torchvision "
            "``BasicBlock``\\ s "
            "(``out += identity``, which the canonizer replaces by a ``Sum`` module).",
            composite=part,
            canonizers=(RESNET,),
            residual="torchvision",
        ),
    ]


CNN_CONFIGURATIONS: tuple[CNNConfiguration, ...] = (
    *_zennit_rows("EpsilonPlus", "zennit-epsilon-plus", "epsilon_plus"),
    *_zennit_rows("EpsilonAlpha2Beta1", "zennit-epsilon-alpha2-beta1", "epsilon_alpha2_beta1"),
    *_zennit_rows("EpsilonPlusFlat", "zennit-epsilon-plus-flat", "epsilon_plus_flat"),
    *_zennit_rows(
        "EpsilonGammaBox",
        "zennit-epsilon-gamma-box first-convolution=zbox:low=-3,high=3,epsilon=1e-6",
        "epsilon_gamma_box",
        low=-3.0,
        high=3.0,
    ),
    CNNConfiguration(
        "captum_lrp",
        "captum",
        "lrp-composite captum-default",
        "Captum's ``LRP`` with its default rules (``EpsilonRule(1e-9)`` at Conv2d, Linear, "
        "BatchNorm2d, pooling) on the model with an ``nn.Flatten``.",
        attribution=Part("captum.attr", "LRP"),
    ),
    CNNConfiguration(
        "captum_lrp_functional_flatten",
        "captum",
        "lrp-composite captum-default",
        "Captum's ``LRP``, default rules, the flattening a call in the head's forward (as "
        "models written for Captum do); residual sums ``out + identity``.",
        attribution=Part("captum.attr", "LRP"),
        flatten="functional",
    ),
    CNNConfiguration(
        "captum_lrp_zplus_convolutions",
        "captum",
        "lrp-composite captum-default convolutions=zplus:epsilon=1e-9,bias=whole,weights-once",
        "Captum's ``LRP``, ``Alpha1_Beta0_Rule()`` set on every convolution, the defaults "
        "elsewhere; the flattening a call.",
        attribution=Part("captum.attr", "LRP"),
        rules=MappingProxyType(
            {kind: Part(CAPTUM_RULES, "Alpha1_Beta0_Rule") for kind in ("Conv1d", "Conv2d")}
        ),
        flatten="functional",
    ),
    CNNConfiguration(
        "captum_deeplift",
        "captum",
        "deeplift-rescale",
        "Captum's ``DeepLift`` (zero reference, Rescale).",
        attribution=Part("captum.attr", "DeepLift"),
    ),
    CNNConfiguration(
        "captum_integrated_gradients",
        "captum",
        "integrated-gradients:steps=50",
        "Captum's ``IntegratedGradients`` (zero baseline, 50 Gauss-Legendre nodes).",
        attribution=Part("captum.attr", "IntegratedGradients"),
    ),
    CNNConfiguration(
        "captum_input_x_gradient",
        "captum",
        "gradient-x-input",
        "Captum's ``InputXGradient``.",
        attribution=Part("captum.attr", "InputXGradient"),
    ),
    CNNConfiguration(
        "captum_saliency",
        "captum",
        "saliency",
        "Captum's ``Saliency`` (``abs=True``, its default).",
        attribution=Part("captum.attr", "Saliency"),
    ),
)
"""Every CNN configuration the gate is pointed at."""


def _build(part: Part, **extra: Any) -> Any:
    kind = getattr(importlib.import_module(part.module), part.name)
    return kind(**dict(part.parameters), **extra)


def _attribute(row: CNNConfiguration) -> Any:
    """``fn(model, inputs, classes)`` for the torch CNN protocol."""

    def zennit(model: Any, inputs: Any, chosen: Any) -> Any:
        import torch
        from zennit.attribution import Gradient

        assert row.composite is not None
        canonizers = [_build(part) for part in row.canonizers]
        composite = _build(row.composite, canonizers=canonizers)

        def start(output: Any) -> Any:
            return output * torch.nn.functional.one_hot(chosen, output.shape[1]).to(output.dtype)

        with Gradient(model=model, composite=composite) as attributor:
            _, relevance = attributor(inputs.requires_grad_(True), start)
        return relevance

    def captum(model: Any, inputs: Any, chosen: Any) -> Any:
        assert row.attribution is not None
        for module in model.modules():
            rule = row.rules.get(type(module).__name__)
            if rule is not None:
                module.rule = _build(rule)
        kind = getattr(importlib.import_module(row.attribution.module), row.attribution.name)
        method = kind(model)
        try:
            return method.attribute(inputs, target=chosen, **dict(row.options))
        except TypeError as error:  # Captum's LRP at a module type it has no rule for
            if "has no rule" in str(error):
                raise NotImplementedError(str(error).splitlines()[0]) from error
            raise

    fn = zennit if row.library == "zennit" else captum
    fn.__qualname__ = row.name
    return fn


def cnn_relevance(
    row: CNNConfiguration,
    layers: list[dict[str, Any]],
    x: ArrayLike,
    classes: ArrayLike,
    device: str = "cpu",
) -> Array:
    """``row``'s attribution of the drawn CNN ``layers`` at ``x`` for ``classes``, the model
    built on ``device`` with its residual blocks written as the row says."""
    from ..torch import torch_cnn_target

    batch = np.asarray(x)
    target = torch_cnn_target(
        _attribute(row), device=device, residual=row.residual, flatten=row.flatten
    )
    return target(layers, batch, classes)


def _target(row: CNNConfiguration) -> Any:
    def target(
        layers: list[dict[str, Any]], x: Array, classes: Array, device: str = "cpu"
    ) -> Array:
        return cnn_relevance(row, layers, x, classes, device)

    target.__name__ = target.__qualname__ = row.name
    target.__doc__ = f"{row.summary} Claims ``{row.claim}`` on CNNs."
    return target


CNN_TARGETS: dict[str, Any] = {row.name: _target(row) for row in CNN_CONFIGURATIONS}
"""``{name: target}`` for every row: ``target(layers, x, classes, device="cpu")``."""


__getattr__, __dir__ = module_attributes(CNN_TARGETS, __name__, globals)
