"""How far a quadrature of integrated gradients is from the exact integral, measured on drawn
cases: what the gate reports beside a claim ``integrated-gradients:steps=K`` (issue 14).

The claim holds a target to the K-node formula (:func:`~lrp_invariants.methods.quadrature_method`);
whether K nodes are enough is the user's call, made from these numbers: the error against the
exact value (:func:`~lrp_invariants.integrated.integrated_gradients`) relative to ``Σ|IG|``, per
sample, and how it compares with the rule's derived bound
(:func:`~lrp_invariants.integrated.quadrature_error_bound`: discrepancy times the gradient's
jumps along the path).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from .cases import SeedCase
from .integrated import integrated_gradients, quadrature_error_bound
from .invariants import InvariantViolation, TargetMisbehaved
from .invariants.calling import call_target
from .methods import Target
from .methods.integrated import NAME as INTEGRAL
from .methods.integrated import QuadratureMethod


@dataclass(frozen=True)
class QuadratureSummary:
    """Per-sample errors of a quadrature target against the exact integral."""

    relative: tuple[float, ...]  # Σ|R - IG| / Σ|IG| per sample (0 where both are 0)
    within_bound: int  # samples whose every feature is within the derived bound
    kinked: int  # samples whose path crosses a kink (elsewhere every rule is exact)

    def render(self) -> str:
        if not self.relative:
            return "approximation of the exact integral: no case could be measured"
        r = np.array(self.relative)
        return (
            f"approximation of the exact integral ({len(r)} samples, {self.kinked} with a kink "
            f"on the path): Σ|R - IG| / Σ|IG| median {np.median(r):.3g}, 90th percentile "
            f"{np.quantile(r, 0.9):.3g}, max {r.max():.3g}; within the rule's derived bound "
            f"in {self.within_bound} of {len(r)}"
        )


def measure_quadrature(
    target: Target,
    method: QuadratureMethod,
    cases: st.SearchStrategy[SeedCase],
    examples: int = 30,
    seed: int | None = None,
) -> QuadratureSummary:
    """Call ``target`` (claiming ``method``, a quadrature claim) on ``examples`` drawn cases and
    measure its distance from the exact integrated gradients."""
    relative: list[float] = []
    counts = {"within": 0, "kinked": 0}

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=seed is None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def measure(case: SeedCase) -> None:
        x0 = case.reference_case.x0
        try:
            R = call_target(target, case.net1, case.x1, case.classes, **method.baseline_call(x0))
        except (TargetMisbehaved, InvariantViolation):
            return  # the properties report it
        with np.errstate(all="ignore"):
            exact = integrated_gradients(case.net1, case.x1, case.classes, x0).astype(float)
            bound = quadrature_error_bound(
                case.net1, case.x1, case.classes, x0, steps=method.steps, method=method.rule
            ).astype(float)
            error = np.abs(R.astype(float) - exact)
            scale = np.abs(exact).sum(axis=1)
            ratio = np.divide(error.sum(axis=1), scale, out=np.zeros_like(scale), where=scale > 0)
            ratio[(scale == 0) & (error.sum(axis=1) > 0)] = np.inf
        # the target and the formula's exact value lie in the formula's ball, the integral
        # and the value computed here in the integral's: the bound is on the two exact values
        slack = (
            2 * case.reference_case.enclosure(method.exact).rad
            + 2 * case.reference_case.enclosure(INTEGRAL).rad
        )
        relative.extend(float(v) for v in ratio)
        counts["within"] += int(np.all(error <= bound + slack, axis=1).sum())
        counts["kinked"] += int((bound > 0).any(axis=1).sum())

    if seed is not None:
        measure = hypothesis_seed(seed)(measure)
    measure()
    return QuadratureSummary(tuple(relative), counts["within"], counts["kinked"])
