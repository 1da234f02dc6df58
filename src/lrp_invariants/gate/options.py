"""The gate's options: one frozen object, validated when it is made, that the CLI, the pytest
plugin, :func:`~lrp_invariants.gate.check`, :func:`~lrp_invariants.gate.run_gate`,
:func:`~lrp_invariants.gate.run_property` and the campaigns all read (as Hypothesis'
``settings`` is for a test)::

    options = GateOptions(examples=300, dtype="float32", arithmetic="ftz")
    check(my_lrp, "lrp-epsilon", options=options)
    check(my_lrp, "lrp-epsilon", options=options, seed=1)  # keywords override the object

A bad value raises :class:`InvalidOption` (a ValueError) naming the option, the value and what
to pass instead, before any work.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, NoReturn, TypedDict

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .. import strategies as lst
from ..cases import SeedCase
from ..defaults import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    DEFAULT_ARITHMETIC,
    DEFAULT_CASES_AFTER_FAILURE,
    DEFAULT_DTYPE,
    DEFAULT_EXAMPLES,
    DEFAULT_LARGE_BATCH,
    DEFAULT_LARGE_WIDTH,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_WIDTH,
    DEFAULT_SHRINK_BUDGET,
    DEFAULT_TIME_LIMIT,
    SIZE_OPTIONS,
)
from ..invariants import PROPERTIES
from .arithmetic import check_arithmetic, check_dtype

if TYPE_CHECKING:
    from typing_extensions import Unpack


class InvalidOption(ValueError):
    """A gate option with a value it cannot take: the message names the option, the value and
    what to pass instead."""


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


@dataclass(frozen=True)
class GateOptions:
    """How the gate searches, what it holds the target to, and what it reports."""

    examples: int = DEFAULT_EXAMPLES
    """Cases drawn per property (one search runs every property on each case)."""
    seed: int | None = None
    """The search's random seed; None is a fixed, derandomised search."""
    properties: Sequence[str] | None = None
    """The properties to check (kept as a tuple); None is every property the method implies."""
    time_limit: float | None = DEFAULT_TIME_LIMIT
    """Seconds a single call of the target may take; None waits for ever."""
    shrink: bool = True
    """Minimise each failing case (off: report it as first found, faster)."""
    shrink_budget: float | None = DEFAULT_SHRINK_BUDGET
    """Seconds the failing properties after the first may spend shrinking (and reducing)
    their cases, all of them together; the first (the one whose failing case is smallest)
    always shrinks to the end. None: no limit."""
    cases_after_failure: int | None = DEFAULT_CASES_AFTER_FAILURE
    """Cases the search still draws after the first failing one, for the other properties'
    failures (the verdict is decided at the first; the report says where the search ended).
    None: every example."""
    first_failure: bool = False
    """End the search at the first case on which any property fails: the verdict sooner (the
    cases before it are those of the whole search), the other properties searched only that
    far."""
    reduce: bool = True
    """With ``shrink``, also remove the samples, inputs and units a failure does not need
    (off where the case's network is the user's own)."""
    architecture: str = DEFAULT_ARCHITECTURE
    """The networks drawn, a key of :data:`ARCHITECTURES` (``mlp``, ``cnn``): the target's
    protocol follows."""
    arithmetic: str = DEFAULT_ARITHMETIC
    """The arithmetic the target computes in: a key of :data:`ARITHMETICS`."""
    dtype: Any = DEFAULT_DTYPE
    """The precision of the default cases, one of :data:`DTYPES` (stored as its name)."""
    deterministic: bool = True
    """False: repeated calls must agree within the derived bounds, not bit for bit."""
    guided: bool = False
    """Spend part of the examples climbing each property's error (Hypothesis' targeting)."""
    cases: st.SearchStrategy[SeedCase] | None = None
    """The cases to draw; None is :func:`default_cases` sized by the four options below."""
    max_width: int = DEFAULT_MAX_WIDTH
    """Units per layer in most drawn networks (default cases only)."""
    max_batch: int = DEFAULT_MAX_BATCH
    """Samples in most drawn batches (default cases only)."""
    large_width: tuple[int, int] | None = DEFAULT_LARGE_WIDTH
    """Units per layer in the large size tier, about one case in eight; None: small only."""
    large_batch: tuple[int, int] = DEFAULT_LARGE_BATCH
    """Samples per batch in the large size tier."""
    target_name: str | None = None
    """The target's name in the report (default: its qualified name)."""
    progress: Callable[[str, int, int], None] | None = None
    """Told ``(stage, done, total)`` as the run goes: ``search`` after each drawn case (of
    ``examples``), ``shrink PROPERTY`` before minimising each failure (the CLI draws a
    progress line on a terminal from it); None: silent."""

    def __post_init__(self) -> None:
        self._set("examples", _positive_integer("examples", self.examples))
        if self.seed is not None:
            if not _is_integer(self.seed):
                _invalid("seed", self.seed, "an integer, or None for a fixed, derandomised search")
            self._set("seed", int(self.seed))
        self._set("properties", _properties(self.properties))
        budget = self.shrink_budget
        is_number = isinstance(budget, (int, float)) and not isinstance(budget, bool)
        if budget is not None and not (is_number and 0 <= budget < math.inf):
            _invalid("shrink_budget", budget, "a number of seconds >= 0, or None for no limit")
        after = self.cases_after_failure
        if after is not None and not (_is_integer(after) and after >= 0):
            _invalid("cases_after_failure", after, "a whole number >= 0, or None for every example")
        limit = self.time_limit
        number = isinstance(limit, (int, float)) and not isinstance(limit, bool)
        if limit is not None and not (number and 0 < limit < math.inf):
            _invalid("time_limit", limit, "a positive number of seconds, or None for no limit")
        for name in ("shrink", "first_failure", "reduce", "deterministic", "guided"):
            if not isinstance(getattr(self, name), bool):
                _invalid(name, getattr(self, name), "True or False")
        if self.architecture not in ARCHITECTURES:
            _invalid("architecture", self.architecture, f"one of {', '.join(ARCHITECTURES)}")
        try:
            check_arithmetic(self.arithmetic)
            self._set("dtype", check_dtype(self.dtype).name)
        except ValueError as error:
            raise InvalidOption(str(error)) from None
        self._check_architecture()
        if self.progress is not None and not callable(self.progress):
            _invalid("progress", self.progress, "a function (stage, done, total), or None")
        if self.target_name is not None and not isinstance(self.target_name, str):
            _invalid("target_name", self.target_name, "a string, or None for the qualified name")
        if self.cases is None:
            self._check_sizes()
        elif not isinstance(self.cases, st.SearchStrategy):
            _invalid("cases", self.cases, "a Hypothesis strategy of SeedCase, or None")
        else:
            changed = [name for name in SIZE_OPTIONS if getattr(self, name) != _DEFAULTS[name]]
            if changed:
                raise InvalidOption(
                    f"{', '.join(changed)} size the default cases; the given cases strategy "
                    "carries its own sizes: pass one or the other"
                )

    def _check_architecture(self) -> None:
        """The dtype and arithmetic must be ones the architecture's bounds are derived for."""
        from ..architectures import ARCHITECTURES as KINDS  # they build on the gate's cases

        kind = KINDS[self.architecture]
        for name, allowed in (("dtype", kind.dtypes), ("arithmetic", kind.arithmetics)):
            if getattr(self, name) not in allowed:
                _invalid(
                    name,
                    getattr(self, name),
                    f"{' or '.join(allowed)} with architecture={kind.name!r}",
                )

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # normalising a frozen field, once, when made

    def _check_sizes(self) -> None:
        for name in ("max_width", "max_batch"):
            self._set(name, _positive_integer(name, getattr(self, name)))
        if self.large_width is not None:
            self._set("large_width", _size_range("large_width", self.large_width))
        if self.large_batch is None:  # a slip: large_width=None is what draws small cases only
            _invalid("large_batch", None, f"{_RANGE}; to draw only small cases, large_width=None")
        self._set("large_batch", _size_range("large_batch", self.large_batch))
        try:
            self.case_strategy()
        except InvalidArgument as error:
            raise InvalidOption(str(error)) from None

    @property
    def precision(self) -> np.dtype[Any]:
        """The dtype of the default cases."""
        return np.dtype(self.dtype)

    def case_strategy(self) -> st.SearchStrategy[SeedCase]:
        """The cases the gate draws: ``cases``, or :func:`default_cases` at these sizes."""
        if self.cases is not None:
            return self.cases
        from ..architectures import ARCHITECTURES as KINDS  # they build on the gate's cases

        return KINDS[self.architecture].cases(self)

    def with_changes(self, **changes: Unpack[GateKeywords]) -> GateOptions:
        """A copy with ``changes`` (validated like the original; unknown names raise)."""
        unknown = sorted(set(changes) - set(OPTION_NAMES))
        if unknown:
            raise TypeError(
                f"unknown gate options {', '.join(unknown)}; the options are "
                f"{', '.join(OPTION_NAMES)}"
            )
        return replace(self, **changes) if changes else self


OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in fields(GateOptions))
"""Every option's name, in declaration order."""

_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(GateOptions)}


class GateKeywords(TypedDict, total=False):
    """The options as keyword arguments of ``check``, ``run_gate`` and ``run_property`` (the
    same names and types as :class:`GateOptions`; ``tests/test_gate_options.py`` holds the two
    to each other)."""

    examples: int
    seed: int | None
    properties: Sequence[str] | None
    time_limit: float | None
    shrink: bool
    shrink_budget: float | None
    cases_after_failure: int | None
    first_failure: bool
    reduce: bool
    architecture: str
    arithmetic: str
    dtype: Any
    deterministic: bool
    guided: bool
    cases: st.SearchStrategy[SeedCase] | None
    max_width: int
    max_batch: int
    large_width: tuple[int, int] | None
    large_batch: tuple[int, int]
    target_name: str | None
    progress: Callable[[str, int, int], None] | None


def gate_options(
    options: GateOptions | None = None, **keywords: Unpack[GateKeywords]
) -> GateOptions:
    """``options`` (default: every option at its default) with ``keywords`` put in."""
    if options is None:
        options = GateOptions()
    elif not isinstance(options, GateOptions):
        raise TypeError(f"options must be a GateOptions; got {type(options).__name__}")
    return options.with_changes(**keywords)


