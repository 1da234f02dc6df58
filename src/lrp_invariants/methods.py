"""What a target may claim to compute, and which invariants each claim implies.

A :class:`Method` ties a name (``lrp-epsilon``) to the reference implementation in
:mod:`lrp_invariants.targets`, to the enclosure of its exact value that gives every comparison
its tolerance, and to the properties that hold for it. ``lrp-invariants methods`` prints the
table of which property each method implies (README shows the same table, generated from
:data:`METHODS` by :func:`lrp_invariants.invariants.property_table`).

LRP is not input-invariant, and should not be: a shifted input moves relevance between the
input and the first bias. αβ splits the contributions of ``x3`` and ``-m`` by sign separately,
so its shift decomposition fails; ε does not commute with rescaling a unit, whose
pre-activation then meets the same ε at another scale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from hypothesis import strategies as st
from numpy.typing import ArrayLike

from . import targets
from .bounds import (
    Ball,
    ForwardBalls,
    LayerBalls,
    Precision,
    enclose_gradient,
    enclose_relevance,
)
from .bounds.balls import magnitude
from .cases import SeedCase
from .configuration import (
    ALL_PROPERTIES,
    PRESETS,
    Composite,
    composite_target,
    implied_properties,
    parse_composite,
    parse_rule,
    rule_spec,
)
from .integrated import QUADRATURES, quadrature
from .network import Array, Network
from .rules import LRP0, AlphaBeta, Epsilon, Flat, Gamma, Rule, WSquare, ZPlus

__all__ = ["ALL_PROPERTIES", "METHODS", "Method", "Target", "lrp_method", "resolve_method"]

Target = Callable[[Sequence[Array], Sequence[Array], Array, Array], ArrayLike]
"""The gate's protocol: ``fn(weights, biases, x, classes) -> relevance (n, d)``."""

_GRADIENT_PROPERTIES = ("bias-proxy-transparency", "permutation", "batch-consistency")
_ALWAYS = ("determinism", "reference")


