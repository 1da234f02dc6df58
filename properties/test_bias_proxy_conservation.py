"""Invariant 3, bias-proxy conservation: LRP conserves relevance layer by layer once every bias
is counted as an always-on neuron relayed from the input (the seed's option TWO)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrp_invariants import LRP0, AlphaBeta, Epsilon, Flat, Rule, WSquare, ZPlus
from lrp_invariants import strategies as lst
from lrp_invariants.cases import SeedCase
from lrp_invariants.invariants import (
    PROPERTIES,
    bias_proxy_numbers,
    check_property,
    layerwise_conservation,
    require,
)
from lrp_invariants.methods import METHODS

ALL_RULES = [LRP0(), Epsilon(1e-9), Epsilon(0.25), AlphaBeta(2.0, 1.0), ZPlus(), WSquare(), Flat()]
SOURCE_RULES = [LRP0(), Epsilon(1e-9), AlphaBeta(2.0, 1.0), ZPlus()]


def _id(rule: Rule) -> str:
    return f"{rule.name}{getattr(rule, 'epsilon', '')}"


@pytest.mark.parametrize("rule", ALL_RULES, ids=_id)
@given(case=lst.seed_cases())
def test_input_relevance_plus_every_sink_at_and_above_equals_the_logit_at_every_layer(
    rule: Rule, case: SeedCase
) -> None:
    for network, x in ((case.net1, case.x1), (case.net2, case.x2), (case.net3, case.x2)):
        require(f"{rule.name} conserves relevance with every sink counted on {network!r}",
                layerwise_conservation(network, x, case.classes, rule))


@pytest.mark.parametrize("rule", SOURCE_RULES, ids=_id)
@given(case=lst.seed_cases())
def test_bias_proxy_network_shows_each_bias_relevance_at_its_constant_input(
    rule: Rule, case: SeedCase
) -> None:
    require(f"the bias-proxy network carries {rule.name}'s bias relevance to the input",
            bias_proxy_numbers(case, rule))


@pytest.mark.parametrize("method", ["gradient-x-input", "lrp-0", "lrp-epsilon", "lrp-alpha-beta",
                                    "lrp-zplus"])
@given(case=lst.seed_cases(), data=st.data())
def test_relevance_on_the_bias_proxy_network_adds_up_to_the_logit(
    method: str, case: SeedCase, data: st.DataObject
) -> None:
    chosen = METHODS[method]
    check_property(PROPERTIES["bias-proxy-conservation"], case, chosen.reference, chosen,
                   data.draw)