def _invalid(name: str, value: Any, expected: str) -> NoReturn:
    raise InvalidOption(f"{name}={value!r}: pass {expected}")


def _is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _positive_integer(name: str, value: Any) -> int:
    if not _is_integer(value) or value < 1:
        raise InvalidOption(f"{name} must be a positive integer; got {value!r}")
    return int(value)


_RANGE = "a range (low, high) of positive integers"


def _size_range(name: str, value: Any) -> tuple[int, int]:
    """A ``(low, high)`` size pair as a tuple (the strategies check its bounds)."""
    if not (isinstance(value, Sequence) and len(value) == 2 and all(map(_is_integer, value))):
        _invalid(name, value, _RANGE)
    return int(value[0]), int(value[1])


def _properties(names: Any) -> tuple[str, ...] | None:
    """The chosen property names as a tuple, or InvalidOption naming the unknown ones."""
    if names is None:
        return None
    if isinstance(names, str) or not isinstance(names, Sequence):
        _invalid("properties", names, "a list of property names, e.g. ['reference'], or None")
    chosen = tuple(names)
    unknown = [name for name in chosen if name not in PROPERTIES]
    if unknown:
        raise InvalidOption(f"unknown properties {unknown}; choose from {', '.join(PROPERTIES)}")
    if not chosen:
        _invalid("properties", names, "at least one property name, or None for every one")
    return chosen
