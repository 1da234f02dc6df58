"""Kindermans et al.'s table, on a trained network: which attribution methods are input-invariant
under the compensated shift (net2 at ``x1 + m`` against net1 at ``x1``).

Each row computes the method on both networks, takes the largest difference, and decides with
the method's enclosures: *yes* where every difference is within the derived tolerance, *no*
where one certainly exceeds it (a finite tolerance), *undecided* otherwise. Beside it stands what
Kindermans et al. report: the gradient (and the signal methods) are invariant; gradient x input,
LRP, and integrated gradients or DeepLIFT from a reference that stays at zero are not; from a
reference that moves with the shift (their "black image" baseline, ``x0 + m``) they are, and
so are PatternNet and PatternAttribution, whose patterns net2 learns from the data it sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .bounds import Ball, agreement_tolerance
from .cases import ReferenceCase, SeedCase
from .deeplift import deeplift_rescale
from .integrated import integrated_gradients
from .invariants import Comparison
from .methods import METHODS
from .network import Array
from .patterns import pattern_attribution, pattern_net


@dataclass(frozen=True)
class Row:
    """One method's verdict."""

    method: str
    paper: str  # Kindermans et al.'s claim: "yes" (invariant) or "no"
    largest_change: float
    verdict: str  # "yes", "no" or "undecided"
    samples: int
    heatmaps: tuple[Array, Array]  # the first sample's relevance on net1 and on net2

    @property
    def agrees(self) -> bool:
        return self.verdict == self.paper


def _verdict(comparison: Comparison) -> str:
    if comparison.holds():
        return "yes"
    certain = comparison.failing & np.isfinite(comparison.tolerance)
    return "no" if certain.any() else "undecided"


def _row(name: str, paper: str, r1: Array, r2: Array, tolerance: Array, samples: int) -> Row:
    comparison = Comparison("net2 == net1", r2, r1, tolerance)
    change = float(np.abs(np.asarray(r2, float) - np.asarray(r1, float)).max())
    return Row(name, paper, change, _verdict(comparison), samples, (r1[0], r2[0]))


def _network_method(case: SeedCase, spec: str, name: str, paper: str) -> Row:
    method = METHODS[spec]
    p = case.precision
    r1 = np.asarray(method.reference(case.net1.weights, case.net1.biases, case.x1, case.classes))
    r2 = np.asarray(method.reference(case.net2.weights, case.net2.biases, case.x2, case.classes))
    tolerance = agreement_tolerance(
        method.enclose(case.net2, case.balls2, case.classes, p),
        method.enclose(case.net1, case.balls1, case.classes, p),
    )
    return _row(name, paper, r1, r2, tolerance, case.x1.shape[0])


Reference = Callable[..., Array]


def _reference_method(
    case: SeedCase, fn: Reference, kind: str, moved: bool, name: str, paper: str
) -> Row:
    reference_case = ReferenceCase(case, np.zeros_like(case.x1))
    r1 = fn(case.net1, case.x1, case.classes, reference_case.x0)
    x0_net2 = reference_case.x0_shifted if moved else reference_case.x0
    r2 = fn(case.net2, case.x2, case.classes, x0_net2)
    ball2: Ball = reference_case.enclosure(kind, "net2" if moved else "net2-unmoved")
    tolerance = agreement_tolerance(ball2, reference_case.enclosure(kind, "net1"))
    return _row(name, paper, r1, r2, tolerance, case.x1.shape[0])


def _pattern_method(case: SeedCase, kind: str, name: str, paper: str) -> Row:
    """A pattern method on net1 (patterns from the case's data) and net2 (from ``data + m``)."""
    fn = {"pattern-net": pattern_net, "pattern-attribution": pattern_attribution}[kind]
    assert case.data is not None
    r1 = fn(case.net1, case.x1, case.classes, case.data)
    r2 = fn(case.net2, case.x2, case.classes, case.data_shifted)
    tolerance = agreement_tolerance(
        case.pattern_enclosure(kind, "net2"), case.pattern_enclosure(kind, "net1")
    )
    return _row(name, paper, r1, r2, tolerance, case.x1.shape[0])


def table(case: SeedCase, exact_ig_samples: int = 5) -> list[Row]:
    """Every row of the table on ``case`` (integrated gradients on its first
    ``exact_ig_samples`` samples: an exact path on wide layers crosses about a thousand kinks;
    the pattern methods where the case carries the data they learn from)."""
    few = SeedCase(case.net1, case.x1[:exact_ig_samples], case.m, case.classes[:exact_ig_samples])
    patterns = (
        []
        if case.data is None
        else [
            _pattern_method(case, "pattern-net", "PatternNet (signal)", "yes"),
            _pattern_method(case, "pattern-attribution", "PatternAttribution", "yes"),
        ]
    )
    return [
        _network_method(case, "gradient", "gradient (saliency)", "yes"),
        _network_method(case, "gradient-x-input", "gradient x input", "no"),
        _network_method(case, "lrp-0", "LRP-0", "no"),
        _network_method(case, "lrp-epsilon", "LRP-ε", "no"),
        _reference_method(
            case, deeplift_rescale, "deeplift-rescale", False, "DeepLIFT, zero reference", "no"
        ),
        _reference_method(
            case, deeplift_rescale, "deeplift-rescale", True, "DeepLIFT, reference + m", "yes"
        ),
        _reference_method(
            few, integrated_gradients, "integrated-gradients", False, "IG, zero baseline", "no"
        ),
        _reference_method(
            few, integrated_gradients, "integrated-gradients", True, "IG, baseline + m", "yes"
        ),
        *patterns,
    ]
