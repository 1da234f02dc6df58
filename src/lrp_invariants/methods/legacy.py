"""The record of flags every method was before it had a family module of its own.

Each family moves from here to its own module (a :class:`~.base.Method` subclass): this one
answers the hooks of :mod:`.base` by branching on the flags of the methods still here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from .. import targets
from ..bounds import Ball, add, enclose_forward
from ..bounds.deeplift import enclose_deeplift
from ..bounds.integrated import enclose_integrated_gradients, enclose_quadrature
from ..bounds.patterns import enclose_pattern_method
from ..cases import ReferenceCase, SeedCase
from ..integrated import QUADRATURES, paths, quadrature
from ..network import Array, Network
from .base import ALWAYS, Family, Method, Target, ordered, parse_options

if TYPE_CHECKING:
    from hypothesis import strategies as st


@dataclass(frozen=True, kw_only=True)
class FlagMethod(Method):
    """A method described by flags: ``reference_kind`` and ``baseline`` make it explain
    against ``x0``; ``fitted`` makes it learn from data."""

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
        return self.reference_kind is not None

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
        raise ValueError(f"{self.name} has no enclosure")

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
        raise ValueError(f"{self.name} has no enclosure")


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
