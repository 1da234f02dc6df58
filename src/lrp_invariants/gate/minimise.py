"""A failure of the joint search turned into the report's cases: shrunk by Hypothesis against
its property alone, then reduced (:mod:`lrp_invariants.reduce`: samples, inputs and units it
does not need removed), with the largest error met along the way kept beside it."""

from __future__ import annotations

import time
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from ..cases import SeedCase
from ..invariants import InvariantViolation, TargetMisbehaved
from .compat import quietly, replay_database, replay_from, seed_shrinker
from .draws import Recorder
from .options import GateOptions
from .outcome import Found, Trial
from .report import PropertyReport, WorstCase


class _OutOfTime(BaseException):
    """The property's shrinking budget is spent: a BaseException, so that Hypothesis stops
    shrinking at once; the smallest failing case met so far is shown."""


def minimise(
    trial: Trial,
    strategy: st.SearchStrategy[SeedCase],
    report: PropertyReport,
    record: Found,
    options: GateOptions,
    deadline: float | None = None,
) -> None:
    """Turn a failure of the joint search into the report's cases: shrink it with Hypothesis
    (replaying the failing case's choices, then minimising them against this property alone),
    keep the largest error seen along the way, and say whether the case is minimal. Past
    ``deadline`` (a ``time.perf_counter()`` reading; None: none) shrinking and reduction stop
    and the smallest failing case met so far is shown, said to be so."""
    last: dict[str, Any] = {}
    smallest: dict[str, Any] = {}  # the last failing case the shrinker accepted
    largest = record.largest

    @settings(
        max_examples=options.examples,
        database=replay_database(record.choices),
        deadline=None,
        derandomize=False,
        phases=[Phase.reuse, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
        report_multiple_bugs=False,
    )
    @given(case=strategy, data=st.data())
    def search(case: SeedCase, data: st.DataObject) -> None:
        if deadline is not None and time.perf_counter() > deadline and smallest:
            raise _OutOfTime
        recorder = Recorder(data)
        last.clear()
        last.update(case=case, draws=recorder.values)
        outcome = trial.run(case, recorder)
        error, size = outcome.error, outcome.size
        if error is None:
            return
        last["size"] = size
        smallest.update(case=case, draws=list(recorder.values), size=size, error=error)
        if size is not None and size[0] > largest.get("size", (-1.0, 0.0))[0]:
            largest.update(case=case, draws=list(recorder.values), size=size)
        raise error

    # the shrinker replays from the in-memory database, its random choices seeded, so that
    # the minimal case is the same on every run
    replay_from(search)
    seed_shrinker(search, options.seed)
    error: BaseException | None = None
    if options.shrink and record.choices is not None:
        try:
            quietly(search)
        except (InvariantViolation, TargetMisbehaved) as raised:
            error = raised
        except Flaky:  # it failed, then passed on the same case: shown as first found
            error = None
        except _OutOfTime:
            error = smallest["error"]
            last.clear()
            last.update(smallest)
            report.shrink_stopped = True
    if error is None:  # not shrunk (--no-shrink), or the replay did not reproduce the failure
        error = record.error
        last.update(case=record.case, draws=record.draws, size=record.size)
        report.minimised = False
    elif options.reduce and not report.shrink_stopped:
        error = _reduce(trial, report, last, error, options, deadline)
    report.failure = str(error)
    report.misbehaved = isinstance(error, TargetMisbehaved)
    report.size = last.get("size") if not report.misbehaved else None
    report.case, report.draws = last.get("case"), list(last.get("draws", []))
    # a largest error within a factor of two of the shown case's tells nothing new
    if largest and report.size is not None and largest["size"][0] > 2 * report.size[0]:
        report.worst = WorstCase(largest["case"], largest["draws"], largest["size"])


REDUCTION_CHECKS = 200
"""At most this many smaller cases are tried after shrinking (each is one property search on a
fixed case; most properties draw nothing beyond the case, so most are one check)."""

REDUCTION_EXAMPLES = 25
"""Examples of a property's own draws (a permutation, a split of the batch) per smaller case."""


def _reduce(
    trial: Trial,
    report: PropertyReport,
    last: dict[str, Any],
    error: BaseException,
    options: GateOptions,
    deadline: float | None = None,
) -> BaseException:
    """Remove samples, inputs and units from the shrunk case while it still fails the property
    the same way (:mod:`lrp_invariants.reduce`); ``last`` ends holding the smallest failing
    case found."""
    checks = 0
    reduced = True
    while reduced and checks < REDUCTION_CHECKS:
        reduced = False
        if deadline is not None and time.perf_counter() > deadline:
            report.shrink_stopped = True
            break
        for candidate in last["case"].smaller():
            checks += 1
            failure = _fails_on(trial, candidate, options)
            if failure is not None and type(failure[0]) is type(error):
                error, draws, size = failure
                last.update(case=candidate, draws=draws, size=size)
                reduced = True
                break
            if checks >= REDUCTION_CHECKS:
                break
    return error


def _fails_on(
    trial: Trial, case: SeedCase, options: GateOptions
) -> tuple[BaseException, list[Any], tuple[float, float] | None] | None:
    """Whether the property fails on this one case for some draws of its own: the error, the
    (shrunk) draws and the defect's size, or None."""
    seen: dict[str, Any] = {}

    @settings(
        max_examples=REDUCTION_EXAMPLES,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
        report_multiple_bugs=False,
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        recorder = Recorder(data)
        outcome = trial.run(case, recorder)
        if outcome.error is not None:
            seen.update(error=outcome.error, draws=list(recorder.values), size=outcome.size)
            raise outcome.error

    seed_shrinker(check, options.seed)
    try:
        quietly(check)
    except (InvariantViolation, TargetMisbehaved):
        return seen["error"], seen["draws"], seen["size"]
    except Flaky:
        return None
    return None