@dataclass(frozen=True)
class Method:
    """An attribution method a target can claim to compute.

    ``composite`` assigns LRP rules to layers (None for the gradient methods); ``spec`` is the
    string :func:`resolve_method` rebuilds it from (the name itself for the built-in methods).
    """

    name: str
    reference: Target
    composite: Composite | None
    times_input: bool  # gradient x input
    properties: tuple[str, ...]
    spec: str = ""
    deterministic: bool = True  # False: repeated calls need only agree within the bounds
    # DeepLIFT and integrated gradients: the exact value they are held to
    # ("deeplift-rescale" or "integrated-gradients"), and their baseline: "zero", or "given"
    # (the target takes the reference batch as a fifth argument, ``baseline``)
    reference_kind: str | None = None
    baseline: str | None = None
    absolute: bool = False  # saliency: the gradient's absolute value
    # PatternNet, PatternAttribution: the target learns from a data set, passed as a fifth
    # argument ``data`` (net2's is ``data + m``); the name says which exact value it is held to
    fitted: bool = False

    def __post_init__(self) -> None:
        if not self.spec:
            object.__setattr__(self, "spec", self.name)

    @property
    def extra_arguments(self) -> tuple[str, ...]:
        """The arguments a target of this method takes after ``(weights, biases, x, classes)``:
        ``baseline`` (a given reference batch) or ``data`` (what a pattern method learns from)."""
        if self.baseline == "given":
            return ("baseline",)
        return ("data",) if self.fitted else ()

    def prepare_cases(self, cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
        """``cases`` with whatever this method's targets are given besides the network and
        input drawn into every case: the reference batch, or the data set."""
        from . import strategies as lst  # strategies imports the configurations: no cycle

        if self.baseline == "given":
            return lst.with_references(cases)
        return lst.with_data(cases) if self.fitted else cases

    def notes(
        self, target: Target, cases: st.SearchStrategy[SeedCase], examples: int, seed: int | None
    ) -> tuple[str, ...]:
        """What the gate reports beside the verdict: a quadrature claim's distance from the
        exact integral, measured on at most ``examples`` of ``cases`` (none for the others)."""
        if not (self.reference_kind or "").startswith(QUADRATURE_KIND):
            return ()
        from .approximation import measure_quadrature  # it imports this module

        return (
            measure_quadrature(target, self, self.prepare_cases(cases), examples, seed).render(),
        )

    def rules_for(self, network: Network) -> tuple[Rule, ...]:
        """Each Linear layer's rule (LRP-0 for the gradient methods: equal on ReLU nets)."""
        if self.composite is None:
            return (LRP0(),) * network.depth
        return self.composite.rules_for(network.depth)

    def describe(self) -> str:
        """The method with its configuration, as reports print it."""
        if self.composite is None or (self.spec == self.name and self.name in _FIXED):
            return self.name
        return f"{self.name} ({self.composite.describe()})"

    def enclose(
        self,
        network: Network,
        forward: ForwardBalls,
        classes: ArrayLike,
        p: Precision,
    ) -> Ball:
        """A ball around the exact input relevance of this method (n, d). The reference
        methods need their reference as well: see :meth:`SeedCase.reference_case`."""
        if self.reference_kind is not None or self.fitted:
            raise ValueError(f"{self.name} is enclosed with its reference or data: use the case's")
        if self.composite is not None:
            return enclose_relevance(network, forward, classes, self.rules_for(network), p)[0].R
        gradient = enclose_gradient(network, forward, classes, p, times_input=self.times_input)
        return magnitude(gradient, p) if self.absolute else gradient

    def enclose_layers(
        self, network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision
    ) -> tuple[LayerBalls, ...]:
        """Per-layer balls for conservation bounds; gradient x input is LRP-0 on ReLU nets."""
        return enclose_relevance(network, forward, classes, self.rules_for(network), p)


def lrp_method(composite: Composite | Rule, name: str | None = None) -> Method:
    """The gate's method for LRP with ``composite`` (or one rule on every layer), its
    properties derived from the rules."""
    if isinstance(composite, Rule):
        composite = Composite(composite)
    single = composite.layers is None and composite.first is None and composite.last is None
    if name is None:
        name = composite.hidden.name if single else "lrp-composite"
    spec = "lrp-" + rule_spec(composite.hidden) if single else f"lrp-composite {composite.spec()}"
    return Method(
        name, composite_target(composite), composite, False, implied_properties(composite), spec
    )


def resolve_method(spec: str | Method) -> Method:
    """A method from its name (``lrp-epsilon``), a rule spec (``lrp-epsilon:0.01``,
    ``lrp-gamma:0.25,bias=source``), a composite (``lrp-composite first=flat hidden=epsilon``)
    or a preset (``lrp-composite zennit-epsilon-plus-flat``); ValueError naming the fix."""
    if isinstance(spec, Method):
        return spec
    text = spec.strip()
    if text in METHODS:
        return METHODS[text]
    if text.startswith("lrp-composite"):
        rest = text.removeprefix("lrp-composite").strip()
        if not rest:
            raise ValueError(
                "lrp-composite needs its rules: first=RULE hidden=RULE last=RULE, or a preset: "
                + ", ".join(PRESETS)
            )
        method = lrp_method(parse_composite(rest))
        return method if rest not in PRESETS else _named(method, rest)
    if (text.startswith("lrp-") and ":" in text) or text.removeprefix("lrp-") in _RULE_ONLY:
        return lrp_method(parse_rule(text))
    name, _, options = text.partition(":")
    if name in REFERENCE_METHODS:
        parsed = _parse_options(name, options)
        baseline = parsed.get("baseline", "zero")
        if "steps" in parsed or "rule" in parsed:
            steps = parsed.get("steps", "50")
            if not steps.isdigit():
                raise ValueError(f"steps must be a positive integer; got {steps!r}")
            return quadrature_method(int(steps), parsed.get("rule", "gausslegendre"), baseline)
        return reference_method(name, baseline)
    raise ValueError(
        f"unknown method {spec!r}; choose one of {', '.join(METHODS)}, a rule with parameters "
        "(lrp-epsilon:1e-6, lrp-gamma:0.25,bias=source, lrp-zbox:low=0,high=1) or a composite "
        "(lrp-composite first=flat hidden=epsilon:1e-6), or a reference method with its "
        "baseline (integrated-gradients:baseline=given)"
    )


def _parse_options(name: str, options: str) -> dict[str, str]:
    """``baseline=given,steps=32,rule=riemann_trapezoid`` as a dict; ValueError naming what a
    reference method takes."""
    allowed = ("baseline", "steps", "rule") if name == "integrated-gradients" else ("baseline",)
    parsed: dict[str, str] = {}
    for part in filter(None, (o.strip() for o in options.split(","))):
        key, _, value = part.partition("=")
        if key.strip() not in allowed or not value.strip():
            raise ValueError(
                f"unknown option {part!r} for {name}; it takes "
                + ", ".join(f"{a}=..." for a in allowed)
                + " (baseline=zero or baseline=given"
                + (
                    "; steps=K and rule=one of " + ", ".join(QUADRATURES) + " for a quadrature)"
                    if name == "integrated-gradients"
                    else ")"
                )
            )
        parsed[key.strip()] = value.strip()
    if parsed.get("baseline", "zero") not in BASELINES:
        raise ValueError(
            f"unknown baseline {parsed['baseline']!r}; a reference method takes baseline=zero "
            "or baseline=given"
        )
    return parsed


BASELINES = ("zero", "given")
"""A reference method's baseline: zeros (Captum's default), or given with every call."""

REFERENCE_METHODS = ("integrated-gradients", "deeplift-rescale")

_REFERENCE_ALWAYS = ("completeness", "permutation", "rescaling", "batch-consistency")


def reference_method(name: str, baseline: str = "zero") -> Method:
    """DeepLIFT-Rescale or exact integrated gradients from a ``zero`` or ``given`` baseline.
    Both add up to ``f(x) - f(x0)``; only a baseline that moves with the input (``given``:
    the gate passes ``x0 + m`` on net2) makes them input-invariant (Kindermans et al.)."""
    if name not in REFERENCE_METHODS:
        raise ValueError(f"unknown reference method {name!r}; choose one of {REFERENCE_METHODS}")
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}; got {baseline!r}")
    given = baseline == "given"
    references = {
        ("integrated-gradients", False): targets.integrated_gradients,
        ("integrated-gradients", True): targets.integrated_gradients_from_baseline,
        ("deeplift-rescale", False): targets.deeplift_rescale,
        ("deeplift-rescale", True): targets.deeplift_rescale_from_baseline,
    }
    implied = (*_REFERENCE_ALWAYS, *_ALWAYS, *(("baseline-invariance",) if given else ()))
    return Method(
        name,
        references[(name, given)],  # type: ignore[arg-type]
        None,
        False,
        tuple(p for p in ALL_PROPERTIES if p in implied),
        name if not given else f"{name}:baseline=given",
        reference_kind=name,
        baseline=baseline,
    )


