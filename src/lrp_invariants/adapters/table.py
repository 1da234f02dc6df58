"""Every Zennit and Captum configuration the gate is pointed at, one row each, with its claim.

A row names the library, what it builds (rules, a composite or an attribution class, by import
path and parameters) and the method it claims (a spec of :func:`lrp_invariants.methods.
resolve_method`). :mod:`.zennit_adapter`, :mod:`.captum_adapter` and
:mod:`.captum_attributions` turn each row into a target ``fn(weights, biases, x, classes
[, baseline], *, device="cpu")`` named after it, through one generic function per library.
Adding a configuration is adding a row::

    Configuration(
        "zennit_epsilon",
        "zennit",
        "lrp-epsilon",
        "Zennit's ``Epsilon(epsilon=1e-9)``.",
        rule=Part("zennit.rules", "Epsilon", {"epsilon": 1e-9}),
    )

The libraries are imported only when a target runs: the table itself needs neither.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array
from ..targets import EPSILON

Library = Literal["zennit", "captum"]

Target = Callable[..., Array]
"""A generated target: ``fn(weights, biases, x, classes[, baseline], *, device="cpu")``."""

Runner = Callable[
    ["Configuration", Sequence[ArrayLike], Sequence[ArrayLike], ArrayLike, ArrayLike, Any, str],
    Array,
]
"""A library's generic function: ``run(row, weights, biases, x, classes, baseline, device)``."""


def exact(denominator: Any) -> Any:
    """A Zennit stabiliser that changes nothing but exact zeros (to 1, so 0/0 gives 0): the
    division convention of lrp-invariants, passed as Zennit's callable ``stabilizer``."""
    return denominator + (denominator == 0).to(denominator.dtype)


@dataclass(frozen=True)
class FromInput:
    """A parameter that depends on the explained batch, computed from it at every call."""

    compute: Callable[[Array], Any]
    text: str

    def __repr__(self) -> str:
        return f"<{self.text}>"


SMALLEST_SUBNORMAL = FromInput(
    lambda x: float(np.finfo(x.dtype).smallest_subnormal),
    "the smallest positive number of the input's precision: below it only an exact 0",
)


@dataclass(frozen=True)
class Part:
    """A library object, ``module.name(**parameters)``, built when a target runs."""

    module: str
    name: str
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def build(self, x: Array, *arguments: Any) -> Any:
        """``module.name(*arguments, **parameters)``, the :class:`FromInput` parameters
        computed from the batch ``x``."""
        kind = getattr(importlib.import_module(self.module), self.name)
        values = {
            key: value.compute(x) if isinstance(value, FromInput) else value
            for key, value in self.parameters.items()
        }
        return kind(*arguments, **values)

    def __str__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.parameters.items())
        return f"{self.name}({arguments})"


@dataclass(frozen=True)
class Configuration:
    """One configuration of a library and the method it is held to.

    Zennit: ``rule`` on every Linear layer (ReLUs pass relevance through), or on every one but
    the first when ``first`` is given; or one of its own ``composite``\\ s. Captum: the
    ``attribution`` class, called as ``attribution(model).attribute(x, target=classes,
    **options)``, with ``rule`` set on every Linear layer (for its LRP) and the baseline passed
    as ``baselines`` when ``baseline`` is set (the target then takes it as a fifth argument).
    """

    name: str
    library: Library
    claim: str
    summary: str
    rule: Part | None = None
    first: Part | None = None
    composite: Part | None = None
    attribution: Part | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    baseline: bool = False

    def __post_init__(self) -> None:
        if self.library == "zennit":
            if (self.rule is None) == (self.composite is None):
                raise ValueError(f"{self.name}: a Zennit row has a rule or a composite")
            if self.first is not None and self.rule is None:
                raise ValueError(f"{self.name}: a first-layer rule needs the other layers' rule")
            if self.attribution is not None or self.options or self.baseline:
                raise ValueError(f"{self.name}: attribution, options, baseline are Captum's")
        elif self.library == "captum":
            if self.attribution is None:
                raise ValueError(f"{self.name}: a Captum row names its attribution class")
            if self.first is not None or self.composite is not None:
                raise ValueError(f"{self.name}: first-layer rules and composites are Zennit's")
        else:
            raise ValueError(f"{self.name}: unknown library {self.library!r}")

    @property
    def lrp(self) -> bool:
        """Whether the row configures LRP (Zennit's rules and composites, Captum's LRP)."""
        return self.library == "zennit" or self.rule is not None


