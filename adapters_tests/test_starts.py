"""Code written as Zennit's documentation writes it starts LRP from a one-hot of the class
(``attributor(x, one_hot)``), not from the logit: declared (``start=one``) it keeps every
claim; undeclared it fails, and the report says the start is the whole difference."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch

from lrp_invariants.gate import run_gate
from lrp_invariants.torch import torch_target

pytest.importorskip("zennit.composites")

PRESET = "lrp-composite zennit-epsilon-plus-flat"


def zennit_as_documented(model: torch.nn.Sequential, x: torch.Tensor, classes: torch.Tensor) -> Any:
    """EpsilonPlusFlat as Zennit's README runs it: the attributor's output relevance is the
    one-hot of the chosen class."""
    from zennit.attribution import Gradient
    from zennit.composites import EpsilonPlusFlat

    one_hot = torch.eye(model[-1].out_features, dtype=x.dtype, device=x.device)[classes]
    with Gradient(model=model, composite=EpsilonPlusFlat()) as attributor:
        _, relevance = attributor(x.clone().requires_grad_(True), one_hot)
    return relevance


def test_zennit_as_documented_keeps_every_claim_once_its_start_is_declared() -> None:
    report = run_gate(torch_target(zennit_as_documented), f"{PRESET} start=one")
    assert report.ok, report.render()


def test_zennit_as_documented_undeclared_fails_and_the_report_names_the_start() -> None:
    report = run_gate(torch_target(zennit_as_documented), PRESET, shrink_budget=0.0)
    assert not report.ok
    assert "declare it with --start one" in report.render()


def test_the_readmes_zennit_example_keeps_every_claim_with_its_start_declared() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (block,) = [
        b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL) if "zennit" in b
    ]
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    target = torch_target(namespace["zennit_epsilon_plus_flat"])
    assert run_gate(target, f"{PRESET} start=one").ok


def zennit_from_given_relevance(
    model: torch.nn.Sequential, x: torch.Tensor, classes: torch.Tensor, relevance: torch.Tensor
) -> Any:
    """EpsilonPlusFlat from the output relevance the caller passes: ``attributor(x, relevance)``,
    the gate's fifth argument under ``start=given``."""
    from zennit.attribution import Gradient
    from zennit.composites import EpsilonPlusFlat

    with Gradient(model=model, composite=EpsilonPlusFlat()) as attributor:
        _, result = attributor(x.clone().requires_grad_(True), relevance)
    return result


def test_zennit_from_a_given_relevance_keeps_every_claim_declared_as_given() -> None:
    report = run_gate(torch_target(zennit_from_given_relevance), f"{PRESET} start=given")
    assert report.ok, report.render()
