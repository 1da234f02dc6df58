"""The gate's defaults and flags, defined once: the CLI, the Python API and the pytest plugin
share them. The CLI adds :data:`FLAGS` as ``--examples``, the pytest plugin as
``--lrp-examples``, and both read the parsed values back into one
:class:`~lrp_invariants.gate.GateOptions`. Choices come from the code that defines them
(:data:`ARITHMETICS`, :data:`DTYPES`, :data:`lrp_invariants.claims.ALL_PROPERTIES`). A light
module: the pytest plugin imports it in every pytest run."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .claims import ALL_PROPERTIES

DEFAULT_EXAMPLES = 100
"""Examples per property: enough for the derandomised search to reach every case family."""

DEFAULT_TIME_LIMIT = 10.0
"""Seconds one call of the target may take before the gate calls it hung."""

DEFAULT_SHRINK_BUDGET = 2.0
"""Seconds the failing properties after the first may spend shrinking, all together: the
verdict and one minimal counterexample come at once, the others as small as that time allows."""

DEFAULT_CASES_AFTER_FAILURE = 20
"""Cases the search still draws after the first failing one, for the other properties'
failures: the verdict is decided at the first; what follows only adds rows to the report. A
count, not seconds, so that a default run draws the same cases, and shrinks the same one, on
any machine."""

START_CHECK_CASES = 20
"""Fresh cases a start must also explain before a failing report names it as the difference:
a minimal case alone is too small to tell (a heatmap divided by its own sum is LRP from one on
a 1-1-1 network)."""

DEFAULT_MAX_WIDTH = 4
"""Units per layer in most drawn networks: small cases shrink to something a person reads."""

DEFAULT_MAX_BATCH = 3
"""Samples in most drawn batches."""

DEFAULT_LARGE_WIDTH = (16, 64)
"""Units per layer in the large size tier (about one case in eight), where code that changes
with size shows: blocked kernels, TF32 from some width on, chunked batches."""

DEFAULT_LARGE_BATCH = (8, 64)
"""Samples per batch in the large size tier."""


DEFAULT_ARITHMETIC = "ieee"
"""The arithmetic a target is held to unless it declares another (a key of :data:`ARITHMETICS`)."""

DEFAULT_DTYPE = "float64"
"""The precision of the drawn cases unless told otherwise (one of :data:`DTYPES`)."""

ARITHMETICS = {
    "ieee": "IEEE 754 with gradual underflow (subnormal numbers kept)",
    "ftz": "flush-to-zero (subnormal operands and results read as 0)",
}
"""The arithmetic models a target can be held to (``--arithmetic``)."""


ARCHITECTURES = {
    "mlp": "dense ReLU networks; targets are fn(weights, biases, x, classes)",
    "cnn": (
        "convolutional networks (convolutions, pooling, batch norm, residual blocks); targets "
        "are fn(layers, x, classes)"
    ),
}
"""The networks the gate draws (``--architecture``); each has its target protocol."""

DEFAULT_ARCHITECTURE = "mlp"
"""The networks the gate draws unless told otherwise."""

DTYPES = ("float64", "float32")
"""The precisions the gate draws cases in (``--dtype``); every tolerance follows the dtype."""


def positive(text: str) -> int:
    """A positive integer, or an argparse error saying so."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def seconds_or_none(text: str) -> float | None:
    """A number of seconds >= 0, or ``none``."""
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or none, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got {text!r}")
    return value


def count_or_none(text: str) -> int | None:
    """A whole number >= 0, or ``none``."""
    if text.strip().lower() == "none":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count or none, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a count >= 0, got {text!r}")
    return value


