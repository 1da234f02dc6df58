"""The gate: run the properties a method implies against anyone's attribution function.

A *target* is any function ``fn(weights, biases, x, classes) -> relevance`` (see
:mod:`lrp_invariants.targets`). :func:`run_gate` searches, with Hypothesis, for a network, batch
and shift on which the target breaks one of the invariants its method implies, shrinks what it
finds to a minimal case, and returns a :class:`GateReport`; :func:`check` raises
:class:`GateFailure` with the same report, for use inside a test suite::

    from lrp_invariants.gate import check

    def test_my_lrp_keeps_the_invariants():
        check(my_package.lrp_epsilon, "lrp-epsilon")
"""

from __future__ import annotations

import math
import queue
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis import target as hypothesis_target
from hypothesis.errors import Flaky, StopTest, UnsatisfiedAssumption

from . import strategies as lst
from .cases import SeedCase
from .defaults import (
    DEFAULT_EXAMPLES,
    DEFAULT_LARGE_BATCH,
    DEFAULT_LARGE_WIDTH,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_WIDTH,
    DEFAULT_TIME_LIMIT,
)
from .invariants import (
    PROPERTIES,
    InvariantViolation,
    Property,
    TargetMisbehaved,
)
from .methods import Method, Target, resolve_method
from .network import Array
from .reduce import smaller_cases


class GateFailure(AssertionError):
    """A target broke an invariant or the protocol; the message is the full report."""


class _SearchDone(BaseException):
    """Every property of the search has failed: nothing is left to search for. A
    BaseException, so that Hypothesis ends the search instead of shrinking it."""


class TargetHung(BaseException):
    """A call did not return within the time limit. A BaseException, so that Hypothesis does
    not try to shrink by calling the hung target again."""


@dataclass
class WorstCase:
    """The failing case with the largest error found during the search and shrinking: the
    minimal case is for reading, this one for judging how large the defect is."""

    case: SeedCase
    draws: list[Any]
    size: tuple[float, float]  # error in multiples of the tolerance, and of the value
    saved: Path | None = None


def _size(size: tuple[float, float] | None) -> str:
    if size is None:
        return ""
    ratio, relative = size
    return f" (error {ratio:.3g} x tolerance, {relative:.3g} x the value)"


