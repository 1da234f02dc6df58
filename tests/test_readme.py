"""The README shows what the code does: its examples run as written, its method table is the
one the code generates, and every docs page it links exists."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from hypothesis import settings

from lrp_invariants import Epsilon
from lrp_invariants.cases import SeedCase
from lrp_invariants.cli import main
from lrp_invariants.gate import check, run_gate
from lrp_invariants.invariants import Comparison, require, shift_decomposition_core

README = Path(__file__).resolve().parents[1] / "README.md"
TABLES = {
    "mlp": ("<!-- methods-table: start", "<!-- methods-table: end -->"),
    "cnn": ("<!-- cnn-table: start", "<!-- cnn-table: end -->"),
}


def test_the_readme_core_example_runs_and_decomposes_the_heatmap() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    first, relevance = namespace["first"], namespace["relevance"]
    heatmap = relevance.input  # type: ignore[attr-defined]
    rebuilt = first.R + first.Rm  # type: ignore[attr-defined]
    assert heatmap.shape == (5, 4) and rebuilt.shape == (5, 4)
    # the README's claim: rx3 + rm3 == rx1, within the bound of the suite's own check of it
    case = SeedCase(*(namespace[name] for name in ("net1", "x1", "m", "classes")))  # type: ignore[arg-type]
    (bound,) = shift_decomposition_core(case, Epsilon(1e-9))
    require(
        "the README's decomposition",
        [Comparison("rx1 == rx3 + rm3", rebuilt, heatmap, bound.tolerance)],
    )
    # and the shift moved relevance: rx3 alone is not the heatmap
    assert not np.allclose(first.R, heatmap)  # type: ignore[attr-defined]


def _python_block(containing: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    (block,) = [b for b in blocks if containing in b]
    return block


@pytest.mark.parametrize("architecture", sorted(TABLES))
def test_the_readme_method_table_is_what_lrp_invariants_methods_prints(
    architecture: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["methods", "--architecture", architecture]) == 0
    printed = capsys.readouterr().out.strip()
    text = README.read_text()
    marker_start, marker_end = TABLES[architecture]
    start, end = text.index(marker_start), text.index(marker_end)
    shown = text[text.index("\n", start) + 1 : end].strip()
    assert shown == printed, (
        f"README's {architecture} table is stale: paste `lrp-invariants methods "
        f"--architecture {architecture}` between its markers"
    )


def test_every_docs_page_is_linked_from_the_readme_and_every_link_resolves() -> None:
    root = README.parent
    linked = set(re.findall(r"\]\((docs/[^)#\s]+)\)", README.read_text()))
    pages = {f"docs/{page.name}" for page in (root / "docs").glob("*.md")}
    assert pages <= linked, f"docs pages the README does not link: {sorted(pages - linked)}"
    assert all((root / link).is_file() for link in linked), sorted(
        link for link in linked if not (root / link).is_file()
    )


def test_every_relative_link_between_docs_pages_resolves() -> None:
    docs = README.parent / "docs"
    broken = [
        f"{page.name} -> {link}"
        for page in sorted(docs.glob("*.md"))
        for link in re.findall(r"\]\(([^)#\s:]+)\)", page.read_text())
        if not (docs / link).exists()
    ]
    assert not broken, broken


def _gate_example(source: str) -> Callable[..., Any]:
    """The function the README's gate quick start defines in ``source``."""
    namespace: dict[str, Any] = {}
    exec(compile(source, "README.md", "exec"), namespace)
    return cast("Callable[..., Any]", namespace["gradient_x_input"])


def test_the_readme_gate_example_passes_the_gate_it_is_shown_with() -> None:
    target = _gate_example(_python_block("def gradient_x_input("))
    check(target, "gradient-x-input", examples=settings().max_examples)


def test_the_readme_gate_example_without_its_bias_fails_the_reference() -> None:
    source = _python_block("def gradient_x_input(")
    assert "z = a @ W + b\n" in source
    target = _gate_example(source.replace("z = a @ W + b\n", "z = a @ W\n"))
    # a search that must fail stops at its first counterexample: its count is not scaled
    report = run_gate(target, "gradient-x-input", properties=["reference"], shrink=False)
    assert not report.ok
