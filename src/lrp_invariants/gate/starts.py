"""Whether a failure is only where the target's relevance starts: code written as Zennit's
documentation writes it (``attributor(x, one_hot)``) starts LRP at one, not at the logit, and
fails every property whose values scale with the start, by one factor per sample."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from ..cases import SeedCase
from ..defaults import START_CHECK_CASES
from ..invariants import InvariantViolation, Property, TargetMisbehaved
from ..methods import Method, Target
from ..network import COMPUTED_STARTS
from .compat import quietly
from .draws import Recorder, Replayer
from .outcome import Trial
from .timeout import TargetHung


class _Fails(Exception):
    """A fresh case the other start does not explain."""


def holding_starts(
    prop: Property,
    failing: Sequence[tuple[SeedCase | None, list[Any]]],
    target: Target,
    method: Method,
    strategy: st.SearchStrategy[SeedCase],
    seed: int,
) -> tuple[str, ...]:
    """The starts, other than ``method``'s, under which every one of the ``failing`` cases
    (with their draws) and ``START_CHECK_CASES`` fresh cases of ``strategy`` hold ``prop``:
    the target's relevance is then the reference's from that start. Several may hold where a
    property only sees relevance up to a factor per sample (batch consistency holds a heatmap
    started at one or at the probability alike); none if none does, or if the method has no
    other start (only LRP's relevance starts anywhere but the logit)."""
    cases = [(case, draws) for case, draws in failing if case is not None]
    holding: list[str] = []
    for start in COMPUTED_STARTS:
        if start == method.start or not cases:
            continue
        try:
            other = method.with_start(start)
        except ValueError:
            return ()
        if all(_holds(prop, case, draws, target, other) for case, draws in cases) and _fresh(
            Trial(prop, target, other), strategy, seed
        ):
            holding.append(start)
    return tuple(holding)


def _holds(
    prop: Property, case: SeedCase, draws: list[Any], target: Target, method: Method
) -> bool:
    try:
        comparisons = prop.check(case, target, method, Replayer(draws))
    except (InvariantViolation, TargetMisbehaved, TargetHung, ValueError):
        return False
    return all(c.holds() for c in comparisons)


def _fresh(trial: Trial, strategy: st.SearchStrategy[SeedCase], seed: int) -> bool:
    """Whether ``START_CHECK_CASES`` cases of ``strategy`` all hold ``trial``'s property."""

    @settings(
        max_examples=START_CHECK_CASES,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
    )
    @given(case=strategy, data=st.data())
    def search(case: SeedCase, data: st.DataObject) -> None:
        if trial.run(case, Recorder(data)).error is not None:
            raise _Fails

    try:
        quietly(hypothesis_seed(seed)(search))
    except (_Fails, TargetMisbehaved, TargetHung):
        return False
    return True