# patterns are learned from the data net2 sees, so both passes are input-invariant; covariances
# of hidden units scaled by 2**k and their gates keep W ⊙ A and the signal's chain
_PATTERN_PROPERTIES = ("input-invariance", "permutation", "rescaling", "batch-consistency")


def pattern_method(name: str) -> Method:
    """PatternNet (``pattern-net``) or PatternAttribution (``pattern-attribution``) with
    patterns learned from the data the gate passes as ``data``."""
    references = {
        "pattern-net": targets.pattern_net,
        "pattern-attribution": targets.pattern_attribution,
    }
    if name not in references:
        raise ValueError(f"unknown pattern method {name!r}; choose one of {list(references)}")
    implied = (*_PATTERN_PROPERTIES, *_ALWAYS)
    return Method(
        name,
        references[name],  # type: ignore[arg-type]
        None,
        False,
        tuple(p for p in ALL_PROPERTIES if p in implied),
        fitted=True,
    )


_QUADRATURE_ALWAYS = ("permutation", "rescaling", "batch-consistency")


def quadrature_method(
    steps: int = 50, rule: str = "gausslegendre", baseline: str = "zero"
) -> Method:
    """Integrated gradients approximated by ``steps`` nodes of ``rule`` (Captum's
    ``IntegratedGradients(n_steps=steps, method=rule)``): held to that formula, not to the
    integral (completeness is not claimed: a kink between nodes is missed by design). Its
    distance from the exact integral is reported beside the gate's verdict."""
    quadrature(rule, steps)  # ValueError naming a bad rule or step count
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}; got {baseline!r}")
    given = baseline == "given"
    implied = (*_QUADRATURE_ALWAYS, *_ALWAYS, *(("baseline-invariance",) if given else ()))
    spec = f"integrated-gradients:{'baseline=given,' if given else ''}steps={steps},rule={rule}"
    return Method(
        "integrated-gradients",
        partial(targets.integrated_gradients_quadrature, steps=steps, rule=rule),
        None,
        False,
        tuple(p for p in ALL_PROPERTIES if p in implied),
        spec,
        reference_kind=f"{QUADRATURE_KIND}:{rule}:{steps}",
        baseline=baseline,
    )


