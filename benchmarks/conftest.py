"""Report every benchmark's time as a ratio to the floor measured in the same run."""

from __future__ import annotations

import pytest

FLOOR = "floor"


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    session = getattr(terminalreporter.config, "_benchmarksession", None)
    benchmarks = getattr(session, "benchmarks", None) or []
    floors = {b.group: b.stats.median for b in benchmarks if b.name.startswith(f"test_{FLOOR}")}
    if not floors:
        return
    terminalreporter.section("ratio to the floor (median time / floor's median time)")
    for bench in sorted(benchmarks, key=lambda b: (b.group or "", b.name)):
        floor = floors.get(bench.group)
        if floor and not bench.name.startswith(f"test_{FLOOR}"):
            terminalreporter.write_line(
                f"{bench.group:>8}  {bench.name:<40} {bench.stats.median / floor:5.2f}x"
            )
