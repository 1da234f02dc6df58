"""Hypothesis profiles and shared fixtures for tests/ and properties/.

Profiles, chosen with ``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``:

* ``fast`` (the default: the README's test command, and tox on every Python): derandomised, no
  example database, 20 examples per property, so every property and every kind of test runs in
  a few minutes, reproducibly;
* ``full`` (CI's ``full`` tier, on one Python): the same at 100 examples per property, the
  suite's whole power; ``ci`` is its former name, kept as an alias;
* ``dev``: 25 random examples per property, for a quick loop while editing;
* ``thorough``: 2000 random examples per property, for soundness campaigns;
* ``campaign`` and ``campaign-replay``: a shared example database for many workers, and a run
  that only replays what the workers found there (README, "Campaigns").

Tests that set their own example counts take them from the active profile through
``tests.example_counts.scaled``: written for ``full``, scaled by the profile's share of it.
Tests marked ``full_tier`` (pyproject.toml) run only under a profile that draws at least the full
counts; the fast tier reports them as skipped.

No profile has a deadline: timing belongs in benchmarks, not in assertions.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings

from lrp_invariants.campaign import shared_database
from lrp_invariants.gate.compat import no_constants_from_local_modules

FULL_EXAMPLES = 100
"""Examples per property in the full tier: what the suite's power was measured at."""
FAST_EXAMPLES = 20
"""Examples per property in the fast tier (the default)."""


def _derandomised(examples: int) -> settings:
    """A reproducible profile: derandomised, no example database, ``examples`` per property."""
    return settings(
        derandomize=True,
        database=None,
        max_examples=examples,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )


settings.register_profile("fast", _derandomised(FAST_EXAMPLES))
settings.register_profile("full", _derandomised(FULL_EXAMPLES))
settings.register_profile("ci", _derandomised(FULL_EXAMPLES))
# under CI=true Hypothesis' own defaults are derandomised; the random profiles say so explicitly
settings.register_profile("dev", max_examples=25, deadline=None, derandomize=False)
# campaigns: many workers (HypoFuzz or pytest-xdist) share one example database, a directory or
# a Redis server named by LRP_CAMPAIGN_DB; campaign-replay runs only what that database holds
settings.register_profile(
    "campaign",
    database=shared_database(),
    max_examples=10_000,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "campaign-replay",
    database=shared_database(),
    deadline=None,
    derandomize=False,
    phases=[Phase.explicit, Phase.reuse, Phase.shrink],
)
settings.register_profile(
    "thorough",
    max_examples=2000,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


@dataclass(frozen=True)
class DemoRun:
    """The demo at a small size, run once per test process: its folder, output and status."""

    out: Path
    printed: str
    status: int


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The demo trained small (hidden 16-16, two epochs, seed 1): training and checking take
    seconds, and three tests read the same run."""
    from lrp_invariants import demo

    out = tmp_path_factory.mktemp("demo")
    stream = io.StringIO()
    status = demo.run_demo(out=out, hidden=(16, 16), epochs=2, seed=1, stream=stream)
    return DemoRun(out, stream.getvalue(), status)


@pytest.fixture
def rng() -> np.random.Generator:
    """One seeded generator per test: fixed numbers, independent of test order."""
    return np.random.default_rng(20180323)


pytest_plugins = ["pytester"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``full_tier`` unless the active profile draws at least the full counts
    (``full``, ``thorough``, the campaigns): the fast tier reports them as skipped, by name.
    With ``LRP_TIER_DEPENDENT_ONLY=1`` (tox's ``full`` env, after the fast tier ran on the same
    Python) run only the modules whose outcome the tier can change: those that draw with
    Hypothesis or scale their own counts (:data:`TIER_MARKERS` in their source)."""
    if settings().max_examples >= FULL_EXAMPLES:  # settings() reads the active profile
        if os.environ.get("LRP_TIER_DEPENDENT_ONLY") == "1":
            same = [item for item in items if not _tier_dependent(item)]
            if same:
                config.hook.pytest_deselected(items=same)
                items[:] = [item for item in items if _tier_dependent(item)]
        return
    skip = pytest.mark.skip(reason="full tier only: run with HYPOTHESIS_PROFILE=full")
    for item in items:
        if item.get_closest_marker("full_tier") is not None:
            item.add_marker(skip)


TIER_MARKERS = ("@given", "scaled(", "settings(", "find(", "full_tier", "HYPOTHESIS_PROFILE")
"""Text in a test module that makes its outcome depend on the tier: a Hypothesis search, a
count scaled to the profile, a search's own settings, a full-tier mark. A module without any
runs the same cases in both tiers, so the full tier need not run it again."""


@functools.cache
def _module_depends_on_the_tier(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return any(marker in text for marker in TIER_MARKERS)


def _tier_dependent(item: pytest.Item) -> bool:
    return _module_depends_on_the_tier(Path(str(item.path)))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """File every Hypothesis test under the database key HypoFuzz gives it.

    HypoFuzz mixes each test's node id into its database key; Hypothesis' pytest plugin does so
    only for parametrised tests. Doing it for every test lets a plain pytest run with the
    campaign's database replay what fuzzing workers found there.
    """
    inner = getattr(getattr(getattr(item, "obj", None), "hypothesis", None), "inner_test", None)
    if inner is not None:
        inner._hypothesis_internal_add_digest = item.nodeid.encode()


@pytest.fixture(autouse=True)
def _blind_to_local_constants() -> Iterator[None]:
    """Every test draws as the gate does, blind to the literal constants of the modules loaded so
    far: Hypothesis mixes those into its draws, and which modules an xdist worker has loaded
    depends on the tests it ran before, so a derandomised run would not draw the same cases
    twice (a share of kinks in tests/test_reach.py moved from 33 of 196 cases to 16 of 174)."""
    with no_constants_from_local_modules():
        yield
