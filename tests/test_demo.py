"""The demo at a small size: it trains, checks every invariant, writes figures and a summary,
and exits non-zero naming the check when an invariant fails."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import DemoRun

from lrp_invariants import demo
from lrp_invariants.network import Array, LayerTrace, Linear
from lrp_invariants.rules import LRP0, LayerRelevance


def test_demo_writes_both_figures_and_a_summary_of_passing_checks(small_demo: DemoRun) -> None:
    tmp_path, text = small_demo.out, small_demo.printed
    assert small_demo.status == 0, text
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["failed"] == []
    assert all(check["ok"] for check in summary["checks"])
    assert 0 <= summary["decomposition_gap_to_bound"] <= 1  # within its derived error bound
    assert {"net1 (x1)", "net2 (x1 + m, compensated)"} <= set(summary["accuracy"][0])
    for name in ("relevance_and_sensitivity.png", "shift_decomposition.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "with bias proxies (constant total), net2" in text
    assert "every invariant holds on the trained network" in text


def test_demo_prints_kindermans_table_in_agreement_with_the_paper(small_demo: DemoRun) -> None:
    tmp_path = small_demo.out
    rows = json.loads((tmp_path / "summary.json").read_text())["kindermans"]
    assert {row["method"] for row in rows} >= {
        "gradient (saliency)",
        "gradient x input",
        "IG, zero baseline",
        "IG, baseline + m",
        "DeepLIFT, zero reference",
        "DeepLIFT, reference + m",
        "PatternNet (signal)",
        "PatternAttribution",
    }
    assert all(row["here"] == row["paper"] for row in rows), rows
    assert (tmp_path / "kindermans.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Kindermans et al.'s table" in small_demo.printed


def test_demo_ends_with_the_cnn_section_on_every_test_digit(small_demo: DemoRun) -> None:
    summary = json.loads((small_demo.out / "summary.json").read_text())
    assert summary["cnn"]["test_digits"] == 450
    assert summary["cnn"]["epochs"] == 2  # the demo's --epochs trains both networks
    cnn_checks = [check for check in summary["checks"] if check["name"].startswith("CNN ")]
    assert len(cnn_checks) >= 10 and all(check["ok"] for check in cnn_checks)
    figure = small_demo.out / "cnn_shift_decomposition.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"{small_demo.out}/cnn_shift_decomposition.png" in small_demo.printed


class _Leaky(LRP0):
    """LRP-0 that loses a tenth of every layer's relevance: conservation must fail."""

    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        result = super().backward(layer, forward, R)
        return LayerRelevance(result.R_out, 0.9 * result.R, result.Rb, result.Rs, result.Rm)


def test_demo_exits_non_zero_naming_the_failing_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "RULE", _Leaky())
    out = io.StringIO()
    status = demo.run_demo(out=tmp_path, hidden=(8,), epochs=1, seed=0, stream=out)
    assert status == 1
    assert "FAILED: bias-proxy conservation, net1, layer 0" in out.getvalue()
    assert np.isfinite(json.loads((tmp_path / "summary.json").read_text())["lrp_input_change"])
