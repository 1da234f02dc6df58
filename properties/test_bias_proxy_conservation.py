"""Invariant 3, bias-proxy conservation: LRP conserves relevance layer by layer once every bias
is counted as an always-on neuron relayed from the input (the seed's option TWO)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lrp_invariants import LRP0, AlphaBeta, Epsilon, Flat, WSquare, ZPlus
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


@given(lst.seed_cases())
def test_input_relevance_plus_every_sink_at_and_above_equals_the_logit_at_every_layer(
    case: SeedCase,
) -> None:
    for rule in ALL_RULES:
        for network, x in ((case.net1, case.x1), (case.net2, case.x2), (case.net3, case.x2)):
            require(
                f"{rule!r} conserves relevance with every sink counted on {network!r}",
                layerwise_conservation(network, x, case.classes, rule),
            )


@given(lst.seed_cases())
def test_bias_proxy_network_shows_each_bias_relevance_at_its_constant_input(
    case: SeedCase,
) -> None:
    for rule in SOURCE_RULES:
        require(
            f"the bias-proxy network carries {rule!r}'s bias relevance to the input",
            bias_proxy_numbers(case, rule),
        )


@given(lst.seed_cases(), st.data())
def test_relevance_on_the_bias_proxy_network_adds_up_to_the_logit(
    case: SeedCase, data: st.DataObject
) -> None:
    for method in METHODS.values():
        if "bias-proxy-conservation" in method.properties:
            check_property(
                PROPERTIES["bias-proxy-conservation"], case, method.reference, method, data.draw
            )