def size_range(text: str) -> tuple[int, int] | None:
    """``LOW:HIGH`` (two positive integers, LOW <= HIGH), or ``none``."""
    if text.strip().lower() == "none":
        return None
    low, colon, high = text.partition(":")
    try:
        pair = (int(low), int(high if colon else low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW:HIGH or none, got {text!r}") from None
    if not 1 <= pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"expected 1 <= LOW <= HIGH, got {text!r}")
    return pair


def _range(pair: tuple[int, int] | None) -> str:
    return "none" if pair is None else f"{pair[0]}:{pair[1]}"


@dataclass(frozen=True)
class Flag:
    """One gate option as a flag: the option's name (a field of ``GateOptions``), the flag's
    name after ``--`` (or ``--lrp-``), its default, its help, and the argparse settings that
    parse it (``type``, ``choices``, ``action``)."""

    option: str
    name: str
    default: Any
    help: str
    settings: dict[str, Any] = field(default_factory=dict)


FLAGS: tuple[Flag, ...] = (
    Flag(
        "examples",
        "examples",
        DEFAULT_EXAMPLES,
        f"examples per property (default {DEFAULT_EXAMPLES})",
        {"type": positive},
    ),
    Flag(
        "seed",
        "seed",
        None,
        "random seed (default: a fixed, derandomised search)",
        {"type": int},
    ),
    Flag(
        "properties",
        "property",
        None,
        "check only this property (repeatable)",
        {"action": "append", "choices": ALL_PROPERTIES},
    ),
    Flag(
        "time_limit",
        "time-limit",
        DEFAULT_TIME_LIMIT,
        f"seconds a single call may take (default {DEFAULT_TIME_LIMIT:g})",
        {"type": float},
    ),
    Flag(
        "max_width",
        "max-width",
        DEFAULT_MAX_WIDTH,
        f"the most units per layer in most drawn networks (default {DEFAULT_MAX_WIDTH}; up to 64)",
        {"type": positive},
    ),
    Flag(
        "max_batch",
        "max-batch",
        DEFAULT_MAX_BATCH,
        f"the most samples in most drawn batches (default {DEFAULT_MAX_BATCH}; up to 256)",
        {"type": positive},
    ),
    Flag(
        "large_width",
        "large-width",
        DEFAULT_LARGE_WIDTH,
        "units per layer in the large size tier, about one case in eight (default "
        f"{_range(DEFAULT_LARGE_WIDTH)}; 'none' draws only small cases)",
        {"type": size_range, "metavar": "LOW:HIGH"},
    ),
    Flag(
        "large_batch",
        "large-batch",
        DEFAULT_LARGE_BATCH,
        f"samples per batch in the large size tier (default {_range(DEFAULT_LARGE_BATCH)})",
        {"type": size_range, "metavar": "LOW:HIGH"},
    ),
    Flag(
        "guided",
        "guided",
        False,
        "spend half the examples climbing towards larger errors (Hypothesis' targeting) "
        "instead of drawing fresh cases",
        {"action": "store_true"},
    ),
    Flag(
        "architecture",
        "architecture",
        DEFAULT_ARCHITECTURE,
        "the networks drawn, and with them the target's protocol: "
        + "; ".join(f"{name}: {text}" for name, text in ARCHITECTURES.items())
        + f" (default {DEFAULT_ARCHITECTURE})",
        {"choices": tuple(ARCHITECTURES)},
    ),
    Flag(
        "dtype",
        "dtype",
        DEFAULT_DTYPE,
        "the precision of the drawn cases: the target receives and returns arrays of this "
        f"dtype, and every tolerance is derived for it (default {DEFAULT_DTYPE})",
        {"choices": DTYPES},
    ),
    Flag(
        "deterministic",
        "nondeterministic",
        True,
        "the target may differ between two calls on the same arrays (atomic reductions on "
        "a GPU): hold repeated calls to the derived bounds instead of bit for bit",
        {"action": "store_false"},
    ),
    Flag(
        "arithmetic",
        "arithmetic",
        DEFAULT_ARITHMETIC,
        "the arithmetic the target computes in: "
        + "; ".join(f"{name}: {text}" for name, text in ARITHMETICS.items())
        + f" (default {DEFAULT_ARITHMETIC}; TensorFlow on CPU and fast-math kernels flush)",
        {"choices": tuple(ARITHMETICS)},
    ),
    Flag(
        "shrink",
        "no-shrink",
        True,
        "report the first failing case as found, without minimising it (faster)",
        {"action": "store_false"},
    ),
    Flag(
        "shrink_budget",
        "shrink-budget",
        DEFAULT_SHRINK_BUDGET,
        "seconds the failing properties after the first may spend shrinking their cases, "
        "together (the first, the one whose failing case is smallest, shrinks to the end; "
        f"default {DEFAULT_SHRINK_BUDGET:g}; 'none': "
        "no limit)",
        {"type": seconds_or_none, "metavar": "SECONDS"},
    ),
    Flag(
        "cases_after_failure",
        "cases-after-failure",
        DEFAULT_CASES_AFTER_FAILURE,
        "cases the search still draws after the first failing one, for the other properties' "
        f"failures (the verdict is decided at the first; default {DEFAULT_CASES_AFTER_FAILURE}; "
        "'none': every example)",
        {"type": count_or_none, "metavar": "N"},
    ),
    Flag(
        "first_failure",
        "first-failure",
        False,
        "end the search at the first case any property fails on (the verdict sooner; the "
        "other properties are searched only that far)",
        {"action": "store_true"},
    ),
)
"""Every gate option a command line sets (``cases``, ``reduce`` and ``target_name`` follow
from other arguments: ``--network``, the target's spec)."""

SIZE_OPTIONS = ("max_width", "max_batch", "large_width", "large_batch")
"""The options that size the default cases (a given strategy, or a network of the user's own,
carries its own sizes)."""


def add_flags(add: Callable[..., Any], prefix: str = "", flags: Iterable[Flag] = FLAGS) -> None:
    """Declare ``flags`` with ``add`` (argparse's ``add_argument`` or pytest's ``addoption``),
    each as ``--{prefix}{name}`` stored under ``{prefix}{option}``, defaulting to the option's
    default."""
    for flag in flags:
        add(
            f"--{prefix}{flag.name}",
            dest=prefix.replace("-", "_") + flag.option,
            default=flag.default,
            help=flag.help,
            **flag.settings,
        )


def parsed_options(
    value: Callable[[str], Any], prefix: str = "", flags: Iterable[Flag] = FLAGS
) -> dict[str, Any]:
    """The options ``flags`` set, read back by their ``dest`` with ``value`` (``getattr`` on
    argparse's namespace, or pytest's ``config.getoption``), as keywords of
    :class:`GateOptions`."""
    return {flag.option: value(prefix.replace("-", "_") + flag.option) for flag in flags}