CONFIGURATIONS: tuple[Configuration, ...] = (
    Configuration(
        "zennit_lrp_0",
        "zennit",
        "lrp-0",
        "Zennit's ``Epsilon(epsilon=0)``, which its documentation calls LRP-0.",
        rule=Part("zennit.rules", "Epsilon", {"epsilon": 0.0}),
    ),
    Configuration(
        "zennit_lrp_0_exact",
        "zennit",
        "lrp-0",
        "Zennit's ``Epsilon`` with the exact, zero-safe stabiliser: LRP-0 with 0/0 -> 0.",
        rule=Part("zennit.rules", "Epsilon", {"epsilon": exact}),
    ),
    Configuration(
        "captum_lrp_0",
        "captum",
        "lrp-0",
        "Captum's ``EpsilonRule(epsilon=0)``: LRP-0.",
        attribution=Part("captum.attr", "LRP"),
        rule=Part("captum.attr._utils.lrp_rules", "EpsilonRule", {"epsilon": 0.0}),
    ),
    Configuration(
        "zennit_epsilon",
        "zennit",
        "lrp-epsilon",
        "Zennit's ``Epsilon(epsilon=1e-9)``.",
        rule=Part("zennit.rules", "Epsilon", {"epsilon": EPSILON}),
    ),
    Configuration(
        "captum_epsilon",
        "captum",
        "lrp-epsilon",
        "Captum's ``EpsilonRule(epsilon=1e-9)``.",
        attribution=Part("captum.attr", "LRP"),
        rule=Part("captum.attr._utils.lrp_rules", "EpsilonRule", {"epsilon": EPSILON}),
    ),
    Configuration(
        "zennit_alpha_beta",
        "zennit",
        "lrp-alpha-beta:2,1,epsilon=1e-9",
        "Zennit's ``AlphaBeta(alpha=2, beta=1)``, stabiliser 1e-9 (declared).",
        rule=Part("zennit.rules", "AlphaBeta", {"alpha": 2.0, "beta": 1.0, "stabilizer": EPSILON}),
    ),
    Configuration(
        "zennit_alpha_beta_undeclared",
        "zennit",
        "lrp-alpha-beta",
        "Zennit's ``AlphaBeta(alpha=2, beta=1)``, stabiliser 1e-9, judged as plain αβ.",
        rule=Part("zennit.rules", "AlphaBeta", {"alpha": 2.0, "beta": 1.0, "stabilizer": EPSILON}),
    ),
    Configuration(
        "zennit_alpha_beta_exact",
        "zennit",
        "lrp-alpha-beta",
        "Zennit's ``AlphaBeta(alpha=2, beta=1)`` with the exact, zero-safe stabiliser.",
        rule=Part("zennit.rules", "AlphaBeta", {"alpha": 2.0, "beta": 1.0, "stabilizer": exact}),
    ),
    Configuration(
        "zennit_alpha_beta_without_bias",
        "zennit",
        "lrp-alpha-beta:2,1,epsilon=1e-6,bias=ignored",
        "Zennit's ``AlphaBeta(zero_params=['bias'])``: its default stabiliser 1e-6, no bias.",
        rule=Part("zennit.rules", "AlphaBeta", {"zero_params": ["bias"]}),
    ),
    Configuration(
        "zennit_zplus",
        "zennit",
        "lrp-zplus:epsilon=1e-9",
        "Zennit's ``ZPlus``, stabiliser 1e-9 (declared).",
        rule=Part("zennit.rules", "ZPlus", {"stabilizer": EPSILON}),
    ),
    Configuration(
        "zennit_zplus_exact",
        "zennit",
        "lrp-zplus",
        "Zennit's ``ZPlus`` with the exact, zero-safe stabiliser.",
        rule=Part("zennit.rules", "ZPlus", {"stabilizer": exact}),
    ),
    Configuration(
        "captum_zplus",
        "captum",
        "lrp-zplus:epsilon=1e-9,bias=whole,weights-once",
        "Captum's ``Alpha1_Beta0_Rule``, which it calls z⁺ / deep Taylor: the weights clamped, "
        "the bias kept whatever its sign, Captum's stabiliser 1e-9 (declared).",
        attribution=Part("captum.attr", "LRP"),
        rule=Part("captum.attr._utils.lrp_rules", "Alpha1_Beta0_Rule"),
    ),
    Configuration(
        "captum_zplus_undeclared",
        "captum",
        "lrp-zplus",
        "Captum's ``Alpha1_Beta0_Rule`` judged as z⁺ (contributions clamped, bias split).",
        attribution=Part("captum.attr", "LRP"),
        rule=Part("captum.attr._utils.lrp_rules", "Alpha1_Beta0_Rule"),
    ),
    Configuration(
        "captum_zplus_without_bias",
        "captum",
        "lrp-zplus:epsilon=1e-9,bias=ignored,weights-once",
        "Captum's ``Alpha1_Beta0_Rule(set_bias_to_zero=True)``: the weights clamped, no bias.",
        attribution=Part("captum.attr", "LRP"),
        rule=Part("captum.attr._utils.lrp_rules", "Alpha1_Beta0_Rule", {"set_bias_to_zero": True}),
    ),
    # configured rules and composites, each claiming the configuration it has by default
    Configuration(
        "zennit_gamma",
        "zennit",
        "lrp-gamma:0.25,epsilon=1e-6",
        "Zennit's ``Gamma()`` (γ = 0.25, stabiliser 1e-6) on every Linear layer.",  # noqa: RUF001
        rule=Part("zennit.rules", "Gamma"),
    ),
    Configuration(
        "captum_gamma",
        "captum",
        "lrp-gamma:0.25,epsilon=1e-9,bias=source,weights-once",
        "Captum's ``GammaRule()`` (γ = 0.25) on every Linear layer: the weights become "  # noqa: RUF001
        "``w + γ w⁺`` once, the bias stays, Captum's stabiliser 1e-9 divides.",  # noqa: RUF001
        attribution=Part("captum.attr", "LRP"),
        rule=Part("captum.attr._utils.lrp_rules", "GammaRule"),
    ),
    Configuration(
        "captum_gamma_without_bias",
        "captum",
        "lrp-gamma:0.25,epsilon=1e-9,bias=ignored,weights-once",
        "Captum's ``GammaRule(set_bias_to_zero=True)``: the bias left out.",
        attribution=Part("captum.attr", "LRP"),
        rule=Part("captum.attr._utils.lrp_rules", "GammaRule", {"set_bias_to_zero": True}),
    ),
    Configuration(
        "zennit_flat",
        "zennit",
        "lrp-flat:1e-6",
        "Zennit's ``Flat()`` (stabiliser 1e-6) on every Linear layer.",
        rule=Part("zennit.rules", "Flat"),
    ),
    Configuration(
        "zennit_w_square",
        "zennit",
        "lrp-w-square:1e-6,bias=source",
        "Zennit's ``WSquare()`` (stabiliser 1e-6, the bias squared too) on every Linear layer.",
        rule=Part("zennit.rules", "WSquare"),
    ),
    Configuration(
        "zennit_zbox",
        "zennit",
        "lrp-composite first=zbox:low=-3,high=3,epsilon=1e-6 hidden=epsilon:1e-6",
        "Zennit's ``ZBox(low=-3, high=3)`` (stabiliser 1e-6) on the first Linear layer, and "
        "``Epsilon()`` (ε = 1e-6) on the others, through a ``SpecialFirstLayerMapComposite``.",
        rule=Part("zennit.rules", "Epsilon"),
        first=Part("zennit.rules", "ZBox", {"low": -3.0, "high": 3.0}),
    ),
    Configuration(
        "zennit_epsilon_plus_flat",
        "zennit",
        "lrp-composite zennit-epsilon-plus-flat",
        "Zennit's ``EpsilonPlusFlat()`` composite with its defaults.",
        composite=Part("zennit.composites", "EpsilonPlusFlat"),
    ),
    Configuration(
        "zennit_epsilon_gamma_box",
        "zennit",
        "lrp-composite zennit-epsilon-gamma-box",
        "Zennit's ``EpsilonGammaBox(low=-3, high=3)`` composite, its other parameters default.",
        composite=Part("zennit.composites", "EpsilonGammaBox", {"low": -3.0, "high": 3.0}),
    ),
    # Captum's gradient family
    Configuration(
        "captum_integrated_gradients",
        "captum",
        "integrated-gradients:steps=50",
        "``IntegratedGradients`` with its defaults: zero baseline, 50 Gauss-Legendre nodes.",
        attribution=Part("captum.attr", "IntegratedGradients"),
    ),
    Configuration(
        "captum_integrated_gradients_from_baseline",
        "captum",
        "integrated-gradients:baseline=given,steps=50",
        "``IntegratedGradients`` from the given baseline (50 Gauss-Legendre nodes).",
        attribution=Part("captum.attr", "IntegratedGradients"),
        baseline=True,
    ),
    Configuration(
        "captum_deeplift",
        "captum",
        "deeplift-rescale",
        "``DeepLift`` with its defaults: zero reference, Rescale on the ReLU modules.",
        attribution=Part("captum.attr", "DeepLift"),
    ),
    Configuration(
        "captum_deeplift_from_baseline",
        "captum",
        "deeplift-rescale:baseline=given",
        "``DeepLift`` against the given reference.",
        attribution=Part("captum.attr", "DeepLift"),
        baseline=True,
    ),
    Configuration(
        "captum_deeplift_exact",
        "captum",
        "deeplift-rescale",
        "``DeepLift(model, eps=<smallest subnormal>)``: the gradient replaces the multiplier "
        "only where the two pre-activations are equal, as in the exact definition. Captum's "
        "default ``eps=1e-10`` replaces it wherever they differ by less than 1e-10, an "
        "absolute constant.",
        attribution=Part("captum.attr", "DeepLift", {"eps": SMALLEST_SUBNORMAL}),
    ),
    Configuration(
        "captum_deeplift_exact_from_baseline",
        "captum",
        "deeplift-rescale:baseline=given",
        "``captum_deeplift_exact`` against the given reference.",
        attribution=Part("captum.attr", "DeepLift", {"eps": SMALLEST_SUBNORMAL}),
        baseline=True,
    ),
    Configuration(
        "captum_input_x_gradient",
        "captum",
        "gradient-x-input",
        "``InputXGradient``: gradient x input.",
        attribution=Part("captum.attr", "InputXGradient"),
    ),
    Configuration(
        "captum_saliency",
        "captum",
        "saliency",
        "``Saliency`` with its default ``abs=True``: the absolute gradient.",
        attribution=Part("captum.attr", "Saliency"),
    ),
    Configuration(
        "captum_saliency_signed",
        "captum",
        "gradient",
        "``Saliency(abs=False)``: the gradient itself.",
        attribution=Part("captum.attr", "Saliency"),
        options={"abs": False},
    ),
)
"""Every configuration; LRP's in the order of docs/library-findings.md's table."""

