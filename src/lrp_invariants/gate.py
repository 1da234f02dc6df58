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

import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import StopTest, UnsatisfiedAssumption

from . import strategies as lst
from .cases import SeedCase
from .defaults import DEFAULT_EXAMPLES, DEFAULT_TIME_LIMIT
from .invariants import (
    PROPERTIES,
    Comparison,
    InvariantViolation,
    Property,
    TargetMisbehaved,
)
from .methods import Method, Target, resolve_method


class GateFailure(AssertionError):
    """A target broke an invariant or the protocol; the message is the full report."""


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

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.properties)

    def render(self, replay: Callable[[PropertyReport], str] | None = None) -> str:
        lines = [
            f"lrp-invariants gate: {self.target} claims {self.method}",
            f"arithmetic: {ARITHMETICS[self.arithmetic]}",
        ]
        if self.flushes and self.arithmetic == "ieee":
            lines.append(
                "  (a probe with a subnormal input suggests the target flushes subnormal numbers "
                "to zero: if it does by design, declare it with --arithmetic ftz)"
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
                kind = (
                    "minimal counterexample"
                    if self.shrunk
                    else "counterexample as first found (not minimised: --no-shrink)"
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
    """Sizes and values of a case, small enough to read."""
    with np.printoptions(precision=17, threshold=200, linewidth=100):
        weights = "; ".join(
            f"W{i}={w.tolist()} b{i}={b.tolist()}"
            for i, (w, b) in enumerate(zip(case.net1.weights, case.net1.biases, strict=True))
        )
        return (
            f"network {'-'.join(map(str, case.net1.widths))} ({case.net1.dtype}): {weights}; "
            f"x1={case.x1.tolist()}; m={case.m.tolist()}; classes={case.classes.tolist()}"
        )


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


def _with_time_limit(target: Target, limit: float | None) -> Target:
    """Run each call in a daemon thread and give up on it after ``limit`` seconds."""
    if limit is None:
        return target

    def limited(*args: Any) -> Any:
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = target(*args)
            except BaseException as error:  # handed back to the caller's thread
                outcome["error"] = error

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(limit)
        if worker.is_alive():
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
) -> PropertyReport:
    """Search for a counterexample to one property; shrink it to a minimal one if ``shrink``.

    ``arithmetic`` is the model the target is held to: ``ieee`` (gradual underflow) or ``ftz``
    (flush-to-zero, denormals-are-zero); see :data:`ARITHMETICS`.
    """
    flush = _check_arithmetic(arithmetic)
    report = PropertyReport(prop.name, prop.sentence)
    limited = _with_time_limit(target, time_limit)
    strategy = (cases if cases is not None else lst.seed_cases()).map(lambda c: c.under(flush))
    last: dict[str, Any] = {}
    last_failed: list[bool] = []  # nonempty once an example has failed
    largest: dict[str, Any] = {}  # the failing example with the largest error so far

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=seed is None,
        phases=[Phase.generate, Phase.target, *([Phase.shrink] if shrink else [])],
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
        searching = not last_failed  # after the first failure, calls are Hypothesis shrinking
        try:
            comparisons = prop.check(case, limited, method, recorder)
        except (StopTest, UnsatisfiedAssumption):
            raise  # Hypothesis' own control flow (a draw past the end of its data): no example
        except BaseException:
            report.examples += searching
            last_failed.append(True)
            raise
        report.examples += searching
        if searching:
            _account(report, comparisons)
        failed = [c for c in comparisons if not c.holds()]
        returned = [c.non_finite_failure() for c in failed]
        for index, value in filter(None, returned):
            last_failed.append(True)
            raise TargetMisbehaved(
                f"the target returned {value} at index {index} where the exact value is bounded"
            )
        if failed:
            last_failed.append(True)
            size = max(c.size_of_defect() for c in failed)
            last["size"] = size
            if size[0] > largest.get("size", (-1.0, 0.0))[0]:
                largest.update(case=case, draws=list(recorder.values), size=size)
            raise InvariantViolation("\n".join(c.describe() for c in failed))

    if seed is not None:
        search = hypothesis_seed(seed)(search)
    start = time.perf_counter()
    try:
        with _no_constants_from_local_modules(), warnings.catch_warnings():
            # Hypothesis builds a repr of the failing example, which the gate never prints (it
            # renders its own report); on a wide network that repr is large enough to warn
            warnings.filterwarnings("ignore", message="Generating overly large repr")
            search()
    except (InvariantViolation, TargetMisbehaved) as error:
        report.failure = str(error)
        report.misbehaved = isinstance(error, TargetMisbehaved)
        report.size = last.get("size") if not report.misbehaved else None
        # a largest error within a factor of two of the minimal case's tells nothing new
        if largest and report.size is not None and largest["size"][0] > 2 * report.size[0]:
            report.worst = WorstCase(largest["case"], largest["draws"], largest["size"])
        report.case, report.draws = last.get("case"), list(last.get("draws", []))
        if isinstance(error, InvariantViolation) and not flush and report.case is not None:
            report.only_subnormal = _holds_when_flushing(prop, report, limited, method)
    except TargetHung as error:
        report.failure, report.hung = str(error), True
        report.case, report.draws = last.get("case"), list(last.get("draws", []))
    report.seconds = time.perf_counter() - start
    return report


def _account(report: PropertyReport, comparisons: Sequence[Comparison]) -> None:
    for comparison in comparisons:
        report.worst_ratio = max(report.worst_ratio, comparison.worst_ratio())
        report.vacuous += comparison.vacuous()


ARITHMETICS = {
    "ieee": "IEEE 754 with gradual underflow (subnormal numbers kept)",
    "ftz": "flush-to-zero (subnormal operands and results read as 0)",
}
"""The arithmetic models a target can be held to (``--arithmetic``)."""


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


def probe_flushing(target: Target) -> bool | None:
    """Call ``target`` once on a 1-1-1 network fed a subnormal input: a target that computes
    with gradual underflow returns a nonzero relevance (the unit is on), one that flushes
    returns 0. None when the probe says nothing (the target raised or returned no number)."""
    dtype = np.float64
    tiny = float(np.finfo(dtype).tiny)
    one = np.ones((1, 1), dtype)
    weights, biases = [one, one.copy()], [np.zeros(1, dtype), np.zeros(1, dtype)]
    x = np.full((1, 1), tiny / 4, dtype)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            result = np.asarray(target(weights, biases, x, np.zeros(1, np.intp)), dtype=np.float64)
    except (Exception, TargetHung):  # a probe never fails the gate: the properties speak
        return None
    if result.shape != (1, 1) or not np.isfinite(result).all():
        return None
    return bool(result[0, 0] == 0)


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
) -> GateReport:
    """Run every property ``method`` implies (or the chosen ``properties``) against ``target``,
    held to the ``arithmetic`` model (``ieee`` or ``ftz``)."""
    _check_arithmetic(arithmetic)
    chosen = resolve_method(method)
    names = list(properties) if properties is not None else list(chosen.properties)
    unknown = [name for name in names if name not in PROPERTIES]
    if unknown:
        raise ValueError(f"unknown properties {unknown}; choose from {', '.join(PROPERTIES)}")
    if not isinstance(examples, int) or examples < 1:
        raise ValueError(f"examples must be a positive integer; got {examples!r}")
    reports = []
    for name in names:
        reports.append(
            run_property(
                PROPERTIES[name],
                target,
                chosen,
                examples=examples,
                seed=seed,
                time_limit=time_limit,
                cases=cases,
                shrink=shrink,
                arithmetic=arithmetic,
            )
        )
        if reports[-1].hung:
            break  # a hung target would make every further call wait out the limit again
    label = target_name or str(getattr(target, "__qualname__", repr(target)))
    hung = any(report.hung for report in reports)
    flushes = None if hung else probe_flushing(_with_time_limit(target, time_limit))
    return GateReport(label, chosen.spec, seed, reports, arithmetic, flushes, shrink)


def check(target: Target, method: str | Method, **options: Any) -> GateReport:
    """Run the gate and raise :class:`GateFailure` with the report unless every property holds."""
    report = run_gate(target, method, **options)
    if not report.ok:
        raise GateFailure(report.render())
    return report
