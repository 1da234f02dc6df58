"""The README's core example runs as written and shows what it says."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_core_example_runs_and_decomposes_the_heatmap() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    first, relevance = namespace["first"], namespace["relevance"]
    heatmap = relevance.input  # type: ignore[attr-defined]
    rebuilt = first.R + first.Rm  # type: ignore[attr-defined]
    assert heatmap.shape == (5, 4) and rebuilt.shape == (5, 4)
    assert not np.allclose(first.R, heatmap)  # type: ignore[attr-defined]
