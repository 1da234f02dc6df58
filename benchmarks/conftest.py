"""Report every benchmark's time as a ratio to the floor measured in the same run.

Both the ratio of the fastest runs (min) and of the medians are printed: on a shared machine the
minimum is the better estimate of what the code costs, the median of what a user waits."""

from __future__ import annotations

import pytest

FLOOR = "floor"


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    session = getattr(terminalreporter.config, "_benchmarksession", None)
    benchmarks = getattr(session, "benchmarks", None) or []
    floors = {b.group: b.stats for b in benchmarks if b.name.startswith(f"test_{FLOOR}")}
    if floors:
        terminalreporter.section("ratio to the floor measured in this run (min: the least noisy)")
        terminalreporter.write_line(f"{'group':>8}  {'benchmark':<40} {'min':>6} {'median':>7}")
    for bench in sorted(benchmarks, key=lambda b: (b.group or "", b.name)):
        floor = floors.get(bench.group)
        if floor and not bench.name.startswith(f"test_{FLOOR}"):
            terminalreporter.write_line(
                f"{bench.group:>8}  {bench.name:<40} {bench.stats.min / floor.min:5.2f}x "
                f"{bench.stats.median / floor.median:6.2f}x"
            )

    extras = [b for b in benchmarks if b.extra_info]
    if extras:
        terminalreporter.section("measurements")
        for bench in extras:
            for key, value in bench.extra_info.items():
                terminalreporter.write_line(f"{bench.name}: {value} {key}")
