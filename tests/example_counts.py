"""Example counts that follow the active Hypothesis profile (conftest.py).

The suite runs in two tiers: the fast profile (the default, on every Python) draws a share of
the full profile's examples, the full profile (CI's ``full`` tier, on one Python) draws them
all. A test that sets its own count, in ``@settings(max_examples=...)`` or as the gate's
``examples=``, writes the count it needs under the full profile and passes it through
:func:`scaled`: the full tier keeps that count exactly, every other profile spends the same share
of it as it does of an ordinary property's examples (a fifth in the fast tier, twenty times as
many in the thorough one).

Searches that must *fail* (mutants, claims that a property breaks) stop at their first
counterexample, so their count is a ceiling, not a cost: they keep the count they need, unscaled,
and the fast tier keeps their power.
"""

from __future__ import annotations

import math

from hypothesis import settings

FULL_PROFILE = "full"
"""The profile whose example counts the tests' own counts are written for."""


def share() -> float:
    """The active profile's examples per property over the full profile's."""
    full: int = settings.get_profile(FULL_PROFILE).max_examples
    active: int = settings().max_examples  # a fresh settings object reads the active profile
    return active / full


def scaled(full: int) -> int:
    """``full`` examples under the full profile, the active profile's share of them otherwise
    (rounded up, at least one)."""
    if not isinstance(full, int) or full < 1:
        raise ValueError(f"an example count is a positive integer; got {full!r}")
    return max(1, math.ceil(full * share()))