QUADRATURE_KIND = "ig-quadrature"
"""The reference kind of a quadrature claim: ``ig-quadrature:RULE:STEPS``."""


def _named(method: Method, preset: str) -> Method:
    return Method(
        method.name,
        method.reference,
        method.composite,
        method.times_input,
        method.properties,
        f"lrp-composite {preset}",
    )


_RULE_ONLY = ("zbox",)  # a rule without defaults for every parameter: no built-in method

METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        Method(
            "gradient",
            targets.gradient,
            None,
            False,
            tuple(
                p
                for p in ALL_PROPERTIES
                if p in ("input-invariance", "rescaling", *_GRADIENT_PROPERTIES, *_ALWAYS)
            ),
        ),
        # |gradient| keeps what the gradient keeps: every property compares it with itself on
        # a network or input where the exact gradient is the same
        Method(
            "saliency",
            targets.saliency,
            None,
            False,
            tuple(
                p
                for p in ALL_PROPERTIES
                if p in ("input-invariance", *_GRADIENT_PROPERTIES, "rescaling", *_ALWAYS)
            ),
            absolute=True,
        ),
        Method(
            "gradient-x-input",
            targets.gradient_x_input,
            None,
            True,
            tuple(
                p
                for p in ALL_PROPERTIES
                if p
                in (
                    "shift-decomposition",
                    "bias-proxy-conservation",
                    "rescaling",
                    *_GRADIENT_PROPERTIES,
                    *_ALWAYS,
                )
            ),
        ),
        lrp_method(LRP0()),
        lrp_method(Epsilon(targets.EPSILON)),
        lrp_method(AlphaBeta(2.0, 1.0)),
        lrp_method(ZPlus()),
        lrp_method(Gamma(0.25)),
        lrp_method(WSquare()),
        lrp_method(Flat()),
        reference_method("integrated-gradients"),
        reference_method("deeplift-rescale"),
        pattern_method("pattern-net"),
        pattern_method("pattern-attribution"),
    )
}
for _method in METHODS.values():
    object.__setattr__(_method, "spec", _method.name)
for _name in REFERENCE_METHODS:  # listed by their spec: the baseline is part of the claim
    _given = reference_method(_name, "given")
    METHODS[_given.spec] = _given
_FIXED = frozenset(METHODS)
