"""Whether a failure is only where the target's relevance starts: code written as Zennit's
documentation writes it (``attributor(x, one_hot)``) starts LRP at one, not at the logit, and
fails every property whose values scale with the start, by one factor per sample."""

from __future__ import annotations

from typing import Any

from ..cases import SeedCase
from ..invariants import InvariantViolation, Property, TargetMisbehaved
from ..methods import Method, Target
from ..network import STARTS
from .draws import Replayer
from .timeout import TargetHung


def holding_start(
    prop: Property, case: SeedCase, draws: list[Any], target: Target, method: Method
) -> str | None:
    """The start, other than ``method``'s, under which the failing case holds ``prop`` (the
    target's relevance is the reference's from that start); None if none does, or the method
    has no other start (only LRP's relevance starts anywhere but the logit)."""
    for start in STARTS:
        if start == method.start:
            continue
        try:
            other = method.with_start(start)
            comparisons = prop.check(case, target, other, Replayer(draws))
        except (InvariantViolation, TargetMisbehaved, TargetHung, ValueError):
            continue
        if all(c.holds() for c in comparisons):
            return start
    return None
