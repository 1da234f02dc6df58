"""The joint search: one Hypothesis search draws cases and runs every property on each, then
each property's failure is minimised on its own (:mod:`.minimise`)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from contextlib import suppress

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis import target as hypothesis_target

from ..cases import SeedCase
from ..invariants import InvariantViolation, Property
from ..methods import Method, Target
from .arithmetic import check_arithmetic, holds_when_flushing
from .compat import choices_so_far, quietly
from .draws import Recorder
from .minimise import minimise
from .options import GateOptions
from .outcome import Found, Trial
from .report import PropertyReport
from .starts import holding_starts
from .timeout import TargetHung, with_time_limit

DERANDOMISED_SEED = int(
    "24126861568044632742322910432745909285584547903492901736004168636656490348105262897466"
    "040095252605911619604164475447"
)
"""The random seed of the default, derandomised search. Hypothesis' ``derandomize`` seeds a
search from a digest of its function's source, so any edit of the search's code changed the
cases a default run sees (and which defects it catches); this is the digest the search had
before the gate became a package (the same on Python 3.10 to 3.13), pinned so that the
default run stays the same while the code around it changes."""


class _SearchDone(BaseException):
    """Every property of the search has failed (or, with ``first_failure``, one has): nothing
    is left to search for. A BaseException, so that Hypothesis ends the search instead of
    shrinking it."""


def run_properties(
    props: Sequence[Property], target: Target, method: Method, options: GateOptions
) -> tuple[list[PropertyReport], bool]:
    """Search for counterexamples to every property at once, then minimise each failure
    (unless a call hung) and say whether it is only a flushed subnormal; and whether the search
    ended ``options.cases_after_failure`` cases after the first failure."""
    flush = check_arithmetic(options.arithmetic)
    limited = with_time_limit(target, options.time_limit)
    trials = [Trial(prop, limited, method) for prop in props]
    strategy = method.prepare_cases(options.case_strategy()).map(lambda c: c.under(flush))
    reports = [PropertyReport(prop.name, prop.sentence) for prop in props]
    found = [Found() for _ in props]
    start = time.perf_counter()
    ended: list[str] = []
    # a hung target ends the search: every further call would wait out the limit again
    with suppress(TargetHung, _SearchDone):
        _search_all(trials, strategy, reports, found, options, ended)
    share = (time.perf_counter() - start) / len(props)
    for report in reports:  # declined wherever it was asked (nothing compared): no verdict
        if report.failure is None and report.unsupported_cases and not report.compared:
            report.failure, report.unsupported = report.unsupported_note, True
    failing = sum(record.error is not None for record in found)
    shrunk = 0
    others: float | None = None  # when the failing properties after the first began shrinking
    for report in reports:
        report.seconds = share

    def smallest_first(k: int) -> tuple[float, int]:
        case = found[k].case
        return (math.inf if case is None else case.bulk, k)

    # the smallest failing case shrinks first, to the end: the verdict's minimal case comes
    # soonest from it (report order breaks ties)
    order = sorted(range(len(trials)), key=smallest_first)
    for trial, report, record in ((trials[k], reports[k], found[k]) for k in order):
        if record.error is None or any(r.hung for r in reports):
            continue
        if options.progress is not None:
            options.progress(f"shrink {trial.prop.name}", shrunk, failing)
        began = time.perf_counter()
        # the first failing property shrinks to the end; the others share one budget, so that
        # a verdict waits for the search, one minimal case and at most the budget
        budget = options.shrink_budget
        if shrunk == 1:
            others = began
        deadline = None if others is None or budget is None else others + budget
        shrunk += 1
        try:
            minimise(trial, strategy, report, record, options, deadline)
        except TargetHung as error:
            report.failure, report.hung = str(error), True
            report.case, report.draws = record.case, record.draws
        if isinstance(record.error, InvariantViolation) and report.case is not None:
            if not flush:
                report.only_subnormal = holds_when_flushing(
                    trial.prop, report.case, report.draws, limited, method
                )
            # the shown case, the case as first found and the largest error met: the start
            # must explain them all (a normalised heatmap matches LRP from one on a 1-1-1 case)
            seen = [(report.case, report.draws), (record.case, record.draws)]
            if "case" in record.largest:
                seen.append((record.largest["case"], record.largest["draws"]))
            seed = options.seed if options.seed is not None else DERANDOMISED_SEED
            report.holding_starts = holding_starts(
                trial.prop, seen, limited, method, strategy, seed
            )
        report.seconds += time.perf_counter() - began
    return reports, ended == ["cases after failure"]


def _search_all(
    trials: Sequence[Trial],
    strategy: st.SearchStrategy[SeedCase],
    reports: Sequence[PropertyReport],
    found: Sequence[Found],
    options: GateOptions,
    ended: list[str],
) -> None:
    """One search for every property: each drawn case is checked against all of them, so the
    case and everything derived from it (net2, net3, the balls) is built once, not once per
    property. Failures are recorded, never raised: the search goes on for the other
    properties and for the largest error; :func:`minimise` shrinks each failure afterwards.
    A hang (:class:`TargetHung`) ends the search, with ``report.hung`` set on its property.
    ``options.guided`` spends part of the examples climbing each property's error / tolerance
    (Hypothesis' targeting phase) instead of drawing fresh cases. Without ``options.seed`` the
    search is the fixed one of :data:`DERANDOMISED_SEED`. Once a property has failed, the
    search draws ``options.cases_after_failure`` more cases at most (``ended`` then says so)."""
    first_failed: list[int] = []  # the case the first failure was met on

    @settings(
        max_examples=options.examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.generate, *([Phase.target] if options.guided else [])],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
    )
    @given(case=strategy, data=st.data())
    def search(case: SeedCase, data: st.DataObject) -> None:
        choices = choices_so_far(data)
        case_end = None if choices is None else len(choices())
        for trial, report, record in zip(trials, reports, found, strict=True):
            recorder = Recorder(data)
            start = None if choices is None else len(choices())
            try:
                outcome = trial.run(case, recorder, account=report)
            except TargetHung as hung:
                report.failure, report.hung = str(hung), True
                report.case, report.draws = case, list(recorder.values)
                raise
            hypothesis_target(outcome.score, label=trial.prop.name)
            error, size = outcome.error, outcome.size
            if error is None:
                continue
            if record.case is None or case.bulk < record.case.bulk:
                # shrinking starts from the smallest failing case met: a failure first met in
                # the large size tier rarely shrinks out of it (its values are drawn apart)
                record.error, record.case, record.draws, record.size = (
                    error,
                    case,
                    list(recorder.values),
                    size,
                )
                record.choices = None
                if choices is not None and case_end is not None and start is not None:
                    now = choices()
                    record.choices = tuple(now[:case_end]) + tuple(now[start:])
            if size is not None and size[0] > record.largest.get("size", (-1.0, 0.0))[0]:
                record.largest.update(case=case, draws=list(recorder.values), size=size)
        for report in reports:  # counted once the case has run through every property
            report.examples += 1
            report.dtype = case.net1.dtype.name
        if options.progress is not None:
            options.progress("search", reports[0].examples, options.examples)
        failed = [record.error is not None for record in found]
        if all(failed) or (options.first_failure and any(failed)):
            raise _SearchDone  # nothing left to search for: shrinking takes it from here
        if any(failed):
            drawn = reports[0].examples
            if not first_failed:
                first_failed.append(drawn)
            after = options.cases_after_failure
            if after is not None and drawn - first_failed[0] >= after:
                ended.append("cases after failure")  # the verdict is decided; more adds rows
                raise _SearchDone

    seed = options.seed if options.seed is not None else DERANDOMISED_SEED
    quietly(hypothesis_seed(seed)(search))