_BY_NAME = {row.name: row for row in CONFIGURATIONS}
if len(_BY_NAME) != len(CONFIGURATIONS):
    raise ValueError("two configurations share a name")


def configuration(name: str) -> Configuration:
    """The row named ``name`` (a target's ``__name__``); KeyError naming the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no configuration {name!r}; known: {', '.join(_BY_NAME)}") from None


def make_target(row: Configuration, run: Runner, module: str) -> Target:
    """The target for ``row``: its name, its summary and claim as docstring, the baseline as a
    fifth argument where the row takes one, ``device=`` as a keyword; ``run`` computes."""
    if row.baseline:

        def target(
            weights: Sequence[ArrayLike],
            biases: Sequence[ArrayLike],
            x: ArrayLike,
            classes: ArrayLike,
            baseline: ArrayLike,
            *,
            device: str = "cpu",
        ) -> Array:
            return run(row, weights, biases, x, classes, baseline, device)

    else:

        def target(  # type: ignore[misc]
            weights: Sequence[ArrayLike],
            biases: Sequence[ArrayLike],
            x: ArrayLike,
            classes: ArrayLike,
            *,
            device: str = "cpu",
        ) -> Array:
            return run(row, weights, biases, x, classes, None, device)

    target.__name__ = target.__qualname__ = row.name
    target.__module__ = module
    target.__doc__ = f"{row.summary}\n\nClaims ``{row.claim}`` (a row of the adapters' table)."
    return target


def make_targets(
    rows: Sequence[Configuration], run: Runner, module: str
) -> MappingProxyType[str, Target]:
    """``{row.name: target}`` for the rows one module exposes."""
    return MappingProxyType({row.name: make_target(row, run, module) for row in rows})


def module_attributes(
    targets: Mapping[str, Target], module: str, names: Callable[[], Mapping[str, Any]]
) -> tuple[Callable[[str], Target], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` that serve ``targets`` as its attributes
    (``captum_adapter.captum_epsilon``) beside its own ``names`` (its ``globals``)."""

    def attribute(name: str) -> Target:
        try:
            return targets[name]
        except KeyError:
            raise AttributeError(f"module {module!r} has no attribute {name!r}") from None

    def listing() -> list[str]:
        return sorted([*names(), *targets])

    return attribute, listing
