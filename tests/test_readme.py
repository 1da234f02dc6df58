"""The README's core example runs as written and shows what it says."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from lrp_invariants import Epsilon
from lrp_invariants.cases import SeedCase
from lrp_invariants.invariants import Comparison, require, shift_decomposition_core

README = Path(__file__).resolve().parents[1] / "README.md"


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