@dataclass
class PropertyReport:
    """What one property's run found."""

    name: str
    sentence: str
    examples: int = 0
    worst_ratio: float = 0.0  # worst error / tolerance over every compared value
    vacuous: int = 0  # compared values with no finite bound (unbounded ratios, subnormal kinks)
    failure: str | None = None
    case: SeedCase | None = None
    draws: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    saved: Path | None = None
    hung: bool = False  # a call did not return within the time limit
    only_subnormal: bool = False  # the failing case holds under flush-to-zero arithmetic
    misbehaved: bool = False  # the target raised, returned NaN/inf, a wrong shape or dtype, ...
    size: tuple[float, float] | None = None  # the shown case's error: x tolerance, x |value|
    worst: WorstCase | None = None  # the failing case with the largest error, if not the shown
    minimised: bool = True  # whether the shown case was shrunk (not under --no-shrink)
    dtype: str | None = None  # the precision of the cases it ran on (None: none ran)

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass
class GateReport:
    """The outcome of :func:`run_gate`: one :class:`PropertyReport` per property."""

    target: str
    method: str
    seed: int | None
    properties: list[PropertyReport]
    arithmetic: str = "ieee"
    flushes: bool | None = None  # what a probe of the target said (None: not probed)
    shrunk: bool = True  # whether failing cases were minimised
    dtype: str = "float64"  # the precision the cases were drawn in
    deterministic: bool = True  # False: determinism was checked within the bounds
    notes: tuple[str, ...] = ()  # measurements beside the verdict (a quadrature's error)

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.properties)

    def render(self, replay: Callable[[PropertyReport], str] | None = None) -> str:
        lines = [
            f"lrp-invariants gate: {self.target} claims {self.method}",
            f"arithmetic: {ARITHMETICS[self.arithmetic]}",
            f"precision: {self.dtype} (tolerances derived for unit roundoff "
            f"2**-{np.finfo(self.dtype).nmant + 1})",
        ]
        if self.flushes and self.arithmetic == "ieee":
            lines.append(
                "  (a probe with a subnormal input suggests the target flushes subnormal numbers "
                "to zero: if it does by design, declare it with --arithmetic ftz)"
            )
        if not self.deterministic:
            lines.append(
                "determinism: declared nondeterministic; repeated calls must agree within the "
                "bounds, not bit for bit"
            )
        for report in self.properties:
            status = "PASS" if report.ok else "FAIL"
            if report.misbehaved or report.hung:  # no error size: say what went wrong
                cause = str(report.failure).splitlines()[0]
                lines.append(
                    f"{status}  {report.name:<24} {report.examples:>5} examples  {cause}  "
                    f"({report.seconds:.1f} s)"
                )
                continue
            lines.append(
                f"{status}  {report.name:<24} {report.examples:>5} examples  worst error "
                f"{report.worst_ratio:.3g} x tolerance  ({report.vacuous} unbounded, "
                f"{report.seconds:.1f} s)"
            )
        lines += list(self.notes)
        for report in self.properties:
            if report.ok:
                continue
            lines += ["", f"FAILED {report.name}: {report.sentence}", str(report.failure)]
            if report.only_subnormal:
                lines.append(
                    "this case differs only where values are subnormal; the target seems to flush "
                    "them to zero: declare it with --arithmetic ftz (arithmetic='ftz' in Python)"
                )
            if report.case is not None:
                if report.minimised:
                    kind = "minimal counterexample"
                elif not self.shrunk:
                    kind = "counterexample as first found (not minimised: --no-shrink)"
                else:
                    kind = (
                        "counterexample as first found (Hypothesis could not minimise it: "
                        "replayed, the failure did not come back; is the target "
                        "nondeterministic?)"
                    )
                lines.append(f"{kind}{_size(report.size)}: {describe_case(report.case)}")
            if report.draws:
                lines.append(f"with the choices: {report.draws}")
            if report.saved is not None:
                lines.append(f"saved to {report.saved}")
            if replay is not None:
                lines.append(f"replay with: {replay(report)}")
            if report.worst is not None:
                lines.append(
                    f"largest error found{_size(report.worst.size)}: "
                    f"{describe_case(report.worst.case)}"
                )
                if report.worst.draws:
                    lines.append(f"with the choices: {report.worst.draws}")
                if report.worst.saved is not None:
                    lines.append(
                        f"replay it with: lrp-invariants replay {report.worst.saved} {self.target}"
                    )
        lines.append("")
        lines.append("all claimed properties hold" if self.ok else "the target FAILED the gate")
        return "\n".join(lines)


def describe_case(case: SeedCase) -> str:
    """Sizes and values of a case, small enough to read: every value of a small case (to the
    last digit, so that it can be typed back), the corners of a large one (the saved .npz holds
    it whole)."""

    def show(values: Array) -> str:
        if values.size <= _SHOWN_WHOLE:
            return str(values.tolist())
        return np.array2string(values, threshold=_SHOWN_WHOLE, edgeitems=2, separator=", ")

    with np.printoptions(precision=17, linewidth=100):
        weights = "; ".join(
            f"W{i}={show(w)} b{i}={show(b)}"
            for i, (w, b) in enumerate(zip(case.net1.weights, case.net1.biases, strict=True))
        )
        return (
            f"network {'-'.join(map(str, case.net1.widths))} ({case.net1.dtype}): {weights}; "
            f"x1={show(case.x1)}; m={show(case.m)}; classes={show(case.classes)}"
            + ("" if case.x0 is None else f"; baseline x0={show(case.x0)}")
            + ("" if case.data is None else f"; data={show(case.data)}")
        )


_SHOWN_WHOLE = 64
"""Arrays up to this many entries are printed whole in a report; larger ones by their corners."""


