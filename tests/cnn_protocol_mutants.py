"""The CNN mutants of tests/cnn_mutants.py as targets of the gate's CNN protocol
``fn(layers, x, classes)``, each with the method it claims: the bugs in attribution code that
the gate must catch on CNNs (tests/test_cnn_gate.py; their reach over random seeds in
campaigns/cnn_soundness.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lrp_invariants import targets
from lrp_invariants.cnn import CNNRules, forward, gradient
from lrp_invariants.cnn.protocol import cnn_from_specs
from lrp_invariants.network import Array
from lrp_invariants.rules import Epsilon
from tests.cnn_mutants import EXPLAIN_MUTANTS, FOLD_MUTANTS, Explain, Fold

CNNTarget = Callable[[list[dict[str, Any]], Array, Array], Array]


def _explaining(mutant: Explain) -> CNNTarget:
    """LRP-ε (the gate's default ε) computed by a broken ``explain``."""

    def target(layers: list[dict[str, Any]], x: Array, classes: Array) -> Array:
        cnn = cnn_from_specs(layers, x.shape[1:])
        rules = CNNRules(weighted=Epsilon(targets.EPSILON))
        return mutant(cnn, x, classes, rules)[1].input

    return target


def _folding(fold: Fold) -> CNNTarget:
    """The gradient of the network a broken batch-norm fold makes (a canonizer's bug)."""

    def target(layers: list[dict[str, Any]], x: Array, classes: Array) -> Array:
        cnn = fold(cnn_from_specs(layers, x.shape[1:]), "left")
        return gradient(cnn, forward(cnn, x), classes)

    return target


CNN_GATE_MUTANTS: dict[str, tuple[CNNTarget, str]] = {
    **{name: (_explaining(mutant), "lrp-epsilon") for name, mutant in EXPLAIN_MUTANTS.items()},
    "batch_norm_merged_keeping_eps": (
        _folding(FOLD_MUTANTS["batch_norm_merged_keeping_eps"]),
        "gradient",
    ),
}
"""Each mutant as a CNN target, with the method it claims. Not here: the bias folded per
channel where zero padding needs a map (``folded_bias_per_channel_with_zero_padding``): a
gradient does not see a bias but through the ReLUs it switches, and the LRP claims hold a
batch norm as its own layer, not folded; the property suite's canonization catches it."""
