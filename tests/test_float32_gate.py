"""The gate in float32: cases drawn, targets called and tolerances derived in float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lrp_invariants import targets
from lrp_invariants.cli import main
from lrp_invariants.defaults import DEFAULT_EXAMPLES
from lrp_invariants.gate import run_gate

from .example_counts import scaled
from .float32_targets import LOSSY, lrp_epsilon_float32


def test_a_float32_numpy_lrp_epsilon_passes_the_float32_gate() -> None:
    report = run_gate(
        lrp_epsilon_float32, "lrp-epsilon", dtype=np.float32, examples=scaled(DEFAULT_EXAMPLES)
    )
    assert report.ok, report.render()
    assert report.dtype == "float32"


def test_the_core_in_float32_passes_the_float32_gate() -> None:
    assert run_gate(
        targets.lrp_epsilon, "lrp-epsilon", dtype="float32", examples=scaled(DEFAULT_EXAMPLES)
    ).ok


@pytest.mark.parametrize("name", sorted(LOSSY))
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_float32_code_that_loses_precision_fails(name: str, seed: int | None) -> None:
    report = run_gate(
        LOSSY[name], "lrp-epsilon", dtype=np.float32, seed=seed, shrink=False, first_failure=True
    )
    assert not report.ok, f"{name} passed the float32 gate (seed {seed})"


def test_float32_code_passes_only_in_float32_the_float64_gate_fails_it() -> None:
    """float64 stays the default: float32 arithmetic is a defect there."""
    report = run_gate(lrp_epsilon_float32, "lrp-epsilon", examples=20, shrink=False)
    assert not report.ok and report.dtype == "float64"


@pytest.mark.full_tier
def test_a_target_returning_float64_for_float32_cases_misbehaves() -> None:
    def widened(weights, biases, x, classes):  # type: ignore[no-untyped-def]
        return lrp_epsilon_float32(weights, biases, x, classes).astype(np.float64)

    # the claim is the verdict's reason, not a minimal case: no shrinking (it took 17 s)
    report = run_gate(widened, "lrp-epsilon", dtype=np.float32, examples=5, shrink=False)
    assert "returned dtype float64; expected float32" in str(report.properties[0].failure)


def test_an_unknown_dtype_is_refused_before_any_work() -> None:
    with pytest.raises(ValueError, match="unknown dtype 'float16'"):
        run_gate(targets.lrp_epsilon, "lrp-epsilon", dtype="float16")


def test_the_command_line_gates_in_float32_and_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    target = f"{Path(__file__).parent / 'float32_targets.py'}:lrp_epsilon_float32"
    status = main(
        ["check", target, "--method", "lrp-epsilon", "--dtype", "float32", "--examples", "20"]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "precision: float32 (tolerances derived for unit roundoff 2**-24)" in out
