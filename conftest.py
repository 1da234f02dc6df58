"""Hypothesis profiles and shared fixtures for tests/ and properties/.

Profiles, chosen with ``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``:

* ``ci`` (the default): derandomised, no example database, 100 examples per property, so a run
  is reproducible and its length predictable;
* ``dev``: 25 random examples per property, for a quick loop while editing;
* ``thorough``: 2000 random examples per property, for soundness campaigns.

No profile has a deadline: timing belongs in benchmarks, not in assertions.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng() -> np.random.Generator:
    """One seeded generator per test: fixed numbers, independent of test order."""
    return np.random.default_rng(20180323)


pytest_plugins = ["pytester"]
