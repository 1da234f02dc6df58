"""What a gate run found, and its text: one :class:`PropertyReport` per property, gathered in a
:class:`GateReport` that renders the verdict, each failure's case, and how to replay it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cases import SeedCase
from ..defaults import ARCHITECTURES, ARITHMETICS, DEFAULT_ARCHITECTURE, START_CHECK_CASES
from ..network import STARTS

if TYPE_CHECKING:
    from ..cnn_cases import CNNGateCase


class GateFailure(AssertionError):
    """A target broke an invariant or the protocol; the message is the full report."""


_START_NAMES = {
    "one": "one (a one-hot of the class)",
    "logit": "the logit",
    "probability": "the softmax probability",
}


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
    compared: int = 0  # values compared over every case (each case compares many)
    failure: str | None = None
    case: SeedCase | None = None
    draws: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    saved: Path | None = None
    hung: bool = False  # a call did not return within the time limit
    only_subnormal: bool = False  # the failing case holds under flush-to-zero arithmetic
    # the starts from which the failing case holds, each (none where the start is not the cause)
    holding_starts: tuple[str, ...] = ()
    misbehaved: bool = False  # the target raised, returned NaN/inf, a wrong shape or dtype, ...
    unsupported: bool = False  # declined wherever asked (NotImplementedError): no verdict
    unsupported_cases: int = 0  # cases the target declined (not judged), of ``examples``
    unsupported_note: str | None = None  # what it said the first time
    size: tuple[float, float] | None = None  # the shown case's error: x tolerance, x |value|
    worst: WorstCase | None = None  # the failing case with the largest error, if not the shown
    minimised: bool = True  # whether the shown case was shrunk (not under --no-shrink)
    shrink_stopped: bool = False  # shrinking ran out of its time budget (shrink_budget)
    dtype: str | None = None  # the precision of the cases it ran on (None: none ran)

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def skipped(self) -> bool:
        """No case reached the property: a hang ended the search first."""
        return self.ok and self.examples == 0


@dataclass
class GateReport:
    """The outcome of :func:`~lrp_invariants.gate.run_gate`: one :class:`PropertyReport` per
    property."""

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
    first_failure: bool = False  # whether the search ended at the first failing case
    architecture: str = "mlp"  # the networks drawn (a key of defaults.ARCHITECTURES)
    search_ended: int | None = None  # cases drawn after the first failure, where it ended there

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.properties)

    def render(self, replay: Callable[[PropertyReport], str] | None = None) -> str:
        lines = [
            f"lrp-invariants gate: {self.target} claims {self.method}",
            *(
                [f"networks: {ARCHITECTURES[self.architecture]}"]
                if self.architecture != DEFAULT_ARCHITECTURE
                else []
            ),
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
            status = "PASS" if report.ok else "UNSUPPORTED" if report.unsupported else "FAIL"
            if report.skipped:
                lines.append(
                    f"SKIP  {report.name:<24} {report.examples:>5} cases  not searched: the "
                    "search ended before any case reached it"
                )
                continue
            if report.misbehaved or report.hung:  # no error size: say what went wrong
                cause = str(report.failure).splitlines()[0]
                lines.append(
                    f"{status}  {report.name:<24} {report.examples:>5} cases  {cause}  "
                    f"({report.seconds:.1f} s)"
                )
                continue
            lines.append(
                f"{status}  {report.name:<24} {report.examples:>5} cases  worst error "
                f"{report.worst_ratio:.3g} x tolerance  ({report.vacuous:,} of "
                f"{report.compared:,} compared values unbounded, {report.seconds:.1f} s)"
            )
            if report.unsupported_cases:
                lines.append(
                    f"      {report.unsupported_cases} of those cases declined by the target, not "
                    f"judged: {report.unsupported_note}"
                )
        if self.first_failure and not self.ok:
            lines.append(
                "the search ended at the first failure (--first-failure): each property that "
                "passes was checked on the cases shown, not on every example asked for"
            )
        elif self.search_ended is not None and not self.ok:
            lines.append(
                f"the search ended {self.search_ended} cases after the first failing one "
                "(--cases-after-failure): each property that passes was checked on the cases "
                "shown, not on every example asked for"
            )
        lines += list(self.notes)
        lines += self.start_lines()
        for report in self.properties:
            if not report.ok:
                lines += ["", *self.failure_lines(report, replay)]
        lines.append("")
        lines.append(self.conclusion())
        return "\n".join(lines)

    @property
    def unsupported(self) -> bool:
        """Whether every property that does not hold met a case the target declines (it raised
        NotImplementedError): the gate could not judge it there, and says so instead of
        calling it a defect."""
        failing = [report for report in self.properties if not report.ok]
        return bool(failing) and all(report.unsupported for report in failing)

    def conclusion(self) -> str:
        declined = max((report.unsupported_cases for report in self.properties), default=0)
        if self.ok and declined:
            return (
                "all claimed properties hold on the cases the target takes; it declined up to "
                f"{declined} cases a property (NotImplementedError), not judged"
            )
        if self.ok:
            return "all claimed properties hold"
        if self.unsupported:
            return (
                "the target does not support every case drawn (it raised NotImplementedError): "
                "not judged there, no defect found; the gate does not pass it"
            )
        return "the target FAILED the gate"

    def start_lines(self) -> list[str]:
        """One line where every failing case holds with LRP's relevance started elsewhere:
        the target's start is then the only difference, and the line says how to declare it."""
        failing = [report for report in self.properties if not report.ok]
        common = set(STARTS)
        for report in failing:
            common &= set(report.holding_starts)
        if not failing or not common:
            return []
        if len(common) > 1:  # every failing property sees relevance up to a factor per sample
            named = " or ".join(_START_NAMES[s] for s in STARTS if s in common)
            return [
                f"every failing case holds when relevance starts at {named}: the target "
                "seems to start LRP elsewhere than the method; declare where with --start"
            ]
        start = common.pop()
        if start == "one":
            return [
                "every failing case holds when relevance starts at one, not at the logit: the "
                "target seems to start LRP from a one-hot of the class (as Zennit's "
                "attributor(x, one_hot) does); if it does by design, declare it with --start "
                "one (start=one in a method spec)"
            ]
        if start == "probability":
            return [
                "every failing case holds when relevance starts at the softmax probability of "
                "the class, not at its logit: the target seems to explain the classifier's "
                "output after its softmax; if it does by design, declare it with --start "
                "probability (start=probability in a method spec)"
            ]
        return [
            f"every failing case holds when relevance starts at the {start}: the target "
            f"seems to start there; declare it with --start {start}"
        ]

    def failure_lines(
        self, report: PropertyReport, replay: Callable[[PropertyReport], str] | None = None
    ) -> list[str]:
        """What the report says of one failing property: its sentence, the failure, the case
        (minimal, or as first found), where it is saved, how to replay it, and the largest
        error found (the text a CI system shows beside the test)."""
        if report.unsupported:
            return [
                f"UNSUPPORTED {report.name}: the target declined every case it was asked "
                f"({report.unsupported_cases} of {report.examples} drawn; NotImplementedError): "
                "not judged",
                str(report.failure),
            ]
        lines = [f"FAILED {report.name}: {report.sentence}", str(report.failure)]
        if report.holding_starts:
            named = " or at ".join(_START_NAMES[s] for s in report.holding_starts)
            flags = " or ".join(f"--start {s}" for s in report.holding_starts)
            lines.append(
                f"this case, as first found and at its largest error, and {START_CHECK_CASES} "
                f"fresh ones hold when relevance starts at {named}: declare it with {flags} "
                "if the target starts there by design"
            )
        if report.only_subnormal:
            lines.append(
                "this case differs only where values are subnormal; the target seems to flush "
                "them to zero: declare it with --arithmetic ftz (arithmetic='ftz' in Python)"
            )
        if report.case is not None:
            if report.minimised and report.shrink_stopped:
                kind = (
                    "counterexample shrunk as far as its time budget allowed (--shrink-budget; "
                    "one failing property, the smallest case, always shrinks to the end)"
                )
            elif report.minimised:
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
                f"largest error found{_size(report.worst.size)}: {describe_case(report.worst.case)}"
            )
            if report.worst.draws:
                lines.append(f"with the choices: {report.worst.draws}")
            if report.worst.saved is not None:
                lines.append(
                    f"replay it with: lrp-invariants replay {report.worst.saved} {self.target}"
                )
        return lines


def describe_case(case: SeedCase | CNNGateCase) -> str:
    """Sizes and values of a case, small enough to read (the case says how: a dense network
    by its weights, a CNN layer by layer)."""
    return case.describe()
