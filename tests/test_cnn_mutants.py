"""Power on CNNs: every broken attribution of tests/cnn_mutants.py is caught by the CNN
properties (properties/test_cnn_*.py) that speak to its bug, in the profile's run (derandomised
by default). The property runs with the mutant in place of the correct ``explain`` or
``fold_batch_norms``; a caught mutant makes it fail with an assertion."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from hypothesis import Phase, settings
from properties import test_cnn_canonization as canonization
from properties import test_cnn_symmetries as symmetries

from .cnn_mutants import EXPLAIN_MUTANTS, FOLD_MUTANTS

Property = tuple[ModuleType, str]

CONSERVATION: Property = (
    symmetries,
    "test_every_rule_conserves_relevance_on_drawn_cnns_at_every_scale",
)
MAX_POOLING: Property = (
    symmetries,
    "test_max_pooling_conserves_relevance_with_overlapping_windows_and_ties",
)
UNROLLED_LINEAR: Property = (
    symmetries,
    "test_permuting_hidden_channels_changes_no_relevance_of_rules_linear_in_the_weights",
)
UNROLLED_LOCAL: Property = (
    symmetries,
    "test_permuting_hidden_channels_changes_no_relevance_of_rules_local_to_a_tap",
)
FOLDED_RIGHT: Property = (
    canonization,
    "test_a_batch_norm_folded_right_through_zero_padding_computes_the_same_function",
)
SPLIT_SUM: Property = (
    canonization,
    "test_a_residual_sum_of_a_x_and_one_minus_a_x_changes_no_relevance_under_the_z_rule",
)
FOLDED_FUNCTION: Property = (
    canonization,
    "test_a_batch_norm_folded_left_or_right_computes_the_same_function",
)

CATCHES: dict[str, tuple[Property, ...]] = {
    "max_pool_through_max_unpool": (CONSERVATION, MAX_POOLING),
    "max_pool_tie_to_every_maximum": (CONSERVATION, MAX_POOLING),
    "conv_backward_hard_codes_stride_1_padding_1": (CONSERVATION, UNROLLED_LINEAR),
    "conv_backward_drops_dilation": (CONSERVATION, UNROLLED_LINEAR),
    "flatten_channels_last": (UNROLLED_LINEAR, UNROLLED_LOCAL),
    "residual_full_relevance_to_both_summands": (CONSERVATION, SPLIT_SUM),
    "batch_norm_merged_keeping_eps": (FOLDED_FUNCTION,),
    "folded_bias_per_channel_with_zero_padding": (FOLDED_FUNCTION, FOLDED_RIGHT),
}
"""Which properties speak to each mutant's bug: the mutant is caught if one of them fails."""

SEARCH_PHASES = (Phase.explicit, Phase.reuse, Phase.generate)


def _failing(prop: Property, name: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    module, test = prop
    with monkeypatch.context() as patched:
        if name in EXPLAIN_MUTANTS:
            patched.setattr(module, "explain", EXPLAIN_MUTANTS[name])
        else:
            patched.setattr(module, "fold_batch_norms", FOLD_MUTANTS[name])
        run: Any = getattr(module, test)
        # the first counterexample is enough: no shrinking (it would take minutes)
        found = settings(run._hypothesis_internal_use_settings, phases=SEARCH_PHASES)
        patched.setattr(run, "_hypothesis_internal_use_settings", found)
        try:
            run()
        except AssertionError:
            return True
    return False


def test_every_mutant_has_properties_that_speak_to_it() -> None:
    assert set(CATCHES) == set(EXPLAIN_MUTANTS) | set(FOLD_MUTANTS)
    for props in CATCHES.values():
        for module, test in props:
            assert callable(getattr(module, test))


@pytest.mark.parametrize("name", sorted(CATCHES))
def test_mutant_is_caught(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert any(_failing(prop, name, monkeypatch) for prop in CATCHES[name])
