"""The record of flags every method was before it had a family module of its own.

Each family moves from here to its own module (a :class:`~.base.Method` subclass): this one
answers the hooks of :mod:`.base` by branching on the flags of the methods still here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from numpy.typing import ArrayLike

from .. import targets
from ..bounds import (
    Ball,
    ForwardBalls,
    LayerBalls,
    Precision,
    add,
    enclose_forward,
    enclose_relevance,
    total,
)
from ..bounds.deeplift import enclose_deeplift
from ..bounds.integrated import enclose_integrated_gradients, enclose_quadrature
from ..bounds.patterns import enclose_pattern_method
from ..cases import ReferenceCase, SeedCase
from ..configuration import (
    PRESETS,
    RULE_KINDS,
    Composite,
    build_rule,
    composite_target,
    implied_properties,
    parse_composite,
    parse_rule,
    rule_spec,
    with_parameters,
)
from ..integrated import QUADRATURES, paths, quadrature
from ..network import Array, Network
from ..rules import LRP0, AlphaBeta, Epsilon, Flat, Gamma, Rule, WSquare, ZPlus
from .base import (
    ALWAYS,
    Conservation,
    Family,
    Method,
    NetworkMethod,
    Target,
    ordered,
    parse_options,
)

if TYPE_CHECKING:
    from hypothesis import strategies as st


@dataclass(frozen=True, kw_only=True)
class FlagMethod(NetworkMethod):
    """A method described by flags: ``composite`` assigns LRP rules to layers;
    ``reference_kind`` and ``baseline`` make it explain against ``x0``; ``fitted`` makes it
    learn from data."""

    composite: Composite | None = None
    # DeepLIFT and integrated gradients: the exact value they are held to
    # ("deeplift-rescale" or "integrated-gradients"), and their baseline: "zero", or "given"
    reference_kind: str | None = None
    baseline: str | None = None
    # PatternNet, PatternAttribution: the target learns from a data set
    fitted: bool = False

    @property
    def takes_baseline(self) -> bool:
        return self.baseline == "given"

    @property
    def learns_from_data(self) -> bool:
        return self.fitted

    @property
    def multiplies_by_inputs(self) -> bool:
        return self.composite is not None or self.reference_kind is not None

    @property
    def extra_arguments(self) -> tuple[str, ...]:
        if self.baseline == "given":
            return ("baseline",)
        return ("data",) if self.fitted else ()

    def arguments(
        self, case: SeedCase, rows: Array | slice = slice(None), where: str = "net1"
    ) -> dict[str, Array]:
        if self.baseline == "given":
            return {"baseline": case.reference_case.x0[rows]}
        if self.fitted:
            if case.data is None:
                raise ValueError(f"{self.name} learns from data: draw cases with_data")
            return {"data": case.data if where == "net1" else case.data_shifted}
        return {}

    def baseline_call(self, x0: Array) -> dict[str, Array]:
        return {"baseline": x0} if self.baseline == "given" else {}

    def prepare_cases(self, cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
        from .. import strategies as lst  # strategies imports the configurations: no cycle

        if self.baseline == "given":
            return lst.with_references(cases)
        return lst.with_data(cases) if self.fitted else cases

    @property
    def exact(self) -> str:
        if self.reference_kind is None:
            raise ValueError(f"{self.name} explains against no reference point")
        return self.reference_kind

    @property
    def exact_value(self) -> str:
        return self.exact

    @property
    def steps(self) -> int:
        return int(self.exact.split(":")[2])

    @property
    def rule(self) -> str:
        return self.exact.split(":")[1]

    def notes(
        self, target: Target, cases: st.SearchStrategy[SeedCase], examples: int, seed: int | None
    ) -> tuple[str, ...]:
        if not (self.reference_kind or "").startswith(QUADRATURE_KIND):
            return ()
        from .. import approximation  # it imports the methods

        summary = approximation.measure_quadrature(
            target, self, self.prepare_cases(cases), examples, seed
        )
        return (summary.render(),)

    def enclosure(self, case: SeedCase, role: str) -> Ball:
        if self.reference_kind is not None:
            return case.reference_case.enclosure(
                self.reference_kind, {"net1": "net1", "net2": "net2"}[role]
            )
        if self.fitted:
            return case.pattern_enclosure(self.name, {"net1": "net1", "net2": "net2"}[role])
        return super().enclosure(case, role)

    def _enclose_role(self, case: SeedCase, role: str) -> Ball:
        if role == "proxy" and self.composite is not None:
            return self.proxy_layers(case)[0].R
        return super()._enclose_role(case, role)

    def enclosure_on(self, case: SeedCase, network: Network) -> Ball:
        p = case.precision
        if self.reference_kind is not None:
            changed = SeedCase(network, case.x1, case.m, case.classes, case.flush)
            return ReferenceCase(changed, case.reference_case.x0).enclosure(self.reference_kind)
        if self.fitted:
            if case.data is None:
                raise ValueError(f"{self.name} learns from data: draw cases with_data")
            return enclose_pattern_method(
                self.name,
                network,
                enclose_forward(network, Ball.exact(case.x1), p=p),
                enclose_forward(network, Ball.exact(case.data), p=p),
                case.classes,
                p,
            )
        return super().enclosure_on(case, network)

    def conservation(self, case: SeedCase) -> Conservation:
        if self.composite is None:
            return super().conservation(case)
        layers = self.proxy_layers(case)
        return Conservation(layers, _unassigned(layers, case.precision))

    def rules_for(self, network: Network) -> tuple[Rule, ...]:
        """Each Linear layer's rule."""
        if self.composite is None:
            raise ValueError(f"{self.name} has no rules")
        return self.composite.rules_for(network.depth)

    def describe(self) -> str:
        if self.composite is None or self.spec == self.name:
            return self.name
        return f"{self.name} ({self.composite.describe()})"

    def with_parameters(self, parameters: dict[str, Any]) -> Method:
        if self.composite is None or self.composite.first or self.composite.last:
            return super().with_parameters(parameters)
        return lrp_method(with_parameters(self.composite.hidden, parameters))

    def _enclose(
        self, network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision
    ) -> Ball:
        if self.composite is None:
            return super()._enclose(network, forward, classes, p)
        return enclose_relevance(network, forward, classes, self.rules_for(network), p)[0].R

    def _enclose_layers(
        self, network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision
    ) -> tuple[LayerBalls, ...]:
        return enclose_relevance(network, forward, classes, self.rules_for(network), p)


