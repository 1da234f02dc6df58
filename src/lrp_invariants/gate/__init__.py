"""The gate: run the properties a method implies against anyone's attribution function.

A *target* is any function ``fn(weights, biases, x, classes) -> relevance`` (see
:mod:`lrp_invariants.targets`). :func:`run_gate` searches, with Hypothesis, for a network, batch
and shift on which the target breaks one of the invariants its method implies, shrinks what it
finds to a minimal case, and returns a :class:`GateReport`; :func:`check` raises
:class:`GateFailure` with the same report, for use inside a test suite::

    from lrp_invariants.gate import check

    def test_my_lrp_keeps_the_invariants():
        check(my_package.lrp_epsilon, "lrp-epsilon")

How the gate searches is one :class:`GateOptions` (keywords of :func:`check` build one). The
package holds one idea per module: :mod:`.options`, :mod:`.search` (one search for every
property), :mod:`.minimise` (shrinking and reduction), :mod:`.outcome` (one property on one
case), :mod:`.report`, :mod:`.draws` (recording and replaying a property's draws),
:mod:`.counterexamples` (saved cases), :mod:`.timeout`, :mod:`.arithmetic` (ieee or ftz,
float64 or float32, the flushing probe) and :mod:`.compat` (every use of Hypothesis' private
API).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, cast

from ..architectures import ARCHITECTURES
from ..defaults import ARITHMETICS, DTYPES
from ..invariants import PROPERTIES, Property
from ..methods import METHODS, CNNTarget, Method, Target, resolve_method
from .arithmetic import probe_flushing
from .draws import MissingChoices, Recorder, Replayer
from .options import (
    OPTION_NAMES,
    GateKeywords,
    GateOptions,
    InvalidOption,
    default_cases,
    gate_options,
)
from .report import GateFailure, GateReport, PropertyReport, WorstCase, describe_case
from .search import run_properties
from .timeout import TargetHung, with_time_limit

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "ARITHMETICS",
    "DTYPES",
    "OPTION_NAMES",
    "GateFailure",
    "GateKeywords",
    "GateOptions",
    "GateReport",
    "InvalidOption",
    "MissingChoices",
    "PropertyReport",
    "Recorder",
    "Replayer",
    "TargetHung",
    "WorstCase",
    "check",
    "default_cases",
    "describe_case",
    "gate_options",
    "probe_flushing",
    "run_gate",
    "run_property",
]


def run_property(
    prop: Property,
    target: Target | CNNTarget,
    method: Method,
    *,
    options: GateOptions | None = None,
    **keywords: Unpack[GateKeywords],
) -> PropertyReport:
    """Search for a counterexample to one property; shrink it to a minimal one if
    ``options.shrink``. The options (:class:`GateOptions`, or its fields as keywords) are those
    of :func:`run_gate`; ``properties`` and ``target_name`` play no part here."""
    chosen = gate_options(options, **keywords)
    if not chosen.deterministic:
        method = replace(method, deterministic=False)
    return run_properties([prop], _either(target), method, chosen)[0][0]


def run_gate(
    target: Target | CNNTarget,
    method: str | Method,
    *,
    options: GateOptions | None = None,
    **keywords: Unpack[GateKeywords],
) -> GateReport:
    """Run every property ``method`` implies (or the chosen ``properties``) against ``target``.

    The options (:class:`GateOptions`, or its fields as keywords, which override a given
    ``options``) say how: held to the ``arithmetic`` model (``ieee`` or ``ftz``), on cases in
    ``dtype`` (float64 or float32: the target receives and must return that dtype; ``cases``,
    if given, carry their own). A target that declares itself not ``deterministic`` (atomic
    reductions on a GPU) is held to repeated calls that agree within the derived bounds
    instead of bit for bit. With ``reduce`` (and ``shrink``), a shrunk failure loses the
    samples, inputs and units it does not need (:mod:`lrp_invariants.reduce`); off where the
    case's network is the user's own. Every option is checked before any work."""
    chosen_options = gate_options(options, **keywords)
    chosen = resolve_method(method)
    if not chosen_options.deterministic:
        chosen = replace(chosen, deterministic=False)
    names = _properties(chosen, chosen_options)
    reports, budget_ended = run_properties(
        [PROPERTIES[name] for name in names], _either(target), chosen, chosen_options
    )
    label = chosen_options.target_name or str(getattr(target, "__qualname__", repr(target)))
    hung = any(report.hung for report in reports)
    drawn = next((r.dtype for r in reports if r.dtype is not None), chosen_options.dtype)
    flushes = None
    notes: tuple[str, ...] = ()
    if not hung:
        limited = with_time_limit(_either(target), chosen_options.time_limit)
        if ARCHITECTURES[chosen_options.architecture].probes_flushing:
            flushes = probe_flushing(limited, chosen, drawn)
        examples = min(chosen_options.examples, NOTE_EXAMPLES)
        try:  # e.g. whether a quadrature's K nodes are enough: the user's call, from its error
            notes = chosen.notes(
                limited, chosen_options.case_strategy(), examples, chosen_options.seed
            )
        except TargetHung as error:
            notes = (f"{chosen.spec}: its notes beside the verdict were not measured ({error})",)
    return GateReport(
        label,
        chosen.spec,
        chosen_options.seed,
        reports,
        chosen_options.arithmetic,
        flushes,
        chosen_options.shrink,
        drawn,
        chosen_options.deterministic,
        notes,
        chosen_options.first_failure,
        chosen_options.architecture,
        chosen_options.cases_after_failure if budget_ended else None,
    )


def _either(target: Target | CNNTarget) -> Target:
    """A target of either protocol as the search passes it on: the search never calls it
    itself, :func:`~lrp_invariants.invariants.call_target` calls it in the protocol of the
    drawn case's network."""
    return cast(Target, target)


def _properties(method: Method, options: GateOptions) -> tuple[str, ...]:
    """The properties to check: those chosen, or those ``method`` implies that the gate checks
    on the architecture drawn; InvalidOption where the architecture cannot judge them."""
    kind = ARCHITECTURES[options.architecture]
    if not kind.judges(method):
        judged = [m for m in METHODS.values() if kind.judges(m)]
        raise InvalidOption(
            f"{method.describe()} is not judged on {kind.name} networks; there the gate judges "
            + ", ".join(m.name for m in judged)
            + " and LRP composites of their rules"
        )
    if options.properties is None:
        return kind.implied(method)
    unchecked = [name for name in options.properties if name not in kind.properties]
    if unchecked:
        raise InvalidOption(
            f"properties {unchecked} are not checked on {kind.name} networks; there: "
            + ", ".join(kind.properties)
        )
    return tuple(options.properties)


NOTE_EXAMPLES = 30
"""Cases on which what a method reports beside its verdict is measured (a quadrature's
distance from the exact integral)."""


def check(
    target: Target | CNNTarget,
    method: str | Method,
    *,
    options: GateOptions | None = None,
    **keywords: Unpack[GateKeywords],
) -> GateReport:
    """Run the gate and raise :class:`GateFailure` with the report unless every property holds."""
    report = run_gate(target, method, options=options, **keywords)
    if not report.ok:
        raise GateFailure(report.render())
    return report
