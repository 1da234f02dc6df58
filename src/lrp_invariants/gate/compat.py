"""Every use the gate makes of Hypothesis' private API, in one place.

The gate needs a few things Hypothesis has no public way to give: the choices made so far in an
example (to replay one property's failure from the joint search), a seeded shrinker that still
reads an example database, an in-memory corpus of one failure to start shrinking from, an
empty pool of source-code constants, and the exceptions Hypothesis uses for its own control
flow. Each one below names the Hypothesis versions it was checked against: 6.155.2 (installed
in the development environment), 6.157.0 (the ``fuzz`` extra's pin for hypofuzz 25.11.1) and
6.170.17 (the newest release, which CI installs). Where a later Hypothesis lacks one, the gate
falls back to what it does without it (noted at each), and ``tests/test_gate.py`` checks the
effect.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from hypothesis import strategies as st

# Hypothesis' control flow inside a test: StopTest (the data ran out, or the example is done)
# and UnsatisfiedAssumption (assume() or a filter rejected it). Both live in hypothesis.errors
# but are internal: checked against 6.155.2, 6.157.0 and 6.170.17.
from hypothesis.errors import StopTest, UnsatisfiedAssumption

CONTROL_FLOW: tuple[type[BaseException], ...] = (StopTest, UnsatisfiedAssumption)
"""Exceptions a property check must let pass: Hypothesis' own control flow."""


@contextmanager
def no_constants_from_local_modules() -> Iterator[None]:
    """Keep the search blind to literal constants in the code around it.

    Hypothesis draws a few percent of its numbers from constants it finds in the source of every
    local module loaded (the target's file included). The gate's verdict must depend on what
    the target computes, not on the numbers that happen to stand in its file, so during a search
    the pool of local constants is empty and its cache fresh; Hypothesis' own constants stay.
    Private API: ``hypothesis.internal.conjecture.providers._get_local_constants``,
    ``CONSTANTS_CACHE`` and ``Constants``, checked against 6.155.2, 6.157.0 and 6.170.17.
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


def quietly(search: Callable[[], None]) -> None:
    """Run a ``@given`` search blind to local constants and without the warning about a large
    repr: Hypothesis builds a repr of the failing example, which the gate never prints (it
    renders its own report); on a wide network that repr is large enough to warn. The warning's
    text is Hypothesis' own (6.155.2, 6.157.0, 6.170.17)."""
    with no_constants_from_local_modules(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Generating overly large repr")
        search()


def choices_so_far(data: st.DataObject) -> Callable[[], Sequence[Any]] | None:
    """The choices Hypothesis has made so far in this example, if this Hypothesis exposes them
    (used to replay one property's failure from the joint search; without them the failing
    property is searched again on its own). Private API: ``DataObject.conjecture_data`` and
    ``ConjectureData.choices``, checked against 6.155.2, 6.157.0 and 6.170.17."""
    conjecture = getattr(data, "conjecture_data", None)
    if conjecture is None or not hasattr(conjecture, "choices"):  # pragma: no cover
        return None
    return lambda: conjecture.choices


def seed_shrinker(test: Any, seed: int | None) -> None:
    """Seed the random choices of a ``@given`` test directly, so that its minimal case is the
    same on every run. Hypothesis' public ``@seed`` would switch the example database off,
    which the gate's replay needs. Private API: the ``_hypothesis_internal_use_seed``
    attribute, checked against 6.155.2, 6.157.0 and 6.170.17."""
    test._hypothesis_internal_use_seed = seed if seed is not None else 0


REPLAY_KEY = b"lrp-invariants-gate-replay"
"""The database key under which the gate replays one failure (see :func:`replay_database`)."""


def replay_from(test: Any) -> None:
    """Make a ``@given`` test read its examples under :data:`REPLAY_KEY`. Private API: the
    ``_hypothesis_internal_database_key`` attribute, checked against 6.155.2, 6.157.0 and
    6.170.17."""
    test._hypothesis_internal_database_key = REPLAY_KEY


def replay_database(choices: tuple[Any, ...] | None) -> Any:
    """An in-memory example database holding one failing example's choices, where Hypothesis
    replays it and then shrinks it. Private API: ``hypothesis.database.choices_to_bytes`` and
    the ``.secondary`` corpus (failures not yet minimised, which the reuse phase replays),
    checked against 6.155.2, 6.157.0 and 6.170.17; without ``choices_to_bytes`` the database
    stays empty and the failing property is searched again on its own."""
    from hypothesis.database import InMemoryExampleDatabase

    database = InMemoryExampleDatabase()
    if choices is not None:
        try:
            from hypothesis.database import choices_to_bytes
        except ImportError:  # pragma: no cover - an older Hypothesis: searched again instead
            return database
        database.save(REPLAY_KEY + b".secondary", choices_to_bytes(choices))
    return database
