"""One property held against one target on one case: whether it fails, how large the defect
is, and the score the search climbs. What the search and the minimiser both run."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from ..cases import SeedCase
from ..invariants import InvariantViolation, Property, TargetMisbehaved, TargetUnsupported
from ..methods import Method, Target
from .compat import CONTROL_FLOW
from .report import PropertyReport
from .timeout import TargetHung

_PASS_THROUGH: tuple[type[BaseException], ...] = (*CONTROL_FLOW, TargetHung)


@dataclass
class Outcome:
    """One property on one case: the failure it raises (None if it holds), the size of the
    defect, and the largest error / tolerance over its comparisons (what the search climbs)."""

    error: BaseException | None = None
    size: tuple[float, float] | None = None
    ratio: float = 0.0
    unsupported: bool = False  # the target declined the case: not judged, nothing to climb

    @property
    def score(self) -> float:
        """Hypothesis' target: log2 of the largest error / tolerance, so that the search moves
        towards cases where the target's errors grow (scales, sizes, kinks); every failure
        scores above every case that holds."""
        if self.unsupported:
            return -1100.0
        if self.error is None:
            return math.log2(self.ratio) if 0 < self.ratio < math.inf else -1100.0
        if self.size is None or math.isnan(self.size[0]):  # NaN, a wrong shape, an exception:
            return 2200.0  # nothing to climb
        return 1100.0 + min(math.log2(max(self.size[0], 2.0**-1074)), 1100.0)


@dataclass(frozen=True)
class Trial:
    """A property held against a target that claims a method."""

    prop: Property
    target: Target
    method: Method

    def run(
        self,
        case: SeedCase,
        draw: Callable[[st.SearchStrategy[Any]], Any],
        account: PropertyReport | None = None,
    ) -> Outcome:
        """Run the property on ``case``, its own choices drawn by ``draw``; with ``account``,
        add the worst error / tolerance, the values compared and those unbounded to that report.
        Hypothesis' control flow and a hang pass through."""
        try:
            comparisons = self.prop.check(case, self.target, self.method, draw)
        except _PASS_THROUGH:
            raise
        except TargetUnsupported as declined:  # not judged here; counted, the search goes on
            if account is not None:
                account.unsupported_cases += 1
                account.unsupported_note = account.unsupported_note or str(declined)
            return Outcome(unsupported=True)
        except (InvariantViolation, TargetMisbehaved) as error:
            return Outcome(error)
        ratio = max((c.worst_ratio() for c in comparisons), default=0.0)
        if account is not None:
            account.worst_ratio = max(account.worst_ratio, ratio)
            account.vacuous += sum(c.vacuous() for c in comparisons)
            account.compared += sum(c.compared() for c in comparisons)
        failed = [c for c in comparisons if not c.holds()]
        for index, value in filter(None, (c.non_finite_failure() for c in failed)):
            message = f"the target returned {value} at index {index} where the exact value is"
            return Outcome(TargetMisbehaved(f"{message} bounded"))
        if not failed:
            return Outcome(ratio=ratio)
        size = max(c.size_of_defect() for c in failed)
        return Outcome(InvariantViolation("\n".join(c.describe() for c in failed)), size, ratio)


@dataclass
class Found:
    """What the joint search knows about one property's failures."""

    error: BaseException | None = None  # the failure on the smallest failing case met
    case: SeedCase | None = None
    draws: list[Any] = field(default_factory=list)
    choices: tuple[Any, ...] | None = None  # the case's and this property's choices, replayable
    size: tuple[float, float] | None = None
    largest: dict[str, Any] = field(default_factory=dict)