def _unassigned(layers: tuple[LayerBalls, ...], p: Precision) -> Ball:
    """All relevance the rules kept back (``Rs``) over the network, per sample."""
    per_layer = [total(layer.Rs, axis=1, p=p) for layer in layers]
    result = per_layer[0]
    for ball in per_layer[1:]:
        result = add(result, ball, p)
    return result


def lrp_method(composite: Composite | Rule, name: str | None = None) -> Method:
    """The gate's method for LRP with ``composite`` (or one rule on every layer), its
    properties derived from the rules."""
    if isinstance(composite, Rule):
        composite = Composite(composite)
    single = composite.layers is None and composite.first is None and composite.last is None
    if name is None:
        name = composite.hidden.name if single else "lrp-composite"
    spec = "lrp-" + rule_spec(composite.hidden) if single else f"lrp-composite {composite.spec()}"
    return FlagMethod(
        name, composite_target(composite), implied_properties(composite), spec, composite=composite
    )


_RULE_ONLY = ("zbox",)  # a rule without defaults for every parameter: no built-in method


def parse_lrp(text: str) -> Method | None:
    if text.startswith("lrp-composite"):
        rest = text.removeprefix("lrp-composite").strip()
        if not rest:
            raise ValueError(
                "lrp-composite needs its rules: first=RULE hidden=RULE last=RULE, or a preset: "
                + ", ".join(PRESETS)
            )
        method = lrp_method(parse_composite(rest))
        return method if rest not in PRESETS else replace(method, spec=f"lrp-composite {rest}")
    if (text.startswith("lrp-") and ":" in text) or text.removeprefix("lrp-") in _RULE_ONLY:
        return lrp_method(parse_rule(text))
    return None


def from_rule_options(text: str, parameters: dict[str, Any]) -> Method | None:
    name = text.strip().removeprefix("lrp-")
    if parameters and name in RULE_KINDS:
        return lrp_method(build_rule(name, parameters))
    return None


def from_composite_options(
    preset: str | None, roles: Mapping[str, str | None], parameters: dict[str, Any]
) -> Method:
    if parameters:
        raise ValueError("a composite takes its parameters inside each rule: --hidden epsilon:1e-6")
    if preset is not None:
        if any(roles.values()):
            raise ValueError("give --composite or --first/--hidden/--last, not both")
        method = parse_lrp(f"lrp-composite {preset}")
        assert method is not None
        return method
    hidden, first, last = roles.get("hidden"), roles.get("first"), roles.get("last")
    if hidden is None:
        raise ValueError("a composite needs --hidden RULE (the rule between first and last)")
    return lrp_method(
        Composite(
            parse_rule(hidden),
            first=parse_rule(first) if first else None,
            last=parse_rule(last) if last else None,
        )
    )


BASELINES = ("zero", "given")
REFERENCE_METHODS = ("integrated-gradients", "deeplift-rescale")
_REFERENCE_ALWAYS = ("completeness", "permutation", "rescaling", "batch-consistency")
QUADRATURE_KIND = "ig-quadrature"