class _Recorder:
    """Logs every value a property draws, so that a failure can be replayed without Hypothesis."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data
        self.values: list[Any] = []

    def __call__(self, strategy: st.SearchStrategy[Any]) -> Any:
        value = self.data.draw(strategy)
        self.values.append(value)
        return value


class MissingChoices(ValueError):
    """A saved case records fewer choices than its property draws."""


class Replayer:
    """Returns recorded draws in order, in place of Hypothesis (see :func:`replay_property`)."""

    def __init__(self, values: Sequence[Any]) -> None:
        self.values = list(values)

    def __call__(self, strategy: st.SearchStrategy[Any]) -> Any:
        if not self.values:
            raise MissingChoices(
                "the saved case records fewer choices than the property draws: it is truncated "
                "or was saved for another property"
            )
        return self.values.pop(0)


_IDLE_SECONDS = 1.0
"""How long the worker thread of :func:`_with_time_limit` waits for the next call before it
ends (a later call starts a fresh one)."""


def _with_time_limit(target: Target, limit: float | None) -> Target:
    """Run each call on a worker thread and give up on it after ``limit`` seconds.

    One daemon worker serves the calls of a gate run in turn (starting a thread per call cost
    about a sixth of a run); it ends after :data:`_IDLE_SECONDS` without work. A call that
    hangs leaves its worker behind with its own queue, so the target is never called twice at
    once."""
    if limit is None:
        return target
    lock = threading.Lock()
    state: dict[str, Any] = {"worker": None, "requests": None}

    def serve(requests: queue.SimpleQueue[Any]) -> None:
        while True:
            try:
                args, outcome, done = requests.get(timeout=_IDLE_SECONDS)
            except queue.Empty:
                with lock:  # no call can be queued for this worker while it decides to end
                    if requests.empty():
                        if state["requests"] is requests:
                            state["worker"] = state["requests"] = None
                        return
                continue
            try:
                outcome["value"] = target(*args)
            except BaseException as error:  # handed back to the caller's thread
                outcome["error"] = error
            done.set()

    def limited(*args: Any) -> Any:
        outcome: dict[str, Any] = {}
        done = threading.Event()
        with lock:
            if state["worker"] is None:
                requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
                worker = threading.Thread(target=serve, args=(requests,), daemon=True)
                state["worker"], state["requests"] = worker, requests
                worker.start()
            state["requests"].put((args, outcome, done))
        if not done.wait(limit):
            with lock:  # abandon the hung worker: a later call gets a fresh one and queue
                state["worker"] = state["requests"] = None
            raise TargetHung(f"the target did not return within {limit} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return limited


@contextmanager
def _no_constants_from_local_modules() -> Iterator[None]:
    """Keep the search blind to literal constants in the code around it.

    Hypothesis draws a few percent of its numbers from constants it finds in the source of every
    local module loaded (the target's file included). The gate's verdict must depend on what
    the target computes, not on the numbers that happen to stand in its file, so during a search
    the pool of local constants is empty and its cache fresh; Hypothesis' own constants stay.
    Versions of Hypothesis without the pool need nothing (``test_gate`` checks the effect).
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a Hypothesis without this module has no pool
        yield
        return
    pool = getattr(providers, "_get_local_constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    constants = getattr(providers, "Constants", None)
    if pool is None or cache is None or constants is None:  # pragma: no cover
        yield
        return
    empty = constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE = type(cache)(1024)
    try:
        yield
    finally:
        providers._get_local_constants = pool
        providers.CONSTANTS_CACHE = cache


def default_cases(
    *,
    max_width: int = DEFAULT_MAX_WIDTH,
    max_batch: int = DEFAULT_MAX_BATCH,
    large_width: tuple[int, int] | None = DEFAULT_LARGE_WIDTH,
    large_batch: tuple[int, int] = DEFAULT_LARGE_BATCH,
    dtype: Any = np.float64,
) -> st.SearchStrategy[SeedCase]:
    """The cases the gate draws unless told otherwise: mostly small, one in about eight in the
    large size tier, hidden units placed on their kinks (:func:`strategies.seed_cases`), in
    ``dtype`` (float64, or float32 with every tolerance derived for float32)."""
    return lst.seed_cases(
        max_width=max_width,
        max_batch=max_batch,
        large_width=large_width,
        large_batch=large_batch,
        dtype=dtype,
    )


@dataclass
class _Found:
    """What the joint search knows about one property's failures."""

    error: BaseException | None = None  # the failure on the smallest failing case met
    case: SeedCase | None = None
    draws: list[Any] = field(default_factory=list)
    choices: tuple[Any, ...] | None = None  # the case's and this property's choices, replayable
    size: tuple[float, float] | None = None
    largest: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Outcome:
    """One property on one case: the failure it raises (None if it holds), the size of the
    defect, and the largest error / tolerance over its comparisons (what the search climbs)."""

    error: BaseException | None = None
    size: tuple[float, float] | None = None
    ratio: float = 0.0

    @property
    def score(self) -> float:
        """Hypothesis' target: log2 of the largest error / tolerance, so that the search moves
        towards cases where the target's errors grow (scales, sizes, kinks); every failure
        scores above every case that holds."""
        if self.error is None:
            return math.log2(self.ratio) if 0 < self.ratio < math.inf else -1100.0
        if self.size is None:  # NaN, a wrong shape, an exception: nothing to climb
            return 2200.0
        return 1100.0 + min(math.log2(max(self.size[0], 2.0**-1074)), 1100.0)


def _failure_of(
    prop: Property,
    case: SeedCase,
    target: Target,
    method: Method,
    recorder: Callable[[st.SearchStrategy[Any]], Any],
    report: PropertyReport,
    account: bool,
) -> _Outcome:
    """Run one property on one case. Hypothesis' control flow and a hang pass through."""
    try:
        comparisons = prop.check(case, target, method, recorder)
    except (StopTest, UnsatisfiedAssumption, TargetHung):
        raise
    except (InvariantViolation, TargetMisbehaved) as error:
        return _Outcome(error)
    ratio = max((c.worst_ratio() for c in comparisons), default=0.0)
    if account:
        report.worst_ratio = max(report.worst_ratio, ratio)
        report.vacuous += sum(c.vacuous() for c in comparisons)
    failed = [c for c in comparisons if not c.holds()]
    for index, value in filter(None, (c.non_finite_failure() for c in failed)):
        return _Outcome(
            TargetMisbehaved(
                f"the target returned {value} at index {index} where the exact value is bounded"
            )
        )
    if not failed:
        return _Outcome(ratio=ratio)
    size = max(c.size_of_defect() for c in failed)
    return _Outcome(InvariantViolation("\n".join(c.describe() for c in failed)), size, ratio)


def _search_all(
    props: Sequence[Property],
    target: Target,
    method: Method,
    strategy: st.SearchStrategy[SeedCase],
    examples: int,
    seed: int | None,
    reports: Sequence[PropertyReport],
    found: Sequence[_Found],
    guided: bool,
) -> None:
    """One search for every property: each drawn case is checked against all of them, so the
    case and everything derived from it (net2, net3, the balls) is built once, not once per
    property. Failures are recorded, never raised: the search goes on for the other
    properties and for the largest error; :func:`_minimise` shrinks each failure afterwards.
    A hang (:class:`TargetHung`) ends the search, with ``report.hung`` set on its property.
    ``guided`` spends part of the examples climbing each property's error / tolerance
    (Hypothesis' targeting phase) instead of drawing fresh cases."""

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=seed is None,
        phases=[Phase.generate, *([Phase.target] if guided else [])],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
    )
    @given(case=strategy, data=st.data())
    def search(case: SeedCase, data: st.DataObject) -> None:
        choices = _choices(data)
        case_end = None if choices is None else len(choices())
        for prop, report, record in zip(props, reports, found, strict=True):
            recorder = _Recorder(data)
            start = None if choices is None else len(choices())
            try:
                outcome = _failure_of(prop, case, target, method, recorder, report, True)
            except TargetHung as hung:
                report.failure, report.hung = str(hung), True
                report.case, report.draws = case, list(recorder.values)
                raise
            hypothesis_target(outcome.score, label=prop.name)
            error, size = outcome.error, outcome.size
            if error is None:
                continue
            if record.case is None or _bulk(case) < _bulk(record.case):
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
        if all(record.error is not None for record in found):
            raise _SearchDone  # every property has failed: shrinking takes it from here

    if seed is not None:
        search = hypothesis_seed(seed)(search)
    _quietly(search)


def _bulk(case: SeedCase) -> int:
    """How large a case is to read: units in all layers times samples."""
    return sum(case.net1.widths) * case.x1.shape[0]


def _choices(data: st.DataObject) -> Callable[[], Sequence[Any]] | None:
    """The choices Hypothesis has made so far in this example, if this Hypothesis exposes them
    (used to replay one property's failure from the joint search; without them the failing
    property is searched again on its own)."""
    conjecture = getattr(data, "conjecture_data", None)
    if conjecture is None or not hasattr(conjecture, "choices"):  # pragma: no cover
        return None
    return lambda: conjecture.choices


def _quietly(search: Callable[[], None]) -> None:
    with _no_constants_from_local_modules(), warnings.catch_warnings():
        # Hypothesis builds a repr of the failing example, which the gate never prints (it
        # renders its own report); on a wide network that repr is large enough to warn
        warnings.filterwarnings("ignore", message="Generating overly large repr")
        search()


def _minimise(
    prop: Property,
    target: Target,
    method: Method,
    strategy: st.SearchStrategy[SeedCase],
    report: PropertyReport,
    record: _Found,
    seed: int | None,
    shrink: bool,
    examples: int,
    reduce: bool = True,
) -> None:
    """Turn a failure of the joint search into the report's cases: shrink it with Hypothesis
    (replaying the failing case's choices, then minimising them against this property alone),
    keep the largest error seen along the way, and say whether the case is minimal."""
    last: dict[str, Any] = {}
    largest = record.largest

    @settings(
        max_examples=examples,
        database=_replay_database(record.choices),
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
        recorder = _Recorder(data)
        last.clear()
        last.update(case=case, draws=recorder.values)
        outcome = _failure_of(prop, case, target, method, recorder, report, False)
        error, size = outcome.error, outcome.size
        if error is None:
            return
        last["size"] = size
        if size is not None and size[0] > largest.get("size", (-1.0, 0.0))[0]:
            largest.update(case=case, draws=list(recorder.values), size=size)
        raise error

    # Hypothesis' own @seed would switch the database off; the shrinker's random choices are
    # seeded directly, so that the minimal case is the same on every run
    search._hypothesis_internal_database_key = _REPLAY_KEY  # type: ignore[attr-defined]
    search._hypothesis_internal_use_seed = seed if seed is not None else 0  # type: ignore[attr-defined]
    error: BaseException | None = None
    if shrink and record.choices is not None:
        try:
            _quietly(search)
        except (InvariantViolation, TargetMisbehaved) as raised:
            error = raised
        except Flaky:  # it failed, then passed on the same case: shown as first found
            error = None
    if error is None:  # not shrunk (--no-shrink), or the replay did not reproduce the failure
        error = record.error
        last.update(case=record.case, draws=record.draws, size=record.size)
        report.minimised = False
    elif reduce:
        error = _reduce(prop, target, method, report, last, error, seed)
    report.failure = str(error)
    report.misbehaved = isinstance(error, TargetMisbehaved)
    report.size = last.get("size") if not report.misbehaved else None
    report.case, report.draws = last.get("case"), list(last.get("draws", []))
    # a largest error within a factor of two of the shown case's tells nothing new
    if largest and report.size is not None and largest["size"][0] > 2 * report.size[0]:
        report.worst = WorstCase(largest["case"], largest["draws"], largest["size"])


_REDUCTION_CHECKS = 200
"""At most this many smaller cases are tried after shrinking (each is one property search on a
fixed case; most properties draw nothing beyond the case, so most are one check)."""

_REDUCTION_EXAMPLES = 25
"""Examples of a property's own draws (a permutation, a split of the batch) per smaller case."""


def _reduce(
    prop: Property,
    target: Target,
    method: Method,
    report: PropertyReport,
    last: dict[str, Any],
    error: BaseException,
    seed: int | None,
) -> BaseException:
    """Remove samples, inputs and units from the shrunk case while it still fails ``prop`` the
    same way (:mod:`.reduce`); ``last`` ends holding the smallest failing case found."""
    checks = 0
    reduced = True
    while reduced and checks < _REDUCTION_CHECKS:
        reduced = False
        for candidate in smaller_cases(last["case"]):
            checks += 1
            failure = _fails_on(prop, candidate, target, method, report, seed)
            if failure is not None and type(failure[0]) is type(error):
                error, draws, size = failure
                last.update(case=candidate, draws=draws, size=size)
                reduced = True
                break
            if checks >= _REDUCTION_CHECKS:
                break
    return error


def _fails_on(
    prop: Property,
    case: SeedCase,
    target: Target,
    method: Method,
    report: PropertyReport,
    seed: int | None,
) -> tuple[BaseException, list[Any], tuple[float, float] | None] | None:
    """Whether ``prop`` fails on this one case for some draws of its own: the error, the
    (shrunk) draws and the defect's size, or None."""
    seen: dict[str, Any] = {}

    @settings(
        max_examples=_REDUCTION_EXAMPLES,
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
        recorder = _Recorder(data)
        outcome = _failure_of(prop, case, target, method, recorder, report, False)
        if outcome.error is not None:
            seen.update(error=outcome.error, draws=list(recorder.values), size=outcome.size)
            raise outcome.error

    check._hypothesis_internal_use_seed = seed if seed is not None else 0  # type: ignore[attr-defined]
    try:
        _quietly(check)
    except (InvariantViolation, TargetMisbehaved):
        return seen["error"], seen["draws"], seen["size"]
    except Flaky:
        return None
    return None


_REPLAY_KEY = b"lrp-invariants-gate-replay"


def _replay_database(choices: tuple[Any, ...] | None) -> Any:
    """An in-memory example database holding one failing example's choices, where Hypothesis
    replays it and then shrinks it (the secondary corpus holds failures not yet minimised)."""
    from hypothesis.database import InMemoryExampleDatabase

    database = InMemoryExampleDatabase()
    if choices is not None:
        try:
            from hypothesis.database import choices_to_bytes
        except ImportError:  # pragma: no cover - an older Hypothesis: searched again instead
            return database
        database.save(_REPLAY_KEY + b".secondary", choices_to_bytes(choices))
    return database


def run_property(
    prop: Property,
    target: Target,
    method: Method,
    *,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    cases: st.SearchStrategy[SeedCase] | None = None,
    shrink: bool = True,
    arithmetic: str = "ieee",
    guided: bool = False,
    dtype: Any = np.float64,
    reduce: bool = True,
) -> PropertyReport:
    """Search for a counterexample to one property; shrink it to a minimal one if ``shrink``.

    ``arithmetic`` is the model the target is held to: ``ieee`` (gradual underflow) or ``ftz``
    (flush-to-zero, denormals-are-zero); see :data:`ARITHMETICS`. ``dtype`` is the precision
    of the default cases (``cases``, if given, carry their own).
    """
    if cases is None:
        cases = default_cases(dtype=_check_dtype(dtype))
    return _run_properties(
        [prop],
        target,
        method,
        examples,
        seed,
        time_limit,
        cases,
        shrink,
        arithmetic,
        guided,
        reduce,
    )[0]


def _run_properties(
    props: Sequence[Property],
    target: Target,
    method: Method,
    examples: int,
    seed: int | None,
    time_limit: float | None,
    cases: st.SearchStrategy[SeedCase] | None,
    shrink: bool,
    arithmetic: str,
    guided: bool = False,
    reduce: bool = True,
) -> list[PropertyReport]:
    flush = _check_arithmetic(arithmetic)
    limited = _with_time_limit(target, time_limit)
    drawn = cases if cases is not None else default_cases()
    strategy = method.prepare_cases(drawn).map(lambda c: c.under(flush))
    reports = [PropertyReport(prop.name, prop.sentence) for prop in props]
    found = [_Found() for _ in props]
    start = time.perf_counter()
    # a hung target ends the search: every further call would wait out the limit again
    with suppress(TargetHung, _SearchDone):
        _search_all(props, limited, method, strategy, examples, seed, reports, found, guided)
    share = (time.perf_counter() - start) / len(props)
    for prop, report, record in zip(props, reports, found, strict=True):
        report.seconds = share
        if record.error is None or any(r.hung for r in reports):
            continue
        began = time.perf_counter()
        try:
            _minimise(
                prop, limited, method, strategy, report, record, seed, shrink, examples, reduce
            )
        except TargetHung as error:
            report.failure, report.hung = str(error), True
            report.case, report.draws = record.case, record.draws
        if isinstance(record.error, InvariantViolation) and not flush and report.case is not None:
            report.only_subnormal = _holds_when_flushing(prop, report, limited, method)
        report.seconds += time.perf_counter() - began
    return reports


ARITHMETICS = {
    "ieee": "IEEE 754 with gradual underflow (subnormal numbers kept)",
    "ftz": "flush-to-zero (subnormal operands and results read as 0)",
}
"""The arithmetic models a target can be held to (``--arithmetic``)."""


DTYPES = ("float64", "float32")
"""The precisions the gate draws cases in (``--dtype``); every tolerance follows the dtype."""


def _check_dtype(dtype: Any) -> np.dtype[Any]:
    try:
        chosen = np.dtype(dtype)
    except TypeError:
        chosen = None
    if chosen is None or chosen.name not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    return chosen


def _check_arithmetic(arithmetic: str) -> bool:
    if arithmetic not in ARITHMETICS:
        raise ValueError(
            f"unknown arithmetic {arithmetic!r}; choose one of {', '.join(ARITHMETICS)}"
        )
    return arithmetic == "ftz"


def _holds_when_flushing(
    prop: Property, report: PropertyReport, target: Target, method: Method
) -> bool:
    """Whether the failing case holds under flush-to-zero arithmetic: then it differs only
    where values are subnormal."""
    assert report.case is not None
    try:
        comparisons = prop.check(report.case.under(True), target, method, Replayer(report.draws))
    except (InvariantViolation, TargetMisbehaved, TargetHung, ValueError):
        return False
    return all(c.holds() for c in comparisons)


def _probes(dtype: type[np.floating[Any]]) -> Iterator[tuple[list[Array], list[Array], Array]]:
    """1-1-1 networks fed a subnormal input whose unit is on under gradual underflow and off
    once the input is flushed: weights of 1 first, then weights that lift the pre-activation to
    a normal number and the logit far above any stabiliser (where ε would swallow the first)."""
    tiny = float(np.finfo(dtype).tiny)
    zero = [np.zeros(1, dtype), np.zeros(1, dtype)]
    x = np.full((1, 1), tiny / 4, dtype)
    big = 2.0 ** (np.finfo(dtype).maxexp - 24)  # lifts a subnormal input to a normal number
    for w0, w1 in ((1.0, 1.0), (big, 2.0 ** (np.finfo(dtype).maxexp // 5))):
        yield [np.full((1, 1), w0, dtype), np.full((1, 1), w1, dtype)], zero, x


def probe_flushing(
    target: Target, method: str | Method = "lrp-0", dtype: Any = np.float64
) -> bool | None:
    """Call ``target`` on a network fed a subnormal input, where ``method``'s reference gives a
    nonzero relevance: a target that computes with gradual underflow returns a nonzero value
    too, one that flushes returns 0. None when the probe says nothing (the reference is 0 or
    not finite on every probe, or the target raised or returned no number)."""
    chosen = resolve_method(method)
    reference = chosen.reference
    classes: Array = np.zeros(1, np.intp)  # (the protocol types classes as its other arrays)
    for weights, biases, x in _probes(np.dtype(dtype).type):
        # a given baseline is zeros here: the probe's input is the subnormal one
        # (and a pattern method's data, zeros: no pattern to learn, so the probe says nothing)
        extra = [np.zeros_like(x) for _ in chosen.extra_arguments]
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            expected = np.asarray(reference(weights, biases, x, classes, *extra), dtype=np.float64)
            if not (np.isfinite(expected).all() and expected[0, 0] != 0):
                continue
            try:
                result = np.asarray(target(weights, biases, x, classes, *extra), dtype=np.float64)
            except (Exception, TargetHung):  # a probe never fails the gate: the properties do
                return None
        if result.shape != (1, 1) or not np.isfinite(result).all():
            return None
        return bool(result[0, 0] == 0)
    return None


def run_gate(
    target: Target,
    method: str | Method,
    *,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = None,
    properties: Sequence[str] | None = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    target_name: str | None = None,
    cases: st.SearchStrategy[SeedCase] | None = None,
    shrink: bool = True,
    arithmetic: str = "ieee",
    guided: bool = False,
    dtype: Any = np.float64,
    deterministic: bool = True,
    reduce: bool = True,
) -> GateReport:
    """Run every property ``method`` implies (or the chosen ``properties``) against ``target``,
    held to the ``arithmetic`` model (``ieee`` or ``ftz``), on cases in ``dtype`` (float64 or
    float32: the target receives and must return that dtype; ``cases``, if given, carry their
    own). A target that declares itself not ``deterministic`` (atomic reductions on a GPU) is
    held to repeated calls that agree within the derived bounds instead of bit for bit.
    With ``reduce`` (and ``shrink``), a shrunk failure loses the samples, inputs and units it
    does not need (:mod:`.reduce`); off where the case's network is the user's own."""
    _check_arithmetic(arithmetic)
    dtype = _check_dtype(dtype)
    if cases is None:
        cases = default_cases(dtype=dtype)
    chosen = resolve_method(method)
    if not deterministic:
        chosen = replace(chosen, deterministic=False)
    names = list(properties) if properties is not None else list(chosen.properties)
    unknown = [name for name in names if name not in PROPERTIES]
    if unknown:
        raise ValueError(f"unknown properties {unknown}; choose from {', '.join(PROPERTIES)}")
    if not isinstance(examples, int) or examples < 1:
        raise ValueError(f"examples must be a positive integer; got {examples!r}")
    reports = _run_properties(
        [PROPERTIES[name] for name in names],
        target,
        chosen,
        examples,
        seed,
        time_limit,
        cases,
        shrink,
        arithmetic,
        guided,
        reduce,
    )
    label = target_name or str(getattr(target, "__qualname__", repr(target)))
    hung = any(report.hung for report in reports)
    drawn = next((r.dtype for r in reports if r.dtype is not None), dtype.name)
    flushes = None
    notes: tuple[str, ...] = ()
    if not hung:
        limited = _with_time_limit(target, time_limit)
        flushes = probe_flushing(limited, chosen, drawn)
        try:  # e.g. whether a quadrature's K nodes are enough: the user's call, from its error
            notes = chosen.notes(limited, cases, min(examples, _NOTE_EXAMPLES), seed)
        except TargetHung as error:
            notes = (f"{chosen.spec}: its notes beside the verdict were not measured ({error})",)
    return GateReport(
        label, chosen.spec, seed, reports, arithmetic, flushes, shrink, drawn, deterministic, notes
    )


_NOTE_EXAMPLES = 30
"""Cases on which what a method reports beside its verdict is measured (a quadrature's
distance from the exact integral)."""


def check(target: Target, method: str | Method, **options: Any) -> GateReport:
    """Run the gate and raise :class:`GateFailure` with the report unless every property holds."""
    report = run_gate(target, method, **options)
    if not report.ok:
        raise GateFailure(report.render())
    return report
