"""Integrated gradients: exact (the integral over the piecewise-linear path, kink by kink), or
a K-node quadrature of it as Captum computes it, from a zero or a given baseline.

A quadrature claim (``integrated-gradients:steps=K,rule=R``) is held to its K-node formula, not
to the integral: completeness is not claimed (a kink between nodes is missed by design). Its
distance from the exact integral is reported beside the gate's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from .. import targets
from ..bounds import Ball
from ..bounds.integrated import enclose_integrated_gradients, enclose_quadrature
from ..cases import ReferenceCase
from ..integrated import QUADRATURES, paths, quadrature
from .base import ALWAYS, Family, Method, Target, ordered
from .baseline import BaselineMethod, Encloser, check_baseline, parse_baseline_options

if TYPE_CHECKING:
    from hypothesis import strategies as st

    from ..cases import SeedCase

NAME = "integrated-gradients"

QUADRATURE_KIND = "ig-quadrature"
"""The exact value of a quadrature claim: ``ig-quadrature:RULE:STEPS``."""

_EXACT = ("completeness", "permutation", "rescaling", "batch-consistency", *ALWAYS)
_QUADRATURE = ("permutation", "rescaling", "batch-consistency", *ALWAYS)


def _implied(always: tuple[str, ...], baseline: str) -> tuple[str, ...]:
    return ordered((*always, *(("baseline-invariance",) if baseline == "given" else ())))


def exact_method(baseline: str = "zero") -> Method:
    """Exact integrated gradients from a ``zero`` or ``given`` baseline."""
    check_baseline(baseline)
    given = baseline == "given"
    reference: Target = (
        targets.integrated_gradients_from_baseline if given else targets.integrated_gradients
    )
    return BaselineMethod(
        NAME,
        reference,
        _implied(_EXACT, baseline),
        NAME if not given else f"{NAME}:baseline=given",
        exact=NAME,
        baseline=baseline,
    )


@dataclass(frozen=True, kw_only=True)
class QuadratureMethod(BaselineMethod):
    """Integrated gradients by ``steps`` nodes of ``rule``: held to that formula."""

    steps: int
    rule: str

    def notes(
        self, target: Target, cases: st.SearchStrategy[SeedCase], examples: int, seed: int | None
    ) -> tuple[str, ...]:
        """The claim's distance from the exact integral, measured on drawn cases."""
        from .. import approximation  # it imports the methods

        summary = approximation.measure_quadrature(
            target, self, self.prepare_cases(cases), examples, seed
        )
        return (summary.render(),)


def quadrature_method(
    steps: int = 50, rule: str = "gausslegendre", baseline: str = "zero"
) -> QuadratureMethod:
    """Integrated gradients approximated by ``steps`` nodes of ``rule`` (Captum's
    ``IntegratedGradients(n_steps=steps, method=rule)``)."""
    quadrature(rule, steps)  # ValueError naming a bad rule or step count
    check_baseline(baseline)
    given = baseline == "given"
    spec = f"{NAME}:{'baseline=given,' if given else ''}steps={steps},rule={rule}"
    return QuadratureMethod(
        NAME,
        partial(targets.integrated_gradients_quadrature, steps=steps, rule=rule),
        _implied(_QUADRATURE, baseline),
        spec,
        exact=f"{QUADRATURE_KIND}:{rule}:{steps}",
        baseline=baseline,
        steps=steps,
        rule=rule,
    )


def parse(text: str) -> Method | None:
    """``integrated-gradients:baseline=given,steps=32,rule=riemann_trapezoid``; None if ``text``
    names another method."""
    name, _, options = text.partition(":")
    if name != NAME:
        return None
    hint = "; steps=K and rule=one of " + ", ".join(QUADRATURES) + " for a quadrature"
    parsed = parse_baseline_options(name, options, ("steps", "rule"), hint)
    baseline = parsed.get("baseline", "zero")
    if "steps" in parsed or "rule" in parsed:
        steps = parsed.get("steps", "50")
        if not steps.isdigit():
            raise ValueError(f"steps must be a positive integer; got {steps!r}")
        return quadrature_method(int(steps), parsed.get("rule", "gausslegendre"), baseline)
    return exact_method(baseline)


def _enclose_exact(reference_case: ReferenceCase, exact: str, where: str) -> Ball:
    case = reference_case.case
    network, x, x0 = reference_case.arrays(where)
    forward, reference = reference_case.passes(where)
    breakpoints = [path.t for path in paths(network, x, case.classes, x0)]
    return enclose_integrated_gradients(
        network,
        forward.a[0],
        reference.a[0],
        breakpoints,
        case.classes,
        case.precision,
        reference_case.first_bias(where),
    )


def _enclose_quadrature(reference_case: ReferenceCase, exact: str, where: str) -> Ball:
    _, rule, steps = exact.split(":")  # ig-quadrature:RULE:STEPS
    nodes, weights = quadrature(rule, int(steps))
    case = reference_case.case
    network, _, _ = reference_case.arrays(where)
    forward, reference = reference_case.passes(where)
    return enclose_quadrature(
        network,
        forward.a[0],
        reference.a[0],
        nodes,
        weights,
        case.classes,
        case.precision,
        reference_case.first_bias(where),
    )


EXACT_VALUES: dict[str, Encloser] = {NAME: _enclose_exact, QUADRATURE_KIND: _enclose_quadrature}
"""How each exact value this family is held to is enclosed, by name (before any ``:``)."""

METHODS: tuple[Method, ...] = (exact_method(),)
"""The family's built-in method, listed by its name."""

BY_SPEC: tuple[Method, ...] = (exact_method("given"),)
"""Built-in claims listed by their spec: the baseline is part of the claim."""

FAMILY = Family(METHODS, parse, BY_SPEC, EXACT_VALUES)