def reference_method(name: str, baseline: str = "zero") -> Method:
    """DeepLIFT-Rescale or exact integrated gradients from a ``zero`` or ``given`` baseline."""
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
    implied = (*_REFERENCE_ALWAYS, *ALWAYS, *(("baseline-invariance",) if given else ()))
    return FlagMethod(
        name,
        references[(name, given)],  # type: ignore[arg-type]
        ordered(implied),
        name if not given else f"{name}:baseline=given",
        reference_kind=name,
        baseline=baseline,
    )


def quadrature_method(
    steps: int = 50, rule: str = "gausslegendre", baseline: str = "zero"
) -> FlagMethod:
    """Integrated gradients approximated by ``steps`` nodes of ``rule``."""
    quadrature(rule, steps)  # ValueError naming a bad rule or step count
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}; got {baseline!r}")
    given = baseline == "given"
    implied = ("permutation", "rescaling", "batch-consistency", *ALWAYS)
    spec = f"integrated-gradients:{'baseline=given,' if given else ''}steps={steps},rule={rule}"
    return FlagMethod(
        "integrated-gradients",
        partial(targets.integrated_gradients_quadrature, steps=steps, rule=rule),
        ordered((*implied, *(("baseline-invariance",) if given else ()))),
        spec,
        reference_kind=f"{QUADRATURE_KIND}:{rule}:{steps}",
        baseline=baseline,
    )


def parse_reference(text: str) -> Method | None:
    name, _, options = text.partition(":")
    if name not in REFERENCE_METHODS:
        return None
    allowed = ("baseline", "steps", "rule") if name == "integrated-gradients" else ("baseline",)
    takes = "baseline=zero or baseline=given" + (
        "; steps=K and rule=one of " + ", ".join(QUADRATURES) + " for a quadrature"
        if name == "integrated-gradients"
        else ""
    )
    parsed = parse_options(name, options, allowed, takes)
    if parsed.get("baseline", "zero") not in BASELINES:
        raise ValueError(
            f"unknown baseline {parsed['baseline']!r}; a reference method takes baseline=zero "
            "or baseline=given"
        )
    baseline = parsed.get("baseline", "zero")
    if "steps" in parsed or "rule" in parsed:
        steps = parsed.get("steps", "50")
        if not steps.isdigit():
            raise ValueError(f"steps must be a positive integer; got {steps!r}")
        return quadrature_method(int(steps), parsed.get("rule", "gausslegendre"), baseline)
    return reference_method(name, baseline)


def _enclose_reference(reference_case: ReferenceCase, exact: str, where: str) -> Ball:
    case, p = reference_case.case, reference_case.case.precision
    network, x, x0 = reference_case.arrays(where)
    forward, reference = reference_case.passes(where)
    first_bias = reference_case.first_bias(where)
    if exact == "deeplift-rescale":
        delta = add(forward.a[0], Ball(-reference.a[0].mid, reference.a[0].rad), p)
        return enclose_deeplift(network, forward, reference, delta, case.classes, p)
    if exact == "integrated-gradients":
        breakpoints = [path.t for path in paths(network, x, case.classes, x0)]
        return enclose_integrated_gradients(
            network, forward.a[0], reference.a[0], breakpoints, case.classes, p, first_bias
        )
    _, rule, steps = exact.split(":")  # ig-quadrature:RULE:STEPS
    nodes, weights = quadrature(rule, int(steps))
    return enclose_quadrature(
        network, forward.a[0], reference.a[0], nodes, weights, case.classes, p, first_bias
    )


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
    return FlagMethod(
        name,
        references[name],  # type: ignore[arg-type]
        ordered((*_PATTERN_PROPERTIES, *ALWAYS)),
        fitted=True,
    )


def _builtin(method: Method) -> Method:
    return replace(method, spec=method.name)


LRP = Family(
    tuple(
        _builtin(lrp_method(rule))
        for rule in (
            LRP0(),
            Epsilon(targets.EPSILON),
            AlphaBeta(2.0, 1.0),
            ZPlus(),
            Gamma(0.25),
            WSquare(),
            Flat(),
        )
    ),
    parse_lrp,
)
_EXACT_VALUES = {
    "integrated-gradients": _enclose_reference,
    QUADRATURE_KIND: _enclose_reference,
    "deeplift-rescale": _enclose_reference,
}
INTEGRATED = Family(
    (reference_method("integrated-gradients"),),
    parse_reference,
    (reference_method("integrated-gradients", "given"),),
    _EXACT_VALUES,
)
DEEPLIFT = Family(
    (reference_method("deeplift-rescale"),),
    parse_reference,
    (reference_method("deeplift-rescale", "given"),),
)
PATTERNS = Family((pattern_method("pattern-net"), pattern_method("pattern-attribution")))
